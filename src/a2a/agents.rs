//! The agents behind a route and their cards: fetched at start, refreshed periodically (and on demand when
//! a request needs a card that is not there yet). An agent without a configured name is known by the name
//! in its card, made URL-safe.

use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;

use super::card::url_path;
use crate::core::error::UpstreamError;
use crate::core::http::client::HttpClient;

pub const CARD_PATHS: [&str; 2] = ["/.well-known/agent-card.json", "/.well-known/agent.json"];
const MAX_CARD: usize = 1024 * 1024;
const CARD_TIMEOUT: Duration = Duration::from_secs(10);

/// The protocol versions an agent speaks, from its card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V03,
    V10,
}

impl Family {
    /// `A2A-Version` values: empty means 0.3 (the spec's rule); patch levels are ignored.
    pub fn parse(version: &str) -> Option<Family> {
        let v = version.trim();
        if v.is_empty() || v == "0.3" || v.starts_with("0.3.") {
            Some(Family::V03)
        } else if v == "1" || v.starts_with("1.") {
            Some(Family::V10)
        } else {
            None
        }
    }
}

/// The JSON-RPC methods both versions have: the 0.3 name and the 1.0 name. An agent answers a method in
/// its version's error shape, whatever `A2A-Version` says, and so does the gateway; `translate` maps one
/// name to the other.
pub const METHODS: [(&str, &str); 10] = [
    ("message/send", "SendMessage"),
    ("message/stream", "SendStreamingMessage"),
    ("tasks/get", "GetTask"),
    ("tasks/cancel", "CancelTask"),
    ("tasks/resubscribe", "SubscribeToTask"),
    (
        "tasks/pushNotificationConfig/set",
        "CreateTaskPushNotificationConfig",
    ),
    (
        "tasks/pushNotificationConfig/get",
        "GetTaskPushNotificationConfig",
    ),
    (
        "tasks/pushNotificationConfig/list",
        "ListTaskPushNotificationConfigs",
    ),
    (
        "tasks/pushNotificationConfig/delete",
        "DeleteTaskPushNotificationConfig",
    ),
    ("agent/getAuthenticatedExtendedCard", "GetExtendedAgentCard"),
];
/// The one 1.0 method 0.3 has no counterpart for.
pub const LIST_TASKS: &str = "ListTasks";

impl Family {
    /// The version a JSON-RPC method belongs to; `None` for a method neither version has.
    pub fn of_method(method: &str) -> Option<Family> {
        if method == LIST_TASKS || METHODS.iter().any(|(_, v10)| *v10 == method) {
            Some(Family::V10)
        } else if METHODS.iter().any(|(v03, _)| *v03 == method) {
            Some(Family::V03)
        } else {
            None
        }
    }
}

pub struct CardInfo {
    pub raw: Value,
    /// When the gateway first saw the card as it is now (its `Last-Modified`).
    pub changed: SystemTime,
    pub slug: String,
    pub families: Vec<Family>,
    /// Path of the JSON-RPC endpoint relative to the agent's base URL ("" for the base itself).
    pub rpc_path: String,
}

pub struct Agent {
    pub configured: Option<String>,
    /// Base URL without a trailing slash.
    pub base: String,
    pub card: ArcSwapOption<CardInfo>,
    /// Made for this agent's TLS settings; cards and relayed calls both use it.
    pub client: HttpClient,
    /// When a request last fetched the card (outside the background refresh); one fetch at a time.
    on_demand: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

/// How often requests for a name no agent has may fetch an unnamed agent's card.
const ON_DEMAND_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

impl Agent {
    pub fn new(configured: Option<String>, base: &str, client: HttpClient) -> Agent {
        Agent {
            configured,
            base: base.trim_end_matches('/').to_string(),
            card: ArcSwapOption::empty(),
            client,
            on_demand: tokio::sync::Mutex::default(),
        }
    }

    /// Fetches the card for a request, unless a request did within [`ON_DEMAND_INTERVAL`]; concurrent
    /// requests share one fetch. A hung agent thus costs one connection per interval, not one per request.
    pub async fn refresh_on_demand(&self) {
        let mut last = self.on_demand.lock().await;
        if last.is_some_and(|at| at.elapsed() < ON_DEMAND_INTERVAL) {
            return;
        }
        *last = Some(tokio::time::Instant::now());
        if let Err(e) = self.refresh().await {
            tracing::debug!(agent = %self.base, error = %e, "a2a: card fetch for a request failed");
        }
    }

    pub fn name(&self) -> Option<String> {
        self.configured
            .clone()
            .or_else(|| self.card.load().as_ref().map(|c| c.slug.clone()))
    }

    pub fn base_path(&self) -> &str {
        url_path(&self.base)
    }

