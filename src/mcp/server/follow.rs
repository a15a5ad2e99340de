//! The GET streams of a session-era caller's upstream sessions. A session-era upstream sends what belongs
//! to no call (resource updates, and server-to-client requests such as `roots/list`) on its session's GET
//! stream; the gateway follows that stream, one follower per caller session and backend, from when the
//! caller opens its own GET stream or subscribes to a resource, and relays to the caller's GET stream:
//! requests under a gateway id the caller answers to (as on a call's stream, `relay::deliver_reply`),
//! resource updates of the URIs the session subscribed to, and the other notifications. List changes are
//! left out: the gateway's own discovery hears them and tells every caller.
//!
//! Bounded: at most [`MAX_FOLLOWERS`] per route; a follower ends when the upstream ends its stream, when
//! the session is closed, or at the session's lifetime.

use std::sync::Arc;
use std::time::Duration;

use dashmap::mapref::entry::Entry;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::core::jsonrpc;
use crate::mcp::route::McpRoute;
use crate::mcp::server::exchange::{Exchange, Mode};
use crate::mcp::server::listen;
use crate::mcp::state::{PendingReply, gateway_id, subscription_key};
use crate::mcp::upstream::{CallCtx, Upstream};

pub const MAX_FOLLOWERS: usize = 10_000;
/// How long a caller's GET stream waits for the upstream streams to open before it is answered.
const OPEN_WAIT: Duration = Duration::from_secs(2);
/// How often an idle follower looks whether its session was closed.
const SESSION_CHECK: Duration = Duration::from_secs(30);

/// Follows the session's upstream GET stream on every backend, and returns once each is open (or failed,
/// or [`OPEN_WAIT`] passed), so what an upstream sends from then on reaches the caller.
pub async fn follow_all(ex: &Exchange<'_>) {
    let opening: Vec<_> = (0..ex.route.backends.len())
        .filter_map(|backend| follow(ex, backend))
        .collect();
    let _ = tokio::time::timeout(OPEN_WAIT, futures_util::future::join_all(opening)).await;
}

/// Starts following `backend`'s GET stream for the caller's session unless it is followed already (or
/// the backend is not an HTTP upstream); a receiver that fires once the stream is open.
pub fn follow(ex: &Exchange<'_>, backend: usize) -> Option<oneshot::Receiver<()>> {
    let Mode::Session(claims) = &ex.mode else {
        return None;
    };
    let upstream = ex.route.backends[backend].upstream.clone();
    if !matches!(upstream.as_ref(), Upstream::Http(_)) {
        return None;
    }
    let followers = &ex.route.state.followers;
    if followers.len() >= MAX_FOLLOWERS {
        tracing::warn!(route = %ex.route.name, "{MAX_FOLLOWERS} upstream GET streams followed already; not following one more");
        return None;
    }
    let key = format!("{}\n{backend}", claims.h);
    let Entry::Vacant(slot) = followers.entry(key.clone()) else {
        return None;
    };
    let (opened, open) = oneshot::channel();
    let ctx = ex.call_ctx(upstream.name(), None);
    let (route, handle) = (ex.route.clone(), claims.h.clone());
    let task = tokio::spawn(async move {
        relay_stream(&route, &upstream, &ctx, &handle, opened).await;
        route.state.followers.remove(&key);
    });
    slot.insert(task.abort_handle());
    Some(open)
}

async fn relay_stream(
    route: &Arc<McpRoute>,
    upstream: &Arc<Upstream>,
    ctx: &CallCtx,
    handle: &str,
    opened: oneshot::Sender<()>,
) {
    let Upstream::Http(http) = upstream.as_ref() else {
        return;
    };
    // A 2026-07-28 upstream has no session GET stream (its resource updates come by `subscriptions`).
    if http.is_stateless().await.unwrap_or(true) {
        return;
    }
    let mut messages = match http.notifications(ctx, json!({})).await {
        Ok(messages) => messages,
        Err(e) => {
            tracing::debug!(upstream = %http.name, error = %e, "no GET stream to follow for a caller's session");
            return;
        }
    };
    let _ = opened.send(());
    let ends = tokio::time::Instant::now() + route.session_ttl;
    loop {
        let message = tokio::select! {
            message = messages.recv() => match message {
                Some(message) => message,
                None => return,
            },
            _ = tokio::time::sleep(SESSION_CHECK) => Value::Null,
            _ = tokio::time::sleep_until(ends) => return,
        };
        if route.state.is_revoked(handle) {
            return;
        }
        match message.get("id") {
            Some(_) => ask(route, upstream, ctx, handle, message),
            None if message.is_object() => tell(route, handle, message),
            None => {}
        }
    }
}

/// A notification for the caller's GET stream.
fn tell(route: &McpRoute, handle: &str, message: Value) {
    let method = message["method"].as_str().unwrap_or_default();
    if method.ends_with("/list_changed") {
        return;
    }
    if method == "notifications/resources/updated" {
        let uri = message["params"]["uri"].as_str().unwrap_or_default();
        if route
            .state
            .subscriptions
            .contains_key(&subscription_key(handle, uri))
        {
            listen::send_update(route, handle, message);
        }
        return;
    }
    let _ = route
        .state
        .session_events()
        .send((handle.to_string(), message));
}

/// A server-to-client request: to the caller's GET stream under a gateway id, and the caller's answer (or
/// the refusal, when no stream of the caller's is open to take it) back to the upstream.
fn ask(
    route: &McpRoute,
    upstream: &Arc<Upstream>,
    ctx: &CallCtx,
    handle: &str,
    mut message: Value,
) {
    let (gateway_id, upstream_id) = gateway_id(&mut message);
    let (reply, answer) = oneshot::channel();
    let pending = PendingReply::new(upstream_id.clone(), handle.to_string(), reply);
    if !route.state.has_stream(handle) {
        pending.refuse("the caller has no stream open to receive this request");
    } else if route.state.hold(&route.name, gateway_id, pending) {
        let _ = route
            .state
            .session_events()
            .send((handle.to_string(), message));
    }
    let (upstream, ctx) = (upstream.clone(), ctx.clone());
    tokio::spawn(async move {
        let Upstream::Http(http) = upstream.as_ref() else {
            return;
        };
        let reply = answer.await.unwrap_or_else(|_| {
            jsonrpc::error(
                &upstream_id,
                jsonrpc::INTERNAL_ERROR,
                "the caller did not answer",
            )
        });
        http.answer(&ctx, reply).await;
    });
}
