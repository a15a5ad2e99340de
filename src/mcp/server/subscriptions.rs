//! Resource subscriptions of session-era callers. A session-era upstream gets `resources/subscribe` on the
//! caller's own upstream session and its updates are read from that session's GET stream (`follow`, one
//! follower per session and backend); a 2026-07-28 upstream has no such method, so the gateway holds a
//! `subscriptions/listen` stream for the URI instead. Either way `notifications/resources/updated` reaches
//! the caller on its GET stream.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::core::error::Error;
use crate::mcp::dispatch;
use crate::mcp::relay::relay;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::server::{follow, listen};
use crate::mcp::state::{MAX_SUBSCRIPTIONS, subscription_key};
use crate::mcp::upstream::Upstream;

pub async fn subscribe(
    ex: &Exchange<'_>,
    id: &Value,
    method: &str,
    params: Value,
) -> Result<Answer, Error> {
    let Some(uri) = params
        .get("uri")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(Error::InvalidParams(format!(
            "{method} needs a string \"uri\""
        )));
    };
    let Mode::Session(claims) = &ex.mode else {
        return Err(Error::InvalidRequest(format!(
            "{method} needs a session (on 2026-07-28 use subscriptions/listen)"
        )));
    };
    let backend = dispatch::resource_backend(ex, method, &uri).await?;
    let key = subscription_key(&claims.h, &uri);
    let upstream = ex.route.backends[backend].upstream.clone();
    let stateless_upstream = match upstream.as_ref() {
        Upstream::Http(http) => http.is_stateless().await.unwrap_or(false),
        _ => false,
    };
    if method == "resources/unsubscribe" {
        if let Some((_, Some(task))) = ex.route.state.subscriptions.remove(&key) {
            task.abort();
        }
        return Ok(if stateless_upstream {
            ex.result(id, json!({}))
        } else {
            relay(ex, backend, id, method, params, |r| r).await
        });
    }
    if ex.route.state.subscriptions.len() >= MAX_SUBSCRIPTIONS {
        return Err(Error::Busy(format!(
            "this route holds {MAX_SUBSCRIPTIONS} resource subscriptions already"
        )));
    }
    let answer = if stateless_upstream {
        ex.result(id, json!({}))
    } else {
        relay(ex, backend, id, method, params, |r| r).await
    };
    let task = match upstream.as_ref() {
        Upstream::Http(_) if stateless_upstream => Some(listen_for(ex, &upstream, &claims.h, uri)),
        Upstream::Http(_) => {
            follow::follow(ex, backend);
            None
        }
        _ => return Ok(answer),
    };
    if let Some(Some(old)) = ex.route.state.subscriptions.insert(key, task) {
        old.abort();
    }
    Ok(answer)
}

/// Holds a `subscriptions/listen` stream on a 2026-07-28 upstream for `uri`, relaying its updates to
/// session `handle`'s GET stream.
fn listen_for(
    ex: &Exchange<'_>,
    upstream: &Arc<Upstream>,
    handle: &str,
    uri: String,
) -> tokio::task::AbortHandle {
    let ctx = ex.call_ctx(upstream.name(), None);
    let (route, handle, upstream) = (ex.route.clone(), handle.to_string(), upstream.clone());
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
        while let Some(message) = messages.recv().await {
            if message["method"] == "notifications/resources/updated"
                && message["params"]["uri"] == uri.as_str()
            {
                listen::send_update(&route, &handle, message);
            }
        }
    });
    task.abort_handle()
}
