//! The rules a 2026-07-28 request (SEP-2575) must pass before it is served, checked in the order the
//! revision's errors imply: `_meta` names the version and the client's capabilities (else -32602, 400);
//! the `MCP-Protocol-Version` header repeats that version (else -32020, 400, even when the version is
//! one the gateway does not know); the version is one the gateway speaks (else -32022, 400, naming the
//! requested and the supported versions); `Mcp-Method` and `Mcp-Name` repeat the body (else -32020), so
//! that intermediaries routing on headers see the request that actually runs.

use http::HeaderMap;
use serde_json::Value;

use crate::core::error::Error;
use crate::mcp::protocol::{methods, version};

pub fn check(headers: &HeaderMap, method: &str, params: Option<&Value>) -> Result<(), Error> {
    let meta = params.and_then(|p| p.get("_meta"));
    let meta_version = meta
        .and_then(|m| m.get(version::META_PROTOCOL_VERSION))
        .and_then(Value::as_str);
    let has_caps = meta
        .and_then(|m| m.get(version::META_CLIENT_CAPABILITIES))
        .is_some_and(Value::is_object);
    let (Some(meta_version), true) = (meta_version, has_caps) else {
        return Err(Error::BadParams(format!(
            "request _meta must carry {} and {}",
            version::META_PROTOCOL_VERSION,
            version::META_CLIENT_CAPABILITIES
        )));
    };
    match single(headers, "mcp-protocol-version")? {
        Some(v) if v == meta_version => {}
        Some(v) => {
            return Err(Error::HeaderMismatch(format!(
                "MCP-Protocol-Version header ({v}) does not match _meta protocolVersion ({meta_version})"
            )));
        }
        None => {
            return Err(Error::HeaderMismatch(
                "MCP-Protocol-Version header is required".into(),
            ));
        }
    }
    if !version::is_supported(meta_version) {
        return Err(Error::UnsupportedVersion {
            requested: meta_version.to_string(),
            supported: version::all(),
        });
    }
    routing_headers(headers, method, params)
}

/// The client capabilities in a 2026-07-28 request's `_meta` that let an upstream ask it questions
/// (sampling, elicitation, roots); `None` when it declares none of them.
pub fn askable_capabilities(params: Option<&Value>) -> Option<Value> {
    let declared = params?
        .get("_meta")?
        .get(version::META_CLIENT_CAPABILITIES)?
        .as_object()?;
    let askable: serde_json::Map<String, Value> = declared
        .iter()
        .filter(|(k, _)| ["sampling", "elicitation", "roots"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!askable.is_empty()).then_some(Value::Object(askable))
}

/// `Mcp-Method` always, and `Mcp-Name` for a method that names a target, must repeat the body.
fn routing_headers(headers: &HeaderMap, method: &str, params: Option<&Value>) -> Result<(), Error> {
    let mismatch = Error::HeaderMismatch;
    match single(headers, "mcp-method")? {
        Some(m) if m == method => {}
        Some(m) => {
            return Err(mismatch(format!(
                "Mcp-Method header ({m}) does not match the body method ({method})"
            )));
        }
        None => return Err(mismatch("Mcp-Method header is required".into())),
    }
    // A method this wire removed names no target: it is answered as unknown, whatever the headers say.
    let target = methods::target_param(method).filter(|_| !methods::removed_from_stateless(method));
    let Some(key) = target else {
        return Ok(());
    };
    let expected = params
        .and_then(|p| p.get(key))
        .and_then(Value::as_str)
        .unwrap_or("");
    match single(headers, "mcp-name")?.map(version::decode_header_value) {
        Some(Some(n)) if n == expected => Ok(()),
        Some(Some(n)) => Err(mismatch(format!(
            "Mcp-Name header ({n}) does not match params.{key} ({expected})"
        ))),
        Some(None) => Err(mismatch("Mcp-Name header is not valid base64".into())),
        None => Err(mismatch(format!(
            "Mcp-Name header is required for {method}"
        ))),
    }
}

/// A header that may appear once, as text.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Error> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Error::HeaderMismatch(format!("duplicate {name} header")));
    }
    first
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::HeaderMismatch(format!("{name} header is not valid text")))
        })
        .transpose()
}
