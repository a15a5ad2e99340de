//! The MCP methods the gateway knows, in one table: each method's name (also its metrics label), the
//! parameter naming its target with the target's kind (what authorization and rate limits check, what a
//! trace span and the access log name, what the 2026-07-28 `Mcp-Name` header must repeat), and whether the
//! 2026-07-28 wire still has it.

use serde_json::Value;

use crate::core::error::TargetKind;

pub struct Method {
    pub name: &'static str,
    pub target: Option<(&'static str, TargetKind)>,
    /// Session era only: the 2026-07-28 revision removed it (SEP-2575), so on that wire it is an unknown
    /// method.
    pub session_only: bool,
}

const fn plain(name: &'static str) -> Method {
    Method {
        name,
        target: None,
        session_only: false,
    }
}

const fn targeted(name: &'static str, param: &'static str, kind: TargetKind) -> Method {
    Method {
        name,
        target: Some((param, kind)),
        session_only: false,
    }
}

const fn session_only(method: Method) -> Method {
    Method {
        session_only: true,
        ..method
    }
}

pub const METHODS: &[Method] = &[
    session_only(plain("initialize")),
    session_only(plain("ping")),
    plain("server/discover"),
    plain("subscriptions/listen"),
    plain("tools/list"),
    targeted("tools/call", "name", TargetKind::Tool),
    plain("prompts/list"),
    targeted("prompts/get", "name", TargetKind::Prompt),
    plain("resources/list"),
    plain("resources/templates/list"),
    targeted("resources/read", "uri", TargetKind::Resource),
    session_only(targeted("resources/subscribe", "uri", TargetKind::Resource)),
    session_only(targeted(
        "resources/unsubscribe",
        "uri",
        TargetKind::Resource,
    )),
    plain("completion/complete"),
    session_only(plain("logging/setLevel")),
    plain("notifications/initialized"),
    plain("notifications/cancelled"),
    plain("notifications/progress"),
    plain("notifications/roots/list_changed"),
];

pub fn lookup(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// The metrics label of a method: its name when the table knows it, else `other` (a caller can send
/// any method name, and each would otherwise become its own series).
pub fn label(name: &str) -> &'static str {
    lookup(name).map_or("other", |m| m.name)
}

/// The parameter naming a method's target (`name` or `uri`).
pub fn target_param(name: &str) -> Option<&'static str> {
    lookup(name)?.target.map(|(param, _)| param)
}

/// Whether the 2026-07-28 wire removed this method (it is then answered as unknown there).
pub fn removed_from_stateless(name: &str) -> bool {
    lookup(name).is_some_and(|m| m.session_only)
}

/// What a request of `name` with `params` targets.
pub fn target<'a>(name: &str, params: &'a Value) -> Option<(TargetKind, &'a str)> {
    let (param, kind) = lookup(name)?.target?;
    Some((kind, params.get(param)?.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_entry_per_method_and_unknown_methods_collapse() {
        let mut names: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METHODS.len());
        assert_eq!(label("tools/call"), "tools/call");
        assert_eq!(label("tools/call/../../etc"), "other");
        assert_eq!(target_param("resources/subscribe"), Some("uri"));
        assert_eq!(target_param("tools/list"), None);
        assert_eq!(
            target("tools/call", &json!({"name": "get_weather_data"})),
            Some((TargetKind::Tool, "get_weather_data"))
        );
        assert_eq!(target("tools/call", &json!({"name": 7})), None);
    }

    #[test]
    fn the_2026_wire_removed_the_lifecycle_and_subscription_methods() {
        let removed: Vec<&str> = METHODS
            .iter()
            .filter(|m| removed_from_stateless(m.name))
            .map(|m| m.name)
            .collect();
        assert_eq!(
            removed,
            [
                "initialize",
                "ping",
                "resources/subscribe",
                "resources/unsubscribe",
                "logging/setLevel"
            ]
        );
        assert!(!removed_from_stateless("no/such"));
    }
}
