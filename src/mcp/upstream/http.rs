//! Streamable HTTP upstreams, either era: `server/discover` first (2026-07-28, stateless), falling back to
//! `initialize` (session era). Replies may come as JSON or as an SSE stream carrying notifications and
//! server-to-client requests before the reply itself.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use super::{CallCtx, Reply, SessionCache, UpstreamError, UpstreamEvent, UpstreamSessionClaim};
use crate::core::error::error_chain;
use crate::core::http::client::HttpClient;
use crate::core::{http::sse, jsonrpc};
use crate::mcp::protocol::version;

mod stream;
mod unasked;

use unasked::Unasked;

/// Largest single SSE event or JSON reply accepted from an upstream.
const MAX_REPLY: usize = 16 * 1024 * 1024;
/// Caller sessions kept per upstream on one replica.
const SESSION_CAPACITY: usize = 10_000;
/// The key of the gateway's own session, used for discovery.
pub const GATEWAY_KEY: &str = "\u{0}gateway";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Era {
    Stateless,
    Session,
}

#[derive(Clone, Debug)]
struct Session {
    id: Option<String>,
    version: String,
}

pub struct HttpUpstream {
    pub name: String,
    uri: Uri,
    client: HttpClient,
    headers: HeaderMap,
    forward_authorization: bool,
    era: Mutex<Option<Era>>,
    sessions: SessionCache<Session>,
    /// Sessions opened at a downstream session's initialize, so that each is DELETEd when that session
    /// expires, or when more than [`SESSION_CAPACITY`] are open (a later call then opens a new one, as
    /// after an upstream restart). A client's DELETE closes its own at once.
    opened: moka::sync::Cache<String, Opened>,
    next_id: AtomicU64,
    pub changed: std::sync::Arc<tokio::sync::Notify>,
}

pub struct HttpSettings {
    pub name: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub forward_authorization: bool,
    /// From `core::http::client`, made for this backend's TLS settings (shared with backends like it).
    pub client: HttpClient,
}

impl HttpSettings {
    /// The upstream's URL and extra headers, checked once when the route is built.
    pub fn parse(&self) -> Result<(Uri, HeaderMap), String> {
        let uri: Uri = self
            .url
            .parse()
            .map_err(|e| format!("backend {}: bad URL {}: {e}", self.name, self.url))?;
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            let bad = |e: &dyn std::fmt::Display| format!("backend {}: header {k}: {e}", self.name);
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| bad(&e))?;
            headers.insert(name, HeaderValue::from_str(v).map_err(|e| bad(&e))?);
        }
        Ok((uri, headers))
    }
}

/// An upstream session opened for a downstream one, until the downstream one expires.
#[derive(Clone)]
struct Opened {
    id: String,
    until: std::time::Instant,
}

struct UntilExpiry;

impl moka::Expiry<String, Opened> for UntilExpiry {
    fn expire_after_create(
        &self,
        _: &String,
        opened: &Opened,
        now: std::time::Instant,
    ) -> Option<Duration> {
        Some(opened.until.saturating_duration_since(now))
    }
}

/// DELETEs an upstream session, with the backend's configured headers (an API key) like every request.
async fn delete_session(client: HttpClient, uri: Uri, headers: HeaderMap, id: String) {
    let request = Request::builder()
        .method(Method::DELETE)
        .uri(uri)
        .header("mcp-session-id", id)
        .body(Full::new(Bytes::new()));
    if let Ok(mut request) = request {
        request.headers_mut().extend(headers);
        let _ = tokio::time::timeout(Duration::from_secs(5), client.request(request)).await;
    }
}

impl HttpUpstream {
    pub fn new(settings: HttpSettings) -> Result<HttpUpstream, String> {
        let (uri, headers) = settings.parse()?;
        let runtime = tokio::runtime::Handle::try_current().ok();
        let (client, closing_uri, closing_headers) =
            (settings.client.clone(), uri.clone(), headers.clone());
        let opened = moka::sync::Cache::builder()
            .max_capacity(SESSION_CAPACITY as u64)
            .expire_after(UntilExpiry)
            .eviction_listener(move |_, opened: Opened, cause| {
                use moka::notification::RemovalCause;
                if matches!(cause, RemovalCause::Expired | RemovalCause::Size)
                    && let Some(runtime) = &runtime
                {
                    let delete = delete_session(
                        client.clone(),
                        closing_uri.clone(),
                        closing_headers.clone(),
                        opened.id,
                    );
                    runtime.spawn(delete);
                }
            })
            .build();
        Ok(HttpUpstream {
            name: settings.name,
            uri,
            client: settings.client,
            headers,
            forward_authorization: settings.forward_authorization,
            era: Mutex::new(None),
            sessions: SessionCache::new(SESSION_CAPACITY),
            opened,
            next_id: AtomicU64::new(1),
            changed: Default::default(),
        })
    }

