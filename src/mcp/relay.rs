//! Relays one request to the upstream that owns its target, and the upstream's progress, log messages and
//! server-to-client requests back to the caller while it runs. The answer is plain JSON when the upstream
//! replies before saying anything else, and switches to an event stream the moment it has something to relay.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::core::http::sse;
use crate::core::jsonrpc;
use crate::core::seal::random_id;
use crate::mcp::route::{McpRoute, PendingReply};
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::upstream::{CallCtx, Upstream, UpstreamError, UpstreamEvent};

/// Answer to a call the client cancelled (the JSON-RPC "request cancelled" code used by MCP SDKs).
const REQUEST_CANCELLED: i64 = -32800;

/// A call registered for `notifications/cancelled`; unregistered when the call ends, however it ends.
struct InFlight {
    route: Arc<McpRoute>,
    key: String,
}

impl InFlight {
    fn key(ex: &Exchange<'_>, id: &Value) -> String {
        format!("{}\n{id}", ex.caller_key())
    }

    fn register(
        ex: &Exchange<'_>,
        id: &Value,
        token: tokio_util::sync::CancellationToken,
    ) -> InFlight {
        let key = Self::key(ex, id);
        ex.route
            .in_flight
            .lock()
            .unwrap()
            .insert(key.clone(), token);
        InFlight {
            route: ex.route.clone(),
            key,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.route.in_flight.lock().unwrap().remove(&self.key);
    }
}

/// `notifications/cancelled` from a caller: stops its call with that id, if one is in flight here.
pub fn cancel(ex: &Exchange<'_>, request_id: &Value) {
    if let Some(token) = ex
        .route
        .in_flight
        .lock()
        .unwrap()
        .get(&InFlight::key(ex, request_id))
    {
        token.cancel();
    }
}

/// One request with the route's `retry` policy: each try bounded by `perTryTimeout`, all of them by the
/// backend's timeout, which a retry never outlives.
async fn with_retries(
    route: &McpRoute,
    upstream: &Upstream,
    ctx: &CallCtx,
    method: &str,
    params: &Value,
    timeout: Duration,
) -> Result<Value, UpstreamError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let retry = route.policy.retry.as_ref();
    if let Some(retry) = retry {
        retry.on_request();
    }
    let mut attempt = 1;
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let per_try = retry
            .and_then(|r| r.per_try_timeout)
            .map_or(remaining, |p| p.min(remaining));
        // One client span per attempt, child of the request's server span (found from the `traceparent`
        // the caller's headers carry); the upstream gets the attempt's context as `traceparent` (header,
        // and `_meta` since it speaks MCP).
        let span = crate::core::telemetry::tracing::Attempt::mcp(
            &ctx.headers,
            upstream.name(),
            method,
            params,
            ctx.principal.as_deref(),
            attempt,
        );
        let mut attempt_params = params.clone();
        if let Some(traceparent) = span.traceparent() {
            crate::core::telemetry::tracing::add_meta(&mut attempt_params, &traceparent);
        }
        let result = match tokio::time::timeout(
            per_try,
            opentelemetry::context::FutureExt::with_context(
                upstream.request(ctx, method, attempt_params),
                span.context(),
            ),
        )
        .await
        {
            Ok(result) => result,
            Err(_) if per_try < remaining => Err(UpstreamError::Reset(format!(
                "no answer within perTryTimeout {per_try:?}"
            ))),
            Err(_) => Err(UpstreamError::Timeout),
        };
        match &result {
            Ok(reply) => span.end(
                None,
                reply.pointer("/error/code").and_then(Value::as_i64),
                None,
            ),
            Err(UpstreamError::Status(status, _)) => {
                span.end(Some(*status), None, Some(format!("HTTP {status}")))
            }
            Err(error) => span.end(None, None, Some(error.to_string())),
        }
        match result {
            Err(error) if retry.is_some_and(|r| r.should_retry(&error, attempt)) => {
                crate::core::telemetry::metrics::retry(upstream.name());
                let wait = retry
                    .map_or(Duration::ZERO, |r| r.backoff(attempt))
                    .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
                tracing::info!(route = %route.name, upstream = upstream.name(), method, attempt, error = %error, "retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            other => {
                if matches!(other, Err(UpstreamError::Timeout)) {
                    crate::core::telemetry::metrics::timeout(upstream.name());
                }
                return other;
            }
        }
    }
}

/// Most `input_required` rounds relayed for one call (as rmcp's client bounds them).
const MAX_INPUT_ROUNDS: usize = 10;