    pub async fn refresh(&self) -> Result<(), CardError> {
        let mut last = None;
        for path in CARD_PATHS {
            match fetch_json(&self.client, &format!("{}{path}", self.base)).await {
                Ok(raw) => {
                    let previous = self.card.load();
                    let changed = match previous.as_deref() {
                        Some(p) if p.raw == raw => p.changed,
                        _ => SystemTime::now(),
                    };
                    let info = card_info(raw, self.base_path(), changed);
                    if info.raw.get("signatures").is_some() {
                        tracing::warn!(agent = %info.slug, "the agent's card is signed; the gateway serves it with rewritten URLs and without the signatures");
                    }
                    self.card.store(Some(info.into()));
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("CARD_PATHS is not empty"))
    }
}

fn card_info(raw: Value, base_path: &str, changed: SystemTime) -> CardInfo {
    let slug = slugify(raw.get("name").and_then(Value::as_str).unwrap_or("agent"));
    let mut families = Vec::new();
    let mut rpc_url = None;
    if let Some(Value::Array(interfaces)) = raw.get("supportedInterfaces") {
        for i in interfaces {
            let binding = i.get("protocolBinding").and_then(Value::as_str);
            if binding.is_some_and(|b| b.eq_ignore_ascii_case("jsonrpc")) {
                rpc_url = rpc_url.or_else(|| i.get("url").and_then(Value::as_str));
            }
            if let Some(f) = i
                .get("protocolVersion")
                .and_then(Value::as_str)
                .and_then(Family::parse)
            {
                families.push(f);
            }
        }
    }
    let preferred = raw.get("preferredTransport").and_then(Value::as_str);
    if raw.get("url").is_some() && preferred.is_none_or(|t| t.eq_ignore_ascii_case("jsonrpc")) {
        rpc_url = rpc_url.or_else(|| raw.get("url").and_then(Value::as_str));
    }
    // A card with top-level `url` and no interfaces list is a 0.3 card (0.3.0 is its `protocolVersion`).
    if raw.get("url").is_some() || families.is_empty() {
        families.push(
            raw.get("protocolVersion")
                .and_then(Value::as_str)
                .and_then(Family::parse)
                .unwrap_or(Family::V03),
        );
    }
    families.dedup();
    let rpc_path = rpc_url.map_or(String::new(), |u| {
        let path = url_path(u);
        let base = base_path.trim_end_matches('/');
        path.strip_prefix(base)
            .unwrap_or(path)
            .trim_end_matches('/')
            .to_string()
    });
    CardInfo {
        raw,
        changed,
        slug,
        families,
        rpc_path,
    }
}

/// A card's display name as a path segment: lowercase ASCII letters, digits and `-`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "agent".into() } else { out }
}

/// Why an agent's card could not be had from `url`.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {source}")]
pub struct CardError {
    pub url: String,
    #[source]
    pub source: UpstreamError,
}

async fn fetch_json(client: &HttpClient, url: &str) -> Result<Value, CardError> {
    let failed = |source| CardError {
        url: url.to_string(),
        source,
    };
    let uri: Uri = url
        .parse()
        .map_err(|e| failed(UpstreamError::Connect(format!("bad URL: {e}"))))?;
    let request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("accept", "application/json")
        .body(Full::new(Bytes::new()))
        .map_err(|e| failed(UpstreamError::Connect(e.to_string())))?;
    let response = tokio::time::timeout(CARD_TIMEOUT, client.request(request))
        .await
        .map_err(|_| failed(UpstreamError::Timeout))?
        .map_err(|e| failed(UpstreamError::of_request(&e)))?;
    if response.status() != StatusCode::OK {
        let status = response.status().as_u16();
        return Err(failed(UpstreamError::Status(status, String::new())));
    }
    let body = Limited::new(response.into_body(), MAX_CARD)
        .collect()
        .await
        .map_err(|e| failed(UpstreamError::Protocol(e.to_string())))?
        .to_bytes();
    serde_json::from_slice(&body)
        .map_err(|e| failed(UpstreamError::Protocol(format!("not a JSON card: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn learns_versions_and_the_rpc_path_from_either_card_shape() {
        let v03 = card_info(
            json!({"name": "Weather Agent", "url": "http://h/a2a/", "protocolVersion": "0.3.0"}),
            "",
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(
            (
                v03.slug.as_str(),
                v03.families.as_slice(),
                v03.rpc_path.as_str()
            ),
            ("weather-agent", &[Family::V03][..], "/a2a")
        );
        let v10 = card_info(
            json!({"name": "w", "supportedInterfaces": [
            {"url": "http://h/x", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
            {"url": "http://h/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}]}),
            "",
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(
            (v10.families.as_slice(), v10.rpc_path.as_str()),
            (&[Family::V10][..], "")
        );
        assert_eq!(Family::parse(""), Some(Family::V03));
        assert_eq!(Family::parse("1.0"), Some(Family::V10));
        assert_eq!(Family::parse("2.0"), None);
        assert_eq!(Family::of_method("GetTask"), Some(Family::V10));
        assert_eq!(Family::of_method("tasks/get"), Some(Family::V03));
        assert_eq!(Family::of_method("tasks/list"), None);
    }
}
