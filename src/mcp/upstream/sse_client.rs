//! Upstreams on the 2024-11-05 HTTP+SSE transport (`mcp.protocol: sse`): a GET opens an event stream
//! whose first event names the POST endpoint; replies to POSTed requests come back on the stream. Each
//! caller gets its own stream and upstream session (never shared), opened on first use and dropped when
//! it dies or is evicted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

use super::http::HttpSettings;
use super::one_request::OneRequest;
use super::{CallCtx, EventSink, SessionCache, UpstreamError, UpstreamEvent};
use crate::core::error::error_chain;
use crate::core::http::client::HttpClient;
use crate::core::{http::sse, jsonrpc};
use crate::mcp::protocol::version;

const MAX_EVENT: usize = 16 * 1024 * 1024;
const STREAMS_PER_UPSTREAM: usize = 1_000;

pub struct SseUpstream {
    pub name: String,
    stream_uri: Uri,
    client: HttpClient,
    headers: HeaderMap,
    forward_authorization: bool,
    connections: SessionCache<Arc<Connection>>,
    /// One-request callers' streams, each closed when its request ends.
    one_request: OneRequest<Arc<Connection>>,
    pub changed: Arc<Notify>,
}

/// One caller's stream: where to POST, and the calls waiting for their replies.
struct Connection {
    post_uri: Uri,
    pending: Mutex<HashMap<u64, Waiting>>,
    next_id: AtomicU64,
    alive: AtomicBool,
    reader: tokio::task::AbortHandle,
}

struct Waiting {
    reply: oneshot::Sender<Value>,
    events: Option<EventSink>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl SseUpstream {
    pub fn new(settings: HttpSettings) -> Result<SseUpstream, String> {
        let (stream_uri, headers) = settings.parse()?;
        Ok(SseUpstream {
            name: settings.name,
            stream_uri,
            client: settings.client,
            headers,
            forward_authorization: settings.forward_authorization,
            connections: SessionCache::new(STREAMS_PER_UPSTREAM),
            one_request: OneRequest::default(),
            changed: Arc::default(),
        })
    }

    pub async fn request(
        &self,
        ctx: &CallCtx,
        method: &str,
        mut params: Value,
    ) -> Result<Value, UpstreamError> {
        version::strip_stateless_meta(&mut params);
        let connection = self.connection(ctx).await?;
        let id = connection.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = &ctx.upstream_id {
            let _ = slot.set(json!(id));
        }
        let (tx, rx) = oneshot::channel();
        connection.pending.lock().unwrap().insert(
            id,
            Waiting {
                reply: tx,
                events: ctx.events.clone(),
            },
        );
        let sent = self
            .post(
                &connection,
                &jsonrpc::request(&json!(id), method, params),
                ctx,
            )
            .await;
        if let Err(e) = sent {
            connection.pending.lock().unwrap().remove(&id);
            return Err(e);
        }
        rx.await.map_err(|_| {
            UpstreamError::Connect("the upstream's event stream closed before the reply".into())
        })
    }

    pub async fn notify(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<(), UpstreamError> {
        let connection = self.connection(ctx).await?;
        self.post(&connection, &jsonrpc::notification(method, params), ctx)
            .await
    }

    async fn connection(&self, ctx: &CallCtx) -> Result<Arc<Connection>, UpstreamError> {
        if ctx.one_request {
            return self
                .one_request
                .get_or_make(&ctx.caller_key, || self.open(ctx))
                .await;
        }
        if let Some(c) = self
            .connections
            .get(&ctx.caller_key)
            .filter(|c| c.alive.load(Ordering::Acquire))
        {
            return Ok(c);
        }
        let connection = self.open(ctx).await?;
        self.connections.insert(&ctx.caller_key, connection.clone());
        Ok(connection)
    }

    pub fn end_one_request(&self, ctx: &CallCtx) {
        self.one_request.end(&ctx.caller_key);
    }

    /// Opens the stream, waits for the endpoint event, then runs the initialize handshake over it.
    async fn open(&self, ctx: &CallCtx) -> Result<Arc<Connection>, UpstreamError> {
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(self.stream_uri.clone())
            .header(http::header::ACCEPT, "text/event-stream");
        request
            .headers_mut()
            .expect("builder is valid")
            .extend(self.headers.clone());
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| UpstreamError::Connect(error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(UpstreamError::Status(
                response.status().as_u16(),
                "the SSE endpoint refused the stream".into(),
            ));
        }
        let mut body = response.into_body();
        let mut parser = sse::Parser::new(MAX_EVENT);
        let mut early = Vec::new();
        let endpoint = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| UpstreamError::Connect(error_chain(&e)))?;
                let Some(data) = frame.data_ref() else {
                    continue;
                };
                for event in parser
                    .push(data)
                    .map_err(|_| UpstreamError::Protocol("SSE event too large".into()))?
                {
                    if event.event.as_deref() == Some("endpoint") {
                        return Ok(event.data);
                    }
                    early.push(event);
                }
            }
            Err(UpstreamError::Protocol(
                "the stream ended before announcing its endpoint".into(),
            ))
        })
        .await
        .map_err(|_| UpstreamError::Timeout)??;
        let post_uri = resolve(&self.stream_uri, endpoint.trim())?;
        let (ready_tx, ready_rx) = oneshot::channel::<Arc<Connection>>();
        let (changed, client, headers) = (
            self.changed.clone(),
            self.client.clone(),
            self.headers.clone(),
        );
        let reader = tokio::spawn(async move {
            let Ok(connection) = ready_rx.await else {
                return;
            };
            let mut events = early;
            loop {
                for event in events.drain(..) {
                    if let Ok(message) = serde_json::from_str::<Value>(&event.data) {
                        dispatch(&connection, message, &changed, &client, &headers).await;
                    }
                }
                match body.frame().await {
                    Some(Ok(frame)) => match frame.data_ref().map(|d| parser.push(d)) {
                        Some(Ok(more)) => events = more,
                        Some(Err(_)) => break,
                        None => {}
                    },
                    _ => break,
                }
            }
            connection.alive.store(false, Ordering::Release);
            connection.pending.lock().unwrap().clear();
        });
        let connection = Arc::new(Connection {
            post_uri,
            pending: Mutex::default(),
            next_id: AtomicU64::new(1),
            alive: AtomicBool::new(true),
            reader: reader.abort_handle(),
        });
        let _ = ready_tx.send(connection.clone());
        self.initialize(&connection, ctx).await?;
        Ok(connection)
    }

    async fn initialize(
        &self,
        connection: &Connection,
        ctx: &CallCtx,
    ) -> Result<(), UpstreamError> {
        let id = connection.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        connection.pending.lock().unwrap().insert(
            id,
            Waiting {
                reply: tx,
                events: None,
            },
        );
        let params = json!({
            "protocolVersion": version::LATEST_SESSION,
            "capabilities": ctx.client_capabilities.clone().unwrap_or_else(|| json!({})),
            "clientInfo": {"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")},
        });
        self.post(
            connection,
            &jsonrpc::request(&json!(id), "initialize", params),
            ctx,
        )
        .await?;
        let reply = tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .map_err(|_| UpstreamError::Timeout)?
            .map_err(|_| UpstreamError::Connect("the stream closed during initialize".into()))?;
        if let Some(error) = reply.get("error") {
            return Err(UpstreamError::Protocol(format!(
                "initialize refused: {error}"
            )));
        }
        self.post(
            connection,
            &jsonrpc::notification("notifications/initialized", Value::Null),
            ctx,
        )
        .await
    }

    async fn post(
        &self,
        connection: &Connection,
        message: &Value,
        ctx: &CallCtx,
    ) -> Result<(), UpstreamError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(connection.post_uri.clone())
            .header(http::header::CONTENT_TYPE, "application/json");
        let headers = request.headers_mut().expect("builder is valid");
        headers.extend(self.headers.clone());
        ctx.add_caller_headers(headers, self.forward_authorization);
        let request = request
            .body(Full::new(Bytes::from(message.to_string())))
            .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| UpstreamError::of_request(&e))?;
        if !response.status().is_success() {
            return Err(UpstreamError::Status(
                response.status().as_u16(),
                "the upstream refused the message".into(),
            ));
        }
        Ok(())
    }
}

