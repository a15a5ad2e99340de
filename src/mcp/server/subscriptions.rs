//! Resource subscriptions of session-era callers. A session-era upstream gets `resources/subscribe` on the
//! caller's own upstream session and its updates are read from that session's GET stream; a 2026-07-28
//! upstream has no such method, so the gateway holds a `subscriptions/listen` stream for the URI instead.
//! Either way `notifications/resources/updated` reaches the caller on its GET stream.

use serde_json::{Value, json};

use crate::core::jsonrpc;
use crate::mcp::dispatch;
use crate::mcp::relay::relay;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::upstream::Upstream;

/// Subscriptions one replica holds at most (each is a task and an upstream stream).
const MAX_SUBSCRIPTIONS: usize = 10_000;

pub async fn subscribe(ex: &Exchange<'_>, id: &Value, method: &str, params: Value) -> Answer {
    let Some(uri) = params
        .get("uri")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return ex.error(
            id,
            jsonrpc::INVALID_PARAMS,
            format!("Invalid params: {method} needs a string \"uri\""),
        );
    };
    let Mode::Session(claims) = &ex.mode else {
        return ex.error(
            id,
            jsonrpc::INVALID_REQUEST,
            format!("{method} needs a session (on 2026-07-28 use subscriptions/listen)"),
        );
    };
    let Some(backend) = dispatch::resource_backend(ex, &uri) else {
        return ex.reply(jsonrpc::error_with_data(
            id,
            -32002,
            "Resource not found",
            json!({"uri": uri}),
        ));
    };
    let key = format!("{} {uri}", claims.h);
    let upstream = ex.route.backends[backend].upstream.clone();
    let stateless_upstream = match upstream.as_ref() {
        Upstream::Http(http) => http.is_stateless().await.unwrap_or(false),
        _ => false,
    };
    if method == "resources/unsubscribe" {
        if let Some(task) = ex.route.subscriptions.lock().unwrap().remove(&key) {
            task.abort();
        }
        return if stateless_upstream {
            ex.result(id, json!({}))
        } else {
            relay(ex, backend, id, method, params, |r| r).await
        };
    }
    if ex.route.subscriptions.lock().unwrap().len() >= MAX_SUBSCRIPTIONS {
        return ex.error(
            id,
            jsonrpc::INTERNAL_ERROR,
            "too many resource subscriptions on this gateway",
        );
    }
    let answer = if stateless_upstream {
        ex.result(id, json!({}))
    } else {
        relay(ex, backend, id, method, params, |r| r).await
    };
    if let Upstream::Http(_) = upstream.as_ref() {
        let ctx = ex.call_ctx(upstream.name(), None);
        let (route, handle) = (ex.route.clone(), claims.h.clone());
        let filter = json!({"resourceSubscriptions": [uri.clone()]});
        let task = tokio::spawn(async move {
            let Upstream::Http(http) = upstream.as_ref() else {
                return;
            };
            let mut messages = match http.notifications(&ctx, filter).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(upstream = %http.name, uri, error = %e, "cannot follow resource updates");
                    return;
                }
            };
            while let Some(mut message) = messages.recv().await {
                if message["method"] != "notifications/resources/updated"
                    || message["params"]["uri"] != uri.as_str()
                {
                    continue;
                }
                // The upstream's stream id means nothing to the caller.
                if let Some(meta) = message["params"]
                    .get_mut("_meta")
                    .and_then(Value::as_object_mut)
                {
                    meta.remove("io.modelcontextprotocol/subscriptionId");
                }
                let _ = route.session_events.send((handle.clone(), message));
            }
        });
        if let Some(old) = ex
            .route
            .subscriptions
            .lock()
            .unwrap()
            .insert(key, task.abort_handle())
        {
            old.abort();
        }
    }
    answer
}
