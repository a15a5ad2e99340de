//! Relays one request to the upstream that owns its target, and the upstream's progress, log messages and
//! server-to-client requests back to the caller while it runs. The answer is plain JSON when the upstream
//! replies before saying anything else, and switches to an event stream the moment it has something to relay.
//! Timeouts and retries are the route pipeline's upstream stage.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::core::error::{self, Error, UpstreamError};
use crate::core::http::sse;
use crate::core::seal::random_id;
use crate::core::telemetry::tracing::{Attempt, add_meta};
use crate::mcp::parked::{Call, Continuation};
use crate::mcp::protocol::{methods, status};
use crate::mcp::route::McpRoute;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::state::{MAX_IN_FLIGHT, MAX_PENDING_PER_CALL, PendingReply, gateway_id};
use crate::mcp::upstream::reply::{Members, with_first};
use crate::mcp::upstream::{CallCtx, EventSink, Reply, Upstream, UpstreamEvent};

/// A call registered for `notifications/cancelled`; unregistered when the call ends, however it ends.
/// Only calls in a session are: its sealed handle is something only that caller holds. A caller without
/// a session could be told apart from another by nothing narrower than its principal, shared by every
/// anonymous caller and every replica of a service account; it cancels by closing the call's response
/// stream (the only way on the 2026-07-28 wire), and its notices are ignored.
struct InFlight {
    route: Arc<McpRoute>,
    key: Option<String>,
}

impl InFlight {
    fn key(ex: &Exchange<'_>, id: &Value) -> Option<String> {
        match &ex.mode {
            Mode::Session(claims) => Some(format!("{}\n{id}", claims.h)),
            Mode::Stateless(_) | Mode::Sessionless => None,
        }
    }

    fn register(
        ex: &Exchange<'_>,
        id: &Value,
        token: tokio_util::sync::CancellationToken,
    ) -> InFlight {
        let in_flight = &ex.route.state.in_flight;
        // Bounded: past the bound a call still runs, it just cannot be cancelled.
        let key = Self::key(ex, id)
            .filter(|_| in_flight.len() < MAX_IN_FLIGHT)
            .inspect(|key| {
                in_flight.insert(key.clone(), token);
            });
        InFlight {
            route: ex.route.clone(),
            key,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.route.state.in_flight.remove(key);
        }
    }
}

/// `notifications/cancelled` from a caller: stops its call with that id, if one is in flight here.
pub fn cancel(ex: &Exchange<'_>, request_id: &Value) {
    let Some(key) = InFlight::key(ex, request_id) else {
        tracing::debug!(route = %ex.route.name, "notifications/cancelled without a session ignored: such a caller cancels by closing the call's stream");
        return;
    };
    if let Some(token) = ex.route.state.in_flight.get(&key) {
        token.cancel();
    }
}

/// One request through the route's upstream stage (timeout, retries): one client span per attempt,
/// child of the request's server span, whose context goes upstream as `traceparent` (HTTP header, and
/// `_meta` since the upstream speaks MCP).
async fn attempts(
    route: &McpRoute,
    upstream: &Upstream,
    ctx: &CallCtx,
    method: &str,
    params: &Value,
    timeout: Duration,
) -> Result<Reply, Error> {
    route
        .pipeline
        .upstream
        .run(
            upstream.name(),
            timeout,
            |attempt| {
                let span = Attempt::mcp(
                    ctx.trace.as_ref(),
                    upstream.name(),
                    method,
                    methods::target(method, params),
                    ctx.principal.as_deref(),
                    attempt,
                );
                let mut params = params.clone();
                if let Some(traceparent) = span.traceparent() {
                    add_meta(&mut params, &traceparent);
                }
                let context = span.context();
                let request = upstream.relay(ctx, method, params);
                (
                    span,
                    opentelemetry::context::FutureExt::with_context(request, context),
                )
            },
            |span, result| match result {
                Ok(reply) => span.end(None, reply.error_code(), None),
                Err(UpstreamError::Status(status, _)) => {
                    span.end(Some(*status), None, Some(format!("HTTP {status}")))
                }
                Err(error) => span.end(None, None, Some(error.to_string())),
            },
        )
        .await
}