/// Asks the caller each of an `input_required` result's questions and collects the answers by key.
async fn fulfil(sink: &crate::mcp::upstream::EventSink, result: &Value) -> Result<Value, String> {
    let Some(requests) = result.get("inputRequests").and_then(Value::as_object) else {
        return Ok(serde_json::json!({}));
    };
    let mut responses = serde_json::Map::new();
    for (key, request) in requests {
        let message = serde_json::json!({"jsonrpc": "2.0", "id": key, "method": request["method"], "params": request["params"]});
        let (tx, rx) = tokio::sync::oneshot::channel();
        sink.send(UpstreamEvent::Request { message, reply: tx })
            .await
            .map_err(|_| "the caller went away".to_string())?;
        let answer = rx
            .await
            .map_err(|_| "the caller did not answer".to_string())?;
        match answer.get("result") {
            Some(result) => responses.insert(key.clone(), result.clone()),
            None => {
                return Err(format!(
                    "the caller refused {}: {}",
                    request["method"],
                    answer.get("error").unwrap_or(&Value::Null)
                ));
            }
        };
    }
    Ok(Value::Object(responses))
}

/// The upstream side of one relayed call. It is polled in the caller's own task (no spawn, no hop to
/// another thread on the common path) and dropped, which stops it, when the caller goes away.
type Call = std::pin::Pin<Box<dyn std::future::Future<Output = Value> + Send>>;

/// Sends `method` to `backend` and answers `id`; `finish` may rewrite the upstream's reply (e.g. check
/// the output schema) before the caller sees it.
pub async fn relay(
    ex: &Exchange<'_>,
    backend_index: usize,
    id: &Value,
    method: &str,
    params: Value,
    finish: impl FnOnce(Value) -> Value + Send + 'static,
) -> Answer {
    let backend = &ex.route.backends[backend_index];
    let (events_tx, mut events) = mpsc::channel::<UpstreamEvent>(64);
    let mut ctx = ex.call_ctx(backend.upstream.name(), ex.accepts_sse.then_some(events_tx));
    let cancel = tokio_util::sync::CancellationToken::new();
    let flight = InFlight::register(ex, id, cancel.clone());
    let route = ex.route.clone();
    let upstream = backend.upstream.clone();
    let (timeout, method_owned, id_owned) = (backend.timeout, method.to_string(), id.clone());
    let route_name = ex.route.name.clone();
    let stateless = ex.is_stateless();
    // A session-era caller cannot read a 2026-07-28 `input_required` result; the gateway asks it the
    // questions as server-to-client requests on the stream and retries the upstream with the answers.
    let input_sink = ctx.events.clone().filter(|_| !stateless);
    let mut call: Call = Box::pin(async move {
        let mut params = params;
        let mut rounds = 0;
        let _flight = flight;
        let reply = loop {
            ctx.upstream_id = Some(Default::default());
            let attempt = tokio::select! {
                attempt = with_retries(&route, &upstream, &ctx, &method_owned, &params, timeout) => attempt,
                _ = cancel.cancelled() => {
                    // Tell the upstream too, under the id its request went out with.
                    if let Some(upstream_id) = ctx.upstream_id.as_ref().and_then(|slot| slot.get()) {
                        let params = serde_json::json!({"requestId": upstream_id, "reason": "cancelled by the client"});
                        upstream.notify(&ctx, "notifications/cancelled", params).await;
                    }
                    return jsonrpc::error(&id_owned, REQUEST_CANCELLED, "request cancelled by the client");
                }
            };
            let reply = match attempt {
                Ok(reply) => reply,
                Err(e) => {
                    return upstream_failure(
                        &route_name,
                        upstream.name(),
                        &method_owned,
                        &id_owned,
                        e,
                    );
                }
            };
            let Some(sink) = input_sink
                .as_ref()
                .filter(|_| reply["result"]["resultType"] == "input_required")
            else {
                break reply;
            };
            rounds += 1;
            if rounds > MAX_INPUT_ROUNDS {
                break jsonrpc::error(
                    &id_owned,
                    jsonrpc::INTERNAL_ERROR,
                    format!("upstream asked for input more than {MAX_INPUT_ROUNDS} times"),
                );
            }
            match fulfil(sink, &reply["result"]).await {
                Ok(responses) => {
                    params["inputResponses"] = responses;
                    match reply["result"].get("requestState") {
                        Some(state) => params["requestState"] = state.clone(),
                        None => {
                            params.as_object_mut().map(|p| p.remove("requestState"));
                        }
                    }
                }
                Err(message) => break jsonrpc::error(&id_owned, jsonrpc::INTERNAL_ERROR, message),
            }
        };
        let mut reply = finish(with_id(reply, &id_owned));
        if let Some(result) = reply.get_mut("result").and_then(Value::as_object_mut) {
            if stateless {
                // 2026-07-28 results say how to read them; a session-era upstream never does.
                result
                    .entry("resultType")
                    .or_insert_with(|| Value::String("complete".into()));
            } else if result.get("resultType").is_some_and(|t| t == "complete") {
                // ...and a session-era caller never expects the field.
                result.remove("resultType");
            }
        }
        reply
    });

    tokio::select! {
        reply = &mut call => ex.reply(reply),
        Some(first) = events.recv() => {
            let (tx, rx) = mpsc::channel::<String>(64);
            let session = match &ex.mode { Mode::Session(c) => Some(c.h.clone()), _ => None };
            let route = ex.route.clone();
            let id = id.clone();
            // From here the call runs in the stream's own task, which the response body outlives.
            tokio::spawn(async move {
                if forward(&route, session.as_deref(), first, &tx).await.is_err() {
                    return;
                }
                stream_until_reply(route, session, call, events, tx, id).await;
            });
            Answer::Stream(rx)
        }
    }
}

