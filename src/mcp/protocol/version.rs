//! MCP protocol revisions the gateway speaks, on both sides.

/// The stateless revision: no `initialize`, no session; every request carries its own `_meta`.
pub const STATELESS: &str = "2026-07-28";
/// Session-era revisions, newest first.
pub const SESSION_ERA: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
pub const LATEST_SESSION: &str = SESSION_ERA[0];

/// `_meta` keys of the stateless revision (SEP-2575).
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";

pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// Removes the stateless revision's per-request `_meta` keys, which a session-era peer would read as a
/// version claim that contradicts its session (rmcp answers -32020).
pub fn strip_stateless_meta(params: &mut serde_json::Value) {
    if let Some(meta) = params.get_mut("_meta").and_then(|m| m.as_object_mut()) {
        meta.retain(|k, _| !k.starts_with("io.modelcontextprotocol/"));
        if meta.is_empty() {
            params.as_object_mut().map(|p| p.remove("_meta"));
        }
    }
}

pub fn is_supported(version: &str) -> bool {
    version == STATELESS || SESSION_ERA.contains(&version)
}

/// Every revision we serve, newest first (what `server/discover` advertises).
pub fn all() -> Vec<&'static str> {
    std::iter::once(STATELESS).chain(SESSION_ERA).collect()
}

/// The version a session-era `initialize` settles on: the client's if we speak it, else our newest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SESSION_ERA.iter().find(|v| **v == r).copied())
        .unwrap_or(LATEST_SESSION)
}

/// Header values that are not plain visible ASCII travel as `=?base64?…?=`.
pub fn encode_header_value(value: &str) -> String {
    use base64::Engine;
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && value.trim() == value
        && !value.starts_with("=?");
    if plain {
        value.to_string()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

pub fn decode_header_value(value: &str) -> Option<String> {
    use base64::Engine;
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(inner) => String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(inner)
                .ok()?,
        )
        .ok(),
        None => Some(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_to_a_version_we_speak() {
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("1999-01-01")), LATEST_SESSION);
        assert_eq!(
            negotiate(Some(STATELESS)),
            LATEST_SESSION,
            "initialize never selects the stateless revision"
        );
        assert_eq!(negotiate(None), LATEST_SESSION);
    }

    #[test]
    fn header_values_round_trip() {
        for v in [
            "get_weather_data",
            "tool with ünïcode",
            " padded ",
            "=?base64?x?=",
        ] {
            assert_eq!(
                decode_header_value(&encode_header_value(v)).as_deref(),
                Some(v)
            );
        }
        assert_eq!(encode_header_value("plain"), "plain");
    }
}
