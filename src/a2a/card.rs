//! Agent cards as the gateway serves them: every endpoint URL points at the gateway's public address for the
//! agent, so clients that follow the card keep going through the gateway.
//!
//! Rewritten: 0.3 `url` and `additionalInterfaces[].url`; 1.0 `supportedInterfaces[].url`. Each keeps its path
//! relative to the agent's configured base URL, so an agent serving JSON-RPC at `/a2a` is reached at
//! `<public>/a2a`. gRPC interfaces are dropped (the gateway relays HTTP only). A `signatures` entry covers
//! the original URLs and would no longer verify, so it is dropped and the response says so (header
//! `x-agent-gateway-card-notice`); the gateway has no card-signing key of its own yet. A card listing one
//! protocol version is served listing both, since the gateway translates (`translate::card`).

use super::agents::Family;
use super::translate::card::bilingual;
use crate::core::http::forwarded::public_origin;
use http::HeaderMap;
use serde_json::Value;

/// What the rewrite changed beyond the URLs, for the notice header and the log.
#[derive(Debug, Default, PartialEq)]
pub struct Notes(pub Vec<&'static str>);

/// `{proto}://{host}{prefix}/{agent}` as the client reached us (see `core::http::forwarded`).
pub fn public_base(headers: &HeaderMap, prefix: &str, agent: &str) -> String {
    format!(
        "{}{}/{agent}",
        public_origin(headers),
        prefix.trim_end_matches('/')
    )
}

/// The path part of an absolute URL (`/` when it has none).
pub fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// `url`'s path relative to the agent's base path, grafted onto `public`.
fn graft(url: &str, base_path: &str, public: &str) -> String {
    let path = url_path(url);
    let base = base_path.trim_end_matches('/');
    let relative = match path.strip_prefix(base) {
        Some(rest) if base.is_empty() || rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    format!("{public}{relative}")
}

fn is_grpc(binding: Option<&Value>) -> bool {
    binding
        .and_then(Value::as_str)
        .is_some_and(|b| b.eq_ignore_ascii_case("grpc"))
}

/// The card as served: `families` are the versions the agent's own card lists.
pub fn rewrite(card: &Value, families: &[Family], base_path: &str, public: &str) -> (Value, Notes) {
    let mut card = bilingual(card, families);
    let mut notes = Notes::default();
    let Some(map) = card.as_object_mut() else {
        return (card, notes);
    };
    if let Some(Value::String(url)) = map.get_mut("url") {
        *url = graft(url, base_path, public);
    }
    for (field, binding) in [
        ("additionalInterfaces", "transport"),
        ("supportedInterfaces", "protocolBinding"),
    ] {
        if let Some(Value::Array(interfaces)) = map.get_mut(field) {
            let before = interfaces.len();
            interfaces.retain(|i| !is_grpc(i.get(binding)));
            if interfaces.len() != before {
                notes
                    .0
                    .push("gRPC interfaces removed (the gateway relays HTTP only)");
            }
            for interface in interfaces.iter_mut() {
                if let Some(Value::String(url)) = interface.get_mut("url") {
                    *url = graft(url, base_path, public);
                }
            }
        }
    }
    if map
        .get("preferredTransport")
        .is_some_and(|t| is_grpc(Some(t)))
    {
        map.insert("preferredTransport".into(), Value::from("JSONRPC"));
    }
    let signed = map
        .remove("signatures")
        .is_some_and(|s| s.as_array().is_none_or(|a| !a.is_empty()));
    if signed {
        notes
            .0
            .push("signatures dropped: the gateway rewrote the card's URLs, which they cover");
    }
    (card, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_every_endpoint_url_of_both_versions() {
        let card = json!({
            "name": "w", "url": "http://10.0.0.5:8080/a2a", "preferredTransport": "JSONRPC",
            "additionalInterfaces": [{"url": "http://10.0.0.5:8080/a2a", "transport": "JSONRPC"},
                                     {"url": "http://10.0.0.5:8080/rest", "transport": "HTTP+JSON"},
                                     {"url": "10.0.0.5:9000", "transport": "GRPC"}],
            "supportedInterfaces": [{"url": "http://weather.svc:8080/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
            "provider": {"url": "https://example.com", "organization": "x"},
            "signatures": [{"protected": "e30", "signature": "c2ln"}],
        });
        let both = [Family::V03, Family::V10];
        let (out, notes) = rewrite(&card, &both, "/", "https://gw.example/agents/w");
        assert_eq!(out["url"], "https://gw.example/agents/w/a2a");
        assert_eq!(
            out["additionalInterfaces"][1]["url"],
            "https://gw.example/agents/w/rest"
        );
        assert_eq!(out["additionalInterfaces"].as_array().unwrap().len(), 2);
        assert_eq!(
            out["supportedInterfaces"][0]["url"],
            "https://gw.example/agents/w/"
        );
        assert_eq!(out["provider"]["url"], "https://example.com");
        assert!(out.get("signatures").is_none());
        assert_eq!(notes.0.len(), 2);
    }

    #[test]
    fn keeps_paths_relative_to_the_base_path_and_honours_forwarding_headers() {
        let card = json!({"url": "http://k:8083/api/a2a/kagent/weather/"});
        let (out, notes) = rewrite(
            &card,
            &[Family::V03, Family::V10],
            "/api/a2a/kagent/weather",
            "http://gw/agents/weather",
        );
        assert_eq!(out["url"], "http://gw/agents/weather/");
        assert_eq!(notes, Notes::default());
        let mut headers = HeaderMap::new();
        headers.insert("host", "inner:8080".parse().unwrap());
        assert_eq!(
            public_base(&headers, "/agents", "w"),
            "http://inner:8080/agents/w"
        );
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "gw.example, proxy".parse().unwrap());
        assert_eq!(
            public_base(&headers, "/agents/", "w"),
            "https://gw.example/agents/w"
        );
    }
}
