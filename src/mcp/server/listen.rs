//! Long-lived notification streams to callers: the session's GET stream (session era) and
//! `subscriptions/listen` (2026-07-28). Both carry the catalogue's list changes; the GET stream also
//! carries the session's resource updates.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::core::http::sse;
use crate::core::jsonrpc;
use crate::mcp::route::McpRoute;
use crate::mcp::server::exchange::{Answer, Exchange};

const KEEPALIVE: Duration = Duration::from_secs(15);
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

pub struct Filter {
    /// Which list changes to send: any of "tools", "prompts", "resources".
    pub lists: Vec<&'static str>,
    /// Also send this session's resource updates.
    pub session: Option<String>,
    /// `subscriptions/listen` stamps every frame with its request id.
    pub subscription_id: Option<Value>,
    /// Held while the stream is open (the session's count of GET streams).
    pub slot: Option<crate::mcp::state::StreamSlot>,
}

/// Streams matching notifications until the caller goes away or its session is closed.
pub fn stream(
    route: Arc<McpRoute>,
    filter: Filter,
    first: Option<Value>,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(16);
    let mut changes = route.state.changes.subscribe();
    let mut session_events = route.state.session_events().subscribe();
    let stamp = move |mut message: Value| -> String {
        if let Some(id) = &filter.subscription_id {
            if message.get("params").is_none_or(Value::is_null) {
                message["params"] = json!({});
            }
            message["params"]["_meta"][SUBSCRIPTION_ID] = id.clone();
        }
        sse::encode(Some("message"), None, &message.to_string())
    };
    let active = crate::core::telemetry::metrics::stream_opened(&route.name);
    tokio::spawn(async move {
        let _active = active;
        let _slot = filter.slot;
        if let Some(first) = first
            && tx.send(stamp(first)).await.is_err()
        {
            return;
        }
        // `timeout.idle`: a stream that carried no event for that long is closed (clients reopen it).
        let idle = route
            .pipeline
            .upstream
            .idle
            .unwrap_or(Duration::from_secs(u32::MAX.into()));
        let mut idle_deadline = tokio::time::Instant::now() + idle;
        loop {
            let event = tokio::select! {
                _ = tokio::time::sleep_until(idle_deadline) => return,
                // The caller went away: end now, not at the next keep-alive.
                _ = tx.closed() => return,
                change = changes.recv() => match change {
                    Ok(kind) if filter.lists.contains(&kind) => stamp(jsonrpc::notification(&format!("notifications/{kind}/list_changed"), Value::Null)),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                },
                event = session_events.recv() => match event {
                    Ok((handle, message)) if filter.session.as_deref() == Some(handle.as_str()) => stamp(message),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                },
                _ = tokio::time::sleep(KEEPALIVE) => ": keepalive\n\n".to_string(),
            };
            let closed = filter
                .session
                .as_ref()
                .is_some_and(|h| route.state.is_revoked(h));
            if !event.starts_with(':') {
                idle_deadline = tokio::time::Instant::now() + idle;
            }
            if closed || tx.send(event).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// An upstream's `notifications/resources/updated` to session `handle`'s GET stream, without the
/// upstream's subscription id (it names the gateway's stream upstream, nothing of the caller's).
pub fn send_update(route: &McpRoute, handle: &str, mut message: Value) {
    if let Some(meta) = message["params"]
        .get_mut("_meta")
        .and_then(Value::as_object_mut)
    {
        meta.remove(SUBSCRIPTION_ID);
    }
    let _ = route
        .state
        .session_events()
        .send((handle.to_string(), message));
}

/// `subscriptions/listen`: acknowledges the list changes the gateway honours (resource subscriptions on
/// this stream are not honoured yet and are left out of the acknowledgement, as the spec allows), then
/// streams them.
pub fn subscriptions_listen(ex: &Exchange<'_>, id: &Value, params: &Value) -> Answer {
    let requested = &params["notifications"];
    let lists: Vec<&'static str> = [
        ("tools", "toolsListChanged"),
        ("prompts", "promptsListChanged"),
        ("resources", "resourcesListChanged"),
    ]
    .into_iter()
    .filter(|(_, key)| requested[key] == true)
    .map(|(kind, _)| kind)
    .collect();
    let honoured: serde_json::Map<String, Value> = lists
        .iter()
        .map(|k| (format!("{k}ListChanged"), json!(true)))
        .collect();
    let ack = jsonrpc::notification(
        "notifications/subscriptions/acknowledged",
        json!({"notifications": honoured}),
    );
    let filter = Filter {
        lists,
        session: None,
        subscription_id: Some(id.clone()),
        slot: None,
    };
    Answer::Listen(stream(ex.route.clone(), filter, Some(ack)))
}