async fn stream_until_reply(
    route: Arc<McpRoute>,
    session: Option<String>,
    mut call: Call,
    mut events: mpsc::Receiver<UpstreamEvent>,
    tx: mpsc::Sender<String>,
    id: Value,
) {
    // `timeout.idle`: a stream on which the upstream says nothing for that long is ended with an error
    // reply (and the upstream call aborted), rather than held open.
    let idle = route
        .idle_timeout
        .unwrap_or(Duration::from_secs(u32::MAX.into()));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(idle) => {
                tracing::warn!(route = %route.name, ?idle, "stream idle: no upstream event within timeout.idle; closing it");
                crate::core::telemetry::metrics::error(&route.name, crate::core::telemetry::metrics::ErrorType::UpstreamTimeout);
                let reply = jsonrpc::error(&id, jsonrpc::UPSTREAM_TIMEOUT, format!("no upstream event within the idle timeout ({idle:?})"));
                let _ = tx.send(sse::encode(Some("message"), None, &reply.to_string())).await;
                return;
            }
            reply = &mut call => {
                // Events the upstream sent just before its reply still go first.
                while let Ok(event) = events.try_recv() {
                    if forward(&route, session.as_deref(), event, &tx).await.is_err() { return; }
                }
                let _ = tx.send(sse::encode(Some("message"), None, &reply.to_string())).await;
                return;
            }
            Some(event) = events.recv() => {
                // The caller hung up: dropping `call` aborts the upstream request.
                if forward(&route, session.as_deref(), event, &tx).await.is_err() { return; }
            }
        }
    }
}

/// Writes one upstream event to the caller. A server-to-client request gets a gateway id the caller
/// answers to; only a session's caller can answer, so without a session it is refused on the spot.
async fn forward(
    route: &McpRoute,
    session: Option<&str>,
    event: UpstreamEvent,
    tx: &mpsc::Sender<String>,
) -> Result<(), ()> {
    let message = match event {
        UpstreamEvent::Notification(message) => message,
        UpstreamEvent::Request { mut message, reply } => {
            let Some(session) = session else {
                let _ = reply.send(jsonrpc::error(
                    &message["id"],
                    jsonrpc::METHOD_NOT_FOUND,
                    "server-to-client requests need a session-era client",
                ));
                return Ok(());
            };
            let gateway_id = format!("agw-{}", random_id());
            let upstream_id =
                std::mem::replace(&mut message["id"], Value::String(gateway_id.clone()));
            route.pending_replies.lock().unwrap().insert(
                gateway_id,
                PendingReply {
                    upstream_id,
                    session: session.to_string(),
                    reply,
                },
            );
            message
        }
    };
    tx.send(sse::encode(Some("message"), None, &message.to_string()))
        .await
        .map_err(|_| ())
}

fn with_id(mut reply: Value, id: &Value) -> Value {
    if let Some(obj) = reply.as_object_mut() {
        obj.insert("id".into(), id.clone());
    }
    reply
}

fn upstream_failure(
    route: &str,
    upstream: &str,
    method: &str,
    id: &Value,
    error: UpstreamError,
) -> Value {
    tracing::warn!(route, upstream, method, error = %error, "upstream call failed");
    match error {
        UpstreamError::Timeout => jsonrpc::error(
            id,
            jsonrpc::UPSTREAM_TIMEOUT,
            format!("upstream {upstream} did not answer in time"),
        ),
        other => jsonrpc::error_with_data(
            id,
            jsonrpc::UPSTREAM_ERROR,
            format!("upstream {upstream} failed"),
            serde_json::json!({"reason": other.to_string()}),
        ),
    }
}

/// Delivers a caller's reply to a relayed server-to-client request. False when nothing waits for it.
pub fn deliver_reply(
    route: &McpRoute,
    session: Option<&str>,
    id: &Value,
    mut body: serde_json::Map<String, Value>,
) -> bool {
    let Some(key) = id.as_str() else { return false };
    let mut pending = route.pending_replies.lock().unwrap();
    match pending.get(key) {
        Some(p) if Some(p.session.as_str()) == session => {}
        _ => return false,
    }
    let p = pending.remove(key).expect("checked above");
    body.insert("id".into(), p.upstream_id);
    body.insert("jsonrpc".into(), Value::String("2.0".into()));
    p.reply.send(Value::Object(body)).is_ok()
}