/// Most `input_required` rounds relayed for one call (as rmcp's client bounds them).
const MAX_INPUT_ROUNDS: usize = 10;

/// Asks the caller each of an `input_required` result's questions and collects the answers by key.
async fn fulfil(sink: &EventSink, result: &Value) -> Result<Value, Error> {
    let Some(requests) = result.get("inputRequests").and_then(Value::as_object) else {
        return Ok(serde_json::json!({}));
    };
    let gone = |what: &str| Error::Internal(format!("input_required: {what}"));
    let mut responses = serde_json::Map::new();
    for (key, request) in requests {
        let message = serde_json::json!({"jsonrpc": "2.0", "id": key, "method": request["method"], "params": request["params"]});
        let (tx, rx) = tokio::sync::oneshot::channel();
        sink.send(UpstreamEvent::Request { message, reply: tx })
            .await
            .map_err(|_| gone("the caller went away"))?;
        let answer = rx.await.map_err(|_| gone("the caller did not answer"))?;
        match answer.get("result") {
            Some(result) => responses.insert(key.clone(), result.clone()),
            None => {
                return Err(gone(&format!(
                    "the caller refused {}: {}",
                    request["method"],
                    answer.get("error").unwrap_or(&Value::Null)
                )));
            }
        };
    }
    Ok(Value::Object(responses))
}