    /// Sends one request; the reply parsed (the gateway's own calls).
    pub async fn request(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<Value, UpstreamError> {
        self.relay(ctx, method, params).await.map(|r| r.value())
    }

    /// Sends one request; the reply as the upstream sent it (relayed to callers).
    pub async fn relay(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<Reply, UpstreamError> {
        let session = self.session_for(ctx).await?;
        let id = json!(self.next_id.fetch_add(1, Ordering::Relaxed));
        if let Some(slot) = &ctx.upstream_id {
            let _ = slot.set(id.clone());
        }
        let message = jsonrpc::request(&id, method, self.with_meta(&session, ctx, params));
        match self.post_in(&session, &message, ctx, true).await {
            // The upstream forgot the session (restart, expiry): open a new one once and resend. The spec
            // says 404; the TypeScript SDK's servers say 400 ("No valid session ID provided"). Either
            // means the request was not processed, so resending cannot run it twice.
            Err(UpstreamError::Status(404 | 400, _)) if session.id.is_some() => {
                self.sessions.remove(&ctx.caller_key);
                let mut fresh_ctx = ctx.clone();
                fresh_ctx.sealed_session = None;
                let session = self.session_for(&fresh_ctx).await?;
                self.post(&session, &message, ctx).await
            }
            other => other,
        }
        .map(|reply| {
            reply.unwrap_or_else(|| {
                let error = jsonrpc::error(&id, jsonrpc::INTERNAL_ERROR, "upstream sent no reply");
                Reply::from_value(&error)
            })
        })
    }

    /// Whether the upstream speaks the stateless revision (learned on first contact).
    pub async fn is_stateless(&self) -> Result<bool, UpstreamError> {
        Ok(self.era().await? == Era::Stateless)
    }

    /// Whether the upstream is known to speak 2026-07-28 (no sessions), without asking it.
    pub fn known_stateless(&self) -> bool {
        *self.era.lock().unwrap() == Some(Era::Stateless)
    }

    pub async fn notify(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<(), UpstreamError> {
        let session = self.session_for(ctx).await?;
        let message = jsonrpc::notification(method, self.with_meta(&session, ctx, params));
        self.post(&session, &message, ctx).await.map(|_| ())
    }

    /// A fresh session for a new downstream session that lasts `lifetime` (none for a stateless upstream);
    /// DELETEd when that lifetime is over.
    pub async fn open_session(
        &self,
        caller_key: &str,
        lifetime: Duration,
        capabilities: Option<Value>,
    ) -> Option<UpstreamSessionClaim> {
        let ctx = CallCtx {
            caller_key: caller_key.to_string(),
            client_capabilities: capabilities,
            ..Default::default()
        };
        match self.session_for(&ctx).await {
            Ok(Session {
                id: Some(id),
                version,
            }) => {
                // Expired and surplus sessions are closed here, once per initialize, not on a timer.
                self.opened.run_pending_tasks();
                let until = std::time::Instant::now() + lifetime;
                let opened = Opened {
                    id: id.clone(),
                    until,
                };
                self.opened.insert(caller_key.to_string(), opened);
                Some(UpstreamSessionClaim {
                    backend: self.name.clone(),
                    session_id: id,
                    version,
                })
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(upstream = %self.name, error = %e, "could not open an upstream session; will retry on first use");
                None
            }
        }
    }

    pub async fn close_session(&self, ctx: &CallCtx) {
        self.opened.invalidate(&ctx.caller_key);
        let session = self.sessions.remove(&ctx.caller_key).or_else(|| {
            ctx.sealed_session.as_ref().map(|c| Session {
                id: Some(c.session_id.clone()),
                version: c.version.clone(),
            })
        });
        let Some(Session { id: Some(id), .. }) = session else {
            return;
        };
        let (client, uri, headers) = (self.client.clone(), self.uri.clone(), self.headers.clone());
        delete_session(client, uri, headers, id).await;
    }

    async fn session_for(&self, ctx: &CallCtx) -> Result<Session, UpstreamError> {
        if self.era().await? == Era::Stateless {
            return Ok(Session {
                id: None,
                version: version::STATELESS.to_string(),
            });
        }
        if let Some(claim) = ctx
            .sealed_session
            .as_ref()
            .filter(|c| c.backend == self.name)
        {
            return Ok(Session {
                id: Some(claim.session_id.clone()),
                version: claim.version.clone(),
            });
        }
        if let Some(session) = self.sessions.get(&ctx.caller_key) {
            return Ok(session);
        }
        let session = self.initialize(ctx).await?;
        self.sessions.insert(&ctx.caller_key, session.clone());
        Ok(session)
    }

    /// Which era the upstream speaks, learned once: `server/discover` answers only on 2026-07-28 servers.
    async fn era(&self) -> Result<Era, UpstreamError> {
        if let Some(era) = *self.era.lock().unwrap() {
            return Ok(era);
        }
        let probe = Session {
            id: None,
            version: version::STATELESS.to_string(),
        };
        let message = jsonrpc::request(
            &json!(0),
            "server/discover",
            self.with_meta(&probe, &CallCtx::default(), json!({})),
        );
        let era = match self.post(&probe, &message, &CallCtx::default()).await {
            Ok(Some(reply))
                if reply.value()["result"]["supportedVersions"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|v| v == version::STATELESS)) =>
            {
                Era::Stateless
            }
            Err(e @ UpstreamError::Connect(_)) | Err(e @ UpstreamError::Timeout) => return Err(e),
            _ => Era::Session,
        };
        tracing::info!(upstream = %self.name, era = ?era, "upstream protocol era detected");
        *self.era.lock().unwrap() = Some(era);
        Ok(era)
    }

    /// The session declares the caller's own capabilities: the upstream checks them only here, and one
    /// the caller lacks would have it send requests nobody answers. Without a session the caller has
    /// none the gateway relays to (server-to-client requests need a session).
    async fn initialize(&self, ctx: &CallCtx) -> Result<Session, UpstreamError> {
        let params = json!({
            "protocolVersion": version::LATEST_SESSION,
            "capabilities": ctx.client_capabilities.clone().unwrap_or_else(|| json!({})),
            "clientInfo": {"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")},
        });
        let message = jsonrpc::request(&json!(0), "initialize", params);
        let none = Session {
            id: None,
            version: version::LATEST_SESSION.to_string(),
        };
        let response = self.send(&none, &message, ctx).await?;
        let session_id = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let reply = self
            .read_reply(response, ctx, &message)
            .await?
            .ok_or_else(|| UpstreamError::Protocol("no initialize reply".into()))?
            .value();
        if let Some(error) = reply.get("error") {
            return Err(UpstreamError::Protocol(format!(
                "initialize refused: {error}"
            )));
        }
        let negotiated = reply["result"]["protocolVersion"]
            .as_str()
            .unwrap_or(version::LATEST_SESSION)
            .to_string();
        let session = Session {
            id: session_id,
            version: negotiated,
        };
        self.post(
            &session,
            &jsonrpc::notification("notifications/initialized", Value::Null),
            ctx,
        )
        .await?;
        Ok(session)
    }

    /// Stateless requests carry the protocol version, the caller's capabilities and log level in `_meta`;
    /// session-era requests must not carry those keys at all.
    fn with_meta(&self, session: &Session, ctx: &CallCtx, mut params: Value) -> Value {
        if session.version != version::STATELESS {
            version::strip_stateless_meta(&mut params);
            return params;
        }
        let mut params = match params {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let meta = params.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(
                version::META_PROTOCOL_VERSION.into(),
                json!(version::STATELESS),
            );
            let capabilities = ctx.client_capabilities.clone().unwrap_or_else(|| json!({}));
            meta.entry(version::META_CLIENT_CAPABILITIES)
                .or_insert(capabilities);
            if let Some(level) = &ctx.log_level {
                meta.entry(version::META_LOG_LEVEL)
                    .or_insert_with(|| json!(level));
            }
            meta.entry(version::META_CLIENT_INFO).or_insert_with(
                || json!({"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")}),
            );
        }
        Value::Object(params)
    }