/// The endpoint event may carry a path or a full URL; a path is relative to the stream's origin.
fn resolve(stream: &Uri, endpoint: &str) -> Result<Uri, UpstreamError> {
    let bad = |e: String| UpstreamError::Protocol(format!("bad endpoint {endpoint}: {e}"));
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        return endpoint
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(e.to_string()));
    }
    let authority = stream
        .authority()
        .ok_or_else(|| bad("stream URL has no host".into()))?;
    let scheme = stream.scheme_str().unwrap_or("http");
    format!("{scheme}://{authority}{endpoint}")
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(e.to_string()))
}

/// Routes one message of a caller's stream: replies to their waiting call; notifications and
/// server-to-client requests to that caller's calls (the stream is the caller's own).
async fn dispatch(
    connection: &Connection,
    message: Value,
    changed: &Notify,
    client: &HttpClient,
    headers: &HeaderMap,
) {
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_string);
    match (method, message.get("id").cloned()) {
        (None, Some(id)) => {
            if let Some(waiting) = id
                .as_u64()
                .and_then(|id| connection.pending.lock().unwrap().remove(&id))
            {
                let _ = waiting.reply.send(message);
            }
        }
        (Some(method), None) => {
            if method.ends_with("/list_changed") {
                changed.notify_one();
            }
            for sink in connection
                .pending
                .lock()
                .unwrap()
                .values()
                .filter_map(|w| w.events.as_ref())
            {
                let _ = sink.try_send(UpstreamEvent::Notification(message.clone()));
            }
        }
        (Some(_), Some(id)) => {
            let sink = connection
                .pending
                .lock()
                .unwrap()
                .values()
                .find_map(|w| w.events.clone());
            let (tx, rx) = oneshot::channel();
            let delivered = sink.is_some_and(|s| {
                s.try_send(UpstreamEvent::Request { message, reply: tx })
                    .is_ok()
            });
            let reply = if delivered {
                rx.await.unwrap_or_else(|_| {
                    jsonrpc::error(&id, jsonrpc::INTERNAL_ERROR, "the caller went away")
                })
            } else {
                jsonrpc::error(
                    &id,
                    jsonrpc::METHOD_NOT_FOUND,
                    "no caller can answer this request",
                )
            };
            let request = Request::builder()
                .method(Method::POST)
                .uri(connection.post_uri.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(reply.to_string())));
            if let Ok(mut request) = request {
                request.headers_mut().extend(headers.clone());
                let _ = client.request(request).await;
            }
        }
        (None, None) => {}
    }
}