/// Sends `method` to `backend` and answers `id`; `finish` may refuse or count the upstream's reply (e.g.
/// the output schema) before the caller sees it.
pub async fn relay(
    ex: &Exchange<'_>,
    backend_index: usize,
    id: &Value,
    method: &str,
    params: Value,
    finish: impl FnOnce(Result<Reply, Error>) -> Result<Reply, Error> + Send + 'static,
) -> Answer {
    let stateless = ex.is_stateless();
    // The retry of a 2026-07-28 caller answering a question its call waits on: that call goes on.
    let principal = ex.caller.principal.as_deref();
    if stateless && let Some(resumed) = ex.route.parking().resume(principal, &params) {
        return match resumed {
            Ok(continuation) => respond(ex, id, continuation).await,
            Err(error) => ex.fail(id, error),
        };
    }
    let backend = &ex.route.backends[backend_index];
    let (events_tx, events) = mpsc::channel::<UpstreamEvent>(64);
    // A 2026-07-28 caller always hears the upstream's questions (as `input_required`), a caller reading
    // the answer as a stream also its notifications.
    let sink = (ex.accepts_sse || stateless).then_some(events_tx);
    let mut ctx = ex.call_ctx(backend.upstream.name(), sink);
    // An anonymous caller without a session has nothing that tells it from another: it gets upstream
    // state of its own (a session, a child process, a stream) for this one request, ended with it.
    let anonymous = ex.caller.principal.is_none()
        && !matches!(ex.mode, Mode::Session(_))
        && backend.upstream.keeps_caller_state();
    if anonymous {
        ctx.caller_key = format!("r:{}", random_id());
        ctx.one_request = true;
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    let flight = InFlight::register(ex, id, cancel.clone());
    let route = ex.route.clone();
    let upstream = backend.upstream.clone();
    let (timeout, method_owned) = (backend.timeout, method.to_string());
    // A session-era caller cannot read a 2026-07-28 `input_required` result; the gateway asks it the
    // questions as server-to-client requests on the stream and retries the upstream with the answers.
    let input_sink = ctx.events.clone().filter(|_| !stateless);
    let call: Call = Box::pin(async move {
        let mut params = params;
        let mut rounds = 0;
        let _flight = flight;
        let _close = anonymous.then(|| CloseOnDrop(upstream.clone(), ctx.clone()));
        let reply = loop {
            ctx.upstream_id = Some(Default::default());
            let reply = tokio::select! {
                attempt = attempts(&route, &upstream, &ctx, &method_owned, &params, timeout) => attempt,
                _ = cancel.cancelled() => {
                    // Tell the upstream too, under the id its request went out with.
                    if let Some(upstream_id) = ctx.upstream_id.as_ref().and_then(|slot| slot.get()) {
                        let params = serde_json::json!({"requestId": upstream_id, "reason": "cancelled by the client"});
                        upstream.notify(&ctx, "notifications/cancelled", params).await;
                    }
                    Err(Error::Cancelled)
                }
            };
            let reply = match reply {
                Ok(reply) => reply,
                Err(e) => break Err(e),
            };
            let Some(sink) = input_sink.as_ref().filter(|_| asks_for_input(&reply)) else {
                break Ok(reply);
            };
            let reply = reply.value();
            rounds += 1;
            if rounds > MAX_INPUT_ROUNDS {
                break Err(Error::Internal(format!(
                    "upstream asked for input more than {MAX_INPUT_ROUNDS} times"
                )));
            }
            let responses = match fulfil(sink, &reply["result"]).await {
                Ok(responses) => responses,
                Err(e) => break Err(e),
            };
            params["inputResponses"] = responses;
            match reply["result"].get("requestState") {
                Some(state) => params["requestState"] = state.clone(),
                None => {
                    params.as_object_mut().map(|p| p.remove("requestState"));
                }
            }
        };
        finish(reply)
    });

    respond(ex, id, (call, events)).await
}

/// Answers `id` with the call's outcome: plain JSON when the upstream replies before saying anything
/// else, an event stream from the moment it has something to relay; a 2026-07-28 caller whose upstream
/// asks a question gets `input_required` while the call waits (`parked`).
async fn respond(ex: &Exchange<'_>, id: &Value, (mut call, mut events): Continuation) -> Answer {
    let stateless = ex.is_stateless();
    // Whatever the upstream said before its reply goes first, so the answer becomes a stream that carries
    // it. The reply and its events can arrive in one poll of the call, hence the look at `events` after.
    let first = loop {
        let event = tokio::select! {
            biased;
            Some(first) = events.recv() => first,
            reply = &mut call => match events.try_recv() {
                Ok(first) => {
                    call = Box::pin(std::future::ready(reply));
                    first
                }
                Err(_) => {
                    return match reply.and_then(|r| Relayed::of(id, &r, stateless)) {
                        Ok(relayed) => relayed.answer(stateless),
                        Err(error) => ex.fail(id, error),
                    };
                }
            },
        };
        // A caller that reads no stream hears only questions (2026-07-28 callers), no notifications.
        if ex.accepts_sse || matches!(event, UpstreamEvent::Request { .. }) {
            break event;
        }
    };
    if stateless && let UpstreamEvent::Request { message, reply } = first {
        let principal = ex.caller.principal.as_deref();
        return match ex
            .route
            .parking()
            .park(principal, (call, events), message, reply)
        {
            Ok(result) => ex.result(id, result),
            Err(error) => ex.fail(id, error),
        };
    }
    let (tx, rx) = mpsc::channel::<String>(64);
    let session = match &ex.mode {
        Mode::Session(c) => Some(c.h.clone()),
        _ => None,
    };
    let stream = Stream {
        route: ex.route.clone(),
        session,
        principal: ex.caller.principal.clone(),
        dialect: ex.dialect(),
        id: id.clone(),
        tx,
        pending: std::sync::Mutex::default(),
    };
    // From here the call runs in the stream's own task, which the response body outlives.
    tokio::spawn(async move {
        if stream.forward(first).await.is_err() {
            return;
        }
        if let Some((continuation, question, reply)) = stream.until_reply(call, events).await {
            stream.park(continuation, question, reply).await;
        }
    });
    Answer::Stream(rx)
}

/// Closes the upstream session of a one-request caller key when the request ends, however it ends.
struct CloseOnDrop(Arc<Upstream>, CallCtx);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let (upstream, ctx) = (self.0.clone(), self.1.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { upstream.close_session(&ctx).await });
        }
    }
}