    /// POSTs one message and returns the JSON-RPC reply, if the message was a request.
    async fn post(
        &self,
        session: &Session,
        message: &Value,
        ctx: &CallCtx,
    ) -> Result<Option<Reply>, UpstreamError> {
        self.post_in(session, message, ctx, false).await
    }

    /// As [`Self::post`]; with `session_lost_raw`, a 400 or 404 to a request that carried a session id
    /// stays an HTTP status (the session may be gone), not the JSON-RPC error in its body.
    async fn post_in(
        &self,
        session: &Session,
        message: &Value,
        ctx: &CallCtx,
        session_lost_raw: bool,
    ) -> Result<Option<Reply>, UpstreamError> {
        match self.send(session, message, ctx).await {
            Ok(response) => self.read_reply(response, ctx, message).await,
            Err(UpstreamError::Status(status @ (400 | 404), body))
                if session_lost_raw && session.id.is_some() =>
            {
                Err(UpstreamError::Status(status, body))
            }
            // Some servers answer a JSON-RPC error with an HTTP error status (rmcp: -32601 as 404); when the
            // body is the reply to this very request it is a reply, not a transport failure.
            Err(UpstreamError::Status(status, body)) => {
                match serde_json::from_str::<Value>(&body) {
                    Ok(reply)
                        if reply.get("error").is_some()
                            && message
                                .get("id")
                                .is_some_and(|id| reply.get("id") == Some(id)) =>
                    {
                        Ok(Some(Reply::from_value(&reply)))
                    }
                    _ => Err(UpstreamError::Status(status, body)),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn send(
        &self,
        session: &Session,
        message: &Value,
        ctx: &CallCtx,
    ) -> Result<http::Response<Incoming>, UpstreamError> {
        let body = serde_json::to_vec(message).expect("JSON serializes");
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json, text/event-stream");
        let headers = request.headers_mut().expect("builder is valid");
        headers.extend(self.headers.clone());
        if let Some(id) = &session.id {
            headers.insert(
                "mcp-session-id",
                HeaderValue::from_str(id)
                    .map_err(|_| UpstreamError::Protocol("bad session id".into()))?,
            );
        }
        if message.get("method").and_then(Value::as_str) != Some("initialize") {
            headers.insert(
                "mcp-protocol-version",
                HeaderValue::from_str(&session.version).expect("version is ASCII"),
            );
        }
        if session.version == version::STATELESS
            && let Some(method) = message.get("method").and_then(Value::as_str)
        {
            headers.insert(
                "mcp-method",
                HeaderValue::from_str(method)
                    .map_err(|_| UpstreamError::Protocol("bad method".into()))?,
            );
            if let Some(name) = crate::mcp::protocol::methods::target_param(method)
                .and_then(|key| message["params"][key].as_str())
                && let Ok(value) = HeaderValue::from_str(&version::encode_header_value(name))
            {
                headers.insert("mcp-name", value);
            }
        }
        ctx.add_caller_headers(headers, self.forward_authorization);
        // W3C trace context of the attempt's client span (set by the relay around this call).
        crate::core::telemetry::tracing::inject_current(headers);
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| UpstreamError::of_request(&e))?;
        let status = response.status();
        crate::core::telemetry::tracing::record_status(status.as_u16());
        if !status.is_success() {
            let body = read_limited(response.into_body(), 4096)
                .await
                .unwrap_or_default();
            return Err(UpstreamError::Status(
                status.as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        Ok(response)
    }

    /// The reply to `message` (none for a notification). A reply with another id is never taken for it:
    /// on a stream it is dropped (see [`Unasked`] for what else is), as a whole body it is a protocol
    /// error.
    async fn read_reply(
        &self,
        response: http::Response<Incoming>,
        ctx: &CallCtx,
        message: &Value,
    ) -> Result<Option<Reply>, UpstreamError> {
        let request = &message["id"];
        let is_sse = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        let session_id = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if response.status() == http::StatusCode::ACCEPTED {
            return Ok(None);
        }
        let mut body = response.into_body();
        if !is_sse {
            let bytes = read_limited(body, MAX_REPLY).await?;
            if bytes.is_empty() {
                return Ok(None);
            }
            let text = String::from_utf8(bytes)
                .map_err(|e| UpstreamError::Protocol(format!("reply is not UTF-8: {e}")))?;
            let reply = Reply::parse(text)
                .map_err(|e| UpstreamError::Protocol(format!("reply is not JSON: {e}")))?;
            if !reply.answers(request) {
                return Err(UpstreamError::Protocol(format!(
                    "the reply's id is not the request's ({request})"
                )));
            }
            return Ok(Some(reply));
        }
        let mut parser = sse::Parser::new(MAX_REPLY);
        let mut unasked = Unasked::new(&self.name, message);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| UpstreamError::Reset(error_chain(&e)))?;
            let Some(data) = frame.data_ref() else {
                continue;
            };
            let events = parser
                .push(data)
                .map_err(|_| UpstreamError::Protocol("SSE event too large".into()))?;
            for event in events {
                if event.data.trim().is_empty() {
                    continue;
                }
                let not_json = |e| UpstreamError::Protocol(format!("SSE data is not JSON: {e}"));
                let message = Reply::parse(event.data).map_err(not_json)?;
                if !message.has_method() {
                    if message.answers(request) {
                        return Ok(Some(message));
                    }
                    unasked.stray_reply();
                } else {
                    // Only a notification or request the caller may see is parsed whole.
                    let message = message.value();
                    let taken = match message.get("id") {
                        Some(_) => unasked.takes_request(),
                        None => unasked.takes_notification(&message),
                    };
                    if taken {
                        self.relay_event(message, ctx, session_id.clone());
                    }
                }
                // An upstream streaming messages as fast as it can must not keep this worker from other
                // routes: each one it sends costs it a turn in the queue.
                tokio::task::yield_now().await;
            }
        }
        Err(UpstreamError::Protocol(
            "event stream ended before the reply".into(),
        ))
    }

    /// Hands a notification or server-to-client request to the caller; a request nobody can answer gets an
    /// error reply so the upstream does not wait forever.
    fn relay_event(&self, message: Value, ctx: &CallCtx, session_id: Option<String>) {
        if message.get("id").is_none() {
            if message["method"]
                .as_str()
                .is_some_and(|m| m.ends_with("/list_changed"))
            {
                self.changed.notify_one();
            }
            if let Some(events) = &ctx.events {
                let _ = events.try_send(UpstreamEvent::Notification(message));
            }
            return;
        }
        let id = message["id"].clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let delivered = ctx.events.as_ref().is_some_and(|events| {
            events
                .try_send(UpstreamEvent::Request { message, reply: tx })
                .is_ok()
        });
        let session = Session {
            id: session_id,
            version: ctx
                .sealed_session
                .as_ref()
                .map_or(version::LATEST_SESSION.to_string(), |c| c.version.clone()),
        };
        let (uri, client, headers) = (self.uri.clone(), self.client.clone(), self.headers.clone());
        tokio::spawn(async move {
            let reply = match delivered {
                true => rx.await.unwrap_or_else(|_| {
                    jsonrpc::error(&id, jsonrpc::INTERNAL_ERROR, "the caller went away")
                }),
                false => jsonrpc::error(
                    &id,
                    jsonrpc::METHOD_NOT_FOUND,
                    "the caller cannot answer server-to-client requests on this connection",
                ),
            };
            post_reply(uri, &client, headers, session, reply).await;
        });
    }

    /// Answers a server-to-client request the upstream sent on the GET stream of `ctx`'s session.
    pub async fn answer(&self, ctx: &CallCtx, reply: Value) {
        if let Ok(session) = self.session_for(ctx).await {
            post_reply(
                self.uri.clone(),
                &self.client,
                self.headers.clone(),
                session,
                reply,
            )
            .await;
        }
    }
}

/// POSTs the reply to one of the upstream's server-to-client requests on `session`.
async fn post_reply(
    uri: http::Uri,
    client: &HttpClient,
    headers: http::HeaderMap,
    session: Session,
    reply: Value,
) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, text/event-stream")
        .header("mcp-protocol-version", session.version);
    if let Some(id) = session.id {
        request = request.header("mcp-session-id", id);
    }
    let Ok(mut request) = request.body(Full::new(Bytes::from(reply.to_string()))) else {
        return;
    };
    request.headers_mut().extend(headers);
    let _ = client.request(request).await;
}

async fn read_limited(mut body: Incoming, limit: usize) -> Result<Vec<u8>, UpstreamError> {
    let too_large = || UpstreamError::Protocol(format!("reply larger than {limit} bytes"));
    // A declared length past the limit is refused before a byte of it is read.
    let declared = hyper::body::Body::size_hint(&body);
    if declared.lower() > limit as u64 {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(declared.exact().unwrap_or(0) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| UpstreamError::Reset(error_chain(&e)))?;
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > limit {
                return Err(too_large());
            }
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}