/// A call whose answer became an event stream.
struct Stream {
    route: Arc<McpRoute>,
    session: Option<String>,
    principal: Option<String>,
    dialect: error::Dialect,
    id: Value,
    tx: mpsc::Sender<String>,
    /// Gateway ids of the server-to-client requests this call relayed, forgotten when it ends: an
    /// answer that comes later has no stream to go to, and the upstream is told at once.
    pending: std::sync::Mutex<Vec<String>>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        for gateway_id in self.pending.get_mut().unwrap().drain(..) {
            self.route.state.forget_reply(&gateway_id);
        }
    }
}

/// A question from the upstream that a 2026-07-28 caller answers by calling again.
type Question = (Continuation, Value, oneshot::Sender<Value>);

impl Stream {
    /// Relays the call's events and then its reply; `Some` when a 2026-07-28 caller must be asked a
    /// question first (the stream then ends with `input_required`).
    async fn until_reply(
        &self,
        mut call: Call,
        mut events: mpsc::Receiver<UpstreamEvent>,
    ) -> Option<Question> {
        // `timeout.idle`: a stream on which the upstream says nothing for that long is ended with an
        // error reply (and the upstream call aborted), rather than held open.
        let idle = self
            .route
            .pipeline
            .upstream
            .idle
            .unwrap_or(Duration::from_secs(u32::MAX.into()));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(idle) => {
                    tracing::warn!(route = %self.route.name, ?idle, "stream idle: no upstream event within timeout.idle; closing it");
                    let backend = String::from("(stream idle)");
                    self.send_error(Error::UpstreamTimeout { backend }).await;
                    return None;
                }
                reply = &mut call => {
                    // Events the upstream sent just before its reply still go first.
                    while let Ok(event) = events.try_recv() {
                        if self.forward(event).await.is_err() { return None; }
                    }
                    match reply.and_then(|r| Relayed::of(&self.id, &r, self.stateless())) {
                        Ok(relayed) => { let _ = self.send_text(&relayed.body).await; }
                        Err(error) => self.send_error(error).await,
                    }
                    return None;
                }
                Some(event) = events.recv() => match event {
                    UpstreamEvent::Request { message, reply } if self.stateless() => {
                        return Some(((call, events), message, reply));
                    }
                    // The caller hung up: dropping `call` aborts the upstream request.
                    event => if self.forward(event).await.is_err() { return None; },
                }
            }
        }
    }

    fn stateless(&self) -> bool {
        self.dialect == error::Dialect::McpStateless
    }

    /// Ends the stream with `input_required`: the call waits for the caller to come back with the answer.
    async fn park(
        &self,
        continuation: Continuation,
        question: Value,
        reply: oneshot::Sender<Value>,
    ) {
        let parking = self.route.parking();
        match parking.park(self.principal.as_deref(), continuation, question, reply) {
            Ok(result) => {
                let message =
                    serde_json::json!({"jsonrpc": "2.0", "id": self.id, "result": result});
                let _ = self.send(&message).await;
            }
            Err(error) => self.send_error(error).await,
        }
    }

    async fn send(&self, message: &Value) -> Result<(), ()> {
        self.send_text(&message.to_string()).await
    }

    async fn send_text(&self, message: &str) -> Result<(), ()> {
        self.tx
            .send(sse::encode(Some("message"), None, message))
            .await
            .map_err(|_| ())
    }

    async fn send_error(&self, error: Error) {
        error.report(&self.route.name, self.principal.as_deref());
        let _ = self
            .send(&error::body(&error, &self.id, self.dialect))
            .await;
    }

    /// Writes one upstream event to the caller. A server-to-client request gets a gateway id the caller
    /// answers to; only a session's caller can answer, so without a session it is refused on the spot.
    async fn forward(&self, event: UpstreamEvent) -> Result<(), ()> {
        let message = match event {
            UpstreamEvent::Notification(message) => message,
            UpstreamEvent::Request { mut message, reply } => {
                let (gateway_id, upstream_id) = gateway_id(&mut message);
                let session = self.session.clone().unwrap_or_default();
                let pending = PendingReply::new(upstream_id, session, reply);
                if self.session.is_none() {
                    pending.refuse("server-to-client requests need a session-era client");
                    return Ok(());
                }
                let mut mine = self.pending.lock().unwrap();
                mine.retain(|waiting| self.route.state.is_pending(waiting));
                if mine.len() >= MAX_PENDING_PER_CALL {
                    drop(mine);
                    tracing::warn!(route = %self.route.name, "an upstream call has {MAX_PENDING_PER_CALL} server-to-client requests unanswered; refusing one more");
                    pending.refuse("this call has too many requests waiting for replies");
                    return Ok(());
                }
                if !self
                    .route
                    .state
                    .hold(&self.route.name, gateway_id.clone(), pending)
                {
                    return Ok(());
                }
                mine.push(gateway_id);
                drop(mine);
                message
            }
        };
        self.send(&message).await
    }
}

/// Whether a reply is a 2026-07-28 `input_required` result.
fn asks_for_input(reply: &Reply) -> bool {
    reply.text().contains("input_required")
        && reply
            .result()
            .is_some_and(|r| Members::of(r).is("resultType", "\"input_required\""))
}

/// An upstream reply as the caller receives it: the caller's id, and the upstream's own `result` or
/// `error` bytes. Only `resultType` is touched: a 2026-07-28 caller always gets one, a session-era
/// caller never gets `"complete"` (which a session-era client does not expect).
struct Relayed {
    body: String,
    /// The upstream's error code, when it answered with an error.
    error_code: Option<i64>,
}

impl Relayed {
    fn of(id: &Value, reply: &Reply, stateless: bool) -> Result<Relayed, Error> {
        let mut body = String::with_capacity(reply.text().len() + 32);
        body.push_str(r#"{"jsonrpc":"2.0","id":"#);
        body.push_str(&id.to_string());
        let error_code = match (reply.result(), reply.error()) {
            (Some(result), _) => {
                body.push_str(r#","result":"#);
                body.push_str(&result_for(result, stateless));
                None
            }
            (None, Some(error)) => {
                body.push_str(r#","error":"#);
                body.push_str(error);
                reply.error_code()
            }
            (None, None) => {
                return Err(Error::Internal(
                    "the upstream's reply has neither result nor error".into(),
                ));
            }
        };
        body.push('}');
        Ok(Relayed { body, error_code })
    }

    /// The answer, with the status its error code has in the caller's era.
    fn answer(self, stateless: bool) -> Answer {
        let status = status::of_relayed_error(stateless, self.error_code);
        Answer::Raw {
            status,
            body: self.body.into(),
            upstream_error: self.error_code,
        }
    }
}

/// A result's text for the caller; parsed only when it mentions `resultType` or must gain one.
fn result_for(text: &str, stateless: bool) -> std::borrow::Cow<'_, str> {
    let mentioned = text.contains("\"resultType\"");
    if !text.trim_start().starts_with('{') || (!stateless && !mentioned) {
        return text.into();
    }
    let members = mentioned.then(|| Members::of(text));
    match (stateless, &members) {
        (true, Some(m)) if m.get("resultType").is_some() => text.into(),
        (true, _) => with_first(text, "resultType", "\"complete\"").into(),
        (false, Some(m)) if m.is("resultType", "\"complete\"") => m.without("resultType").into(),
        (false, _) => text.into(),
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
    let Some((upstream_id, reply)) = route.state.take_reply(key, session) else {
        return false;
    };
    body.insert("id".into(), upstream_id);
    body.insert("jsonrpc".into(), Value::String("2.0".into()));
    reply.send(Value::Object(body)).is_ok()
}
