//! Talking to an agent: one request out, and its answer back with ids sealed, either as one JSON body or as
//! an event stream relayed event by event (each event is rewritten and sent on as soon as it is complete;
//! nothing waits for the stream to end).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use tokio::sync::mpsc;

use super::A2aRoute;
use super::agents::{Agent, Family};
use super::card;
use super::ids::IdMap;
use super::translate::Translation;
use crate::core::error::{Error, UpstreamError};
use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::http::sse;
use crate::core::telemetry::tracing::Attempt;

/// Largest JSON answer or single stream event accepted from an agent.
const MAX_REPLY: usize = 16 * 1024 * 1024;
/// How much of a failed answer's body is kept for the log.
const MAX_ERROR_BODY: usize = 4096;

/// Request headers passed to the agent. Everything else (notably `Authorization` and cookies) stays here:
/// the caller's credentials are for the gateway, not for the agent.
const FORWARDED_REQUEST: [&str; 5] = [
    "content-type",
    "accept",
    "a2a-version",
    "a2a-extensions",
    "x-a2a-extensions",
];
const FORWARDED_RESPONSE: [&str; 3] = ["a2a-version", "a2a-extensions", "x-a2a-extensions"];

#[derive(Clone, Copy)]
pub struct Timeouts {
    /// Until the agent's answer has started (and, for a JSON answer, ended).
    pub request: Duration,
    /// Longest silence on an event stream before the gateway ends it.
    pub idle: Duration,
}

/// How an answer is reshaped for the caller besides sealing its ids.
#[derive(Default)]
pub struct Reshape {
    /// Extended-card methods: the answer is a card, served as cards are.
    pub card: Option<CardRewrite>,
    /// The agent speaks the other protocol version.
    pub translation: Option<Translation>,
}

/// Rewrite the answer as an agent card (extended-card methods) rather than only sealing ids.
pub struct CardRewrite {
    /// The versions the agent's own card lists.
    pub families: Vec<Family>,
    pub base_path: String,
    pub public: String,
    /// JSON-RPC answers carry the card in `result`; HTTP+JSON answers are the card.
    pub in_result: bool,
}

/// The headers toward the agent: the protocol's own from the client's request, and those the gateway
/// derives from the caller's verified claims (`claimToHeaders`).
pub fn upstream_headers(from: &HeaderMap, caller: &Caller) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in FORWARDED_REQUEST {
        for value in from.get_all(name) {
            out.append(HeaderName::from_static(name), value.clone());
        }
    }
    add_caller_headers(&mut out, caller);
    out
}

/// Adds the headers derived from the caller's verified claims, replacing any of the same name.
pub fn add_caller_headers(headers: &mut HeaderMap, caller: &Caller) {
    for (name, value) in &caller.headers {
        headers.insert(name.clone(), value.clone());
    }
}

/// Sends one request to agent `name` through the route's upstream stage: the `timeout` policy bounds
/// it, `retry` tries again where `retryOn` allows (an answer with a status it names is a failure only
/// then; otherwise it is relayed as the agent sent it). One client span per attempt.
pub async fn send(
    route: &A2aRoute,
    agent: &Agent,
    name: &str,
    url: &str,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response<Incoming>, Error> {
    let policy = &route.pipeline.upstream;
    let operation = a2a_method(&method, url, &body);
    policy
        .run(
            name,
            route.timeouts.request,
            |_| {
                let span = Attempt::a2a(&operation);
                let request = Request::builder()
                    .method(method.clone())
                    .uri(url)
                    .body(Full::new(body.clone()));
                let mut request = match request {
                    Ok(r) => r,
                    Err(e) => {
                        let e = UpstreamError::Connect(format!("bad agent URL {url}: {e}"));
                        return (span, futures_util::future::Either::Left(async { Err(e) }));
                    }
                };
                *request.headers_mut() = headers.clone();
                for (name, value) in span.headers() {
                    request.headers_mut().insert(name, value);
                }
                let exchange = async move {
                    let response = agent
                        .client
                        .request(request)
                        .await
                        .map_err(|e| UpstreamError::of_request(&e))?;
                    let status = response.status().as_u16();
                    if policy.retries_status(status) {
                        let text = read_limited(response.into_body(), MAX_ERROR_BODY).await;
                        return Err(UpstreamError::Status(status, text));
                    }
                    Ok(response)
                };
                (span, futures_util::future::Either::Right(exchange))
            },
            |span, result| match result {
                Ok(response) => span.end(Some(response.status().as_u16()), None, None),
                Err(UpstreamError::Status(status, _)) => {
                    span.end(Some(*status), None, Some(format!("HTTP {status}")))
                }
                Err(e) => span.end(None, None, Some(e.to_string())),
            },
        )
        .await
}

/// Up to `limit` bytes of a body as text, for the log.
async fn read_limited(body: Incoming, limit: usize) -> String {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::from("(body larger than kept)"),
    }
}

/// The A2A method of a request: the JSON-RPC `method`, or for the HTTP+JSON binding the operation its
/// path names (`message:send` is `message/send`).
pub fn a2a_method(method: &Method, url: &str, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Rpc {
        method: Option<String>,
    }
    if let Ok(Rpc { method: Some(m) }) = serde_json::from_slice::<Rpc>(body) {
        return m;
    }
    let path = url.split('?').next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or("");
    match last.split_once(':') {
        Some((resource, verb)) if !resource.is_empty() => {
            let resource = if path.contains("/tasks/") && resource != "message" {
                "tasks"
            } else {
                resource
            };
            format!("{resource}/{verb}")
        }
        _ if path.contains("/tasks") => format!("tasks/{}", method.as_str().to_lowercase()),
        _ if path.ends_with("/card") || path.ends_with("extendedAgentCard") => {
            "agent/getAuthenticatedExtendedCard".into()
        }
        _ => format!("{method} {last}"),
    }
}

pub fn is_event_stream(response: &Response<Incoming>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"))
}

/// A JSON answer, read whole (bounded, within the route's timeout); `None` when the body is not JSON.
pub async fn read_json(
    route: &A2aRoute,
    name: &str,
    response: Response<Incoming>,
) -> Result<(StatusCode, HeaderMap, Option<Value>, Bytes), Error> {
    let failed = |source| Error::Upstream {
        backend: name.to_string(),
        source,
    };
    let (parts, body) = response.into_parts();
    let bytes = tokio::time::timeout(
        route.timeouts.request,
        Limited::new(body, MAX_REPLY).collect(),
    )
    .await
    .map_err(|_| Error::UpstreamTimeout {
        backend: name.to_string(),
    })?
    .map_err(|e| failed(UpstreamError::Reset(e.to_string())))?
    .to_bytes();
    let value = serde_json::from_slice(&bytes).ok();
    Ok((parts.status, parts.headers, value, bytes))
}

/// Relays the agent's answer to the client with every id sealed for the caller.
pub async fn relay(
    route: &A2aRoute,
    name: &str,
    response: Response<Incoming>,
    ids: IdMap,
    reshape: Reshape,
) -> Result<Response<Body>, Error> {
    let Reshape { card, translation } = reshape;
    let translated = translation.is_some();
    if is_event_stream(&response) {
        let headers = response.headers().clone();
        let mut out = stream(response.into_body(), ids, translation, route.timeouts.idle);
        copy_headers(&headers, out.headers_mut(), translated);
        return Ok(out);
    }
    let (mut status, headers, value, bytes) = read_json(route, name, response).await?;
    let mut out = match value {
        Some(mut value) => {
            if let Some(t) = &translation {
                status = t.reply(&mut value).unwrap_or(status);
            }
            ids.outbound(&mut value);
            if let Some(c) = card {
                let target = if c.in_result {
                    value.get_mut("result")
                } else {
                    Some(&mut value)
                };
                if let Some(target) = target.filter(|t| t.is_object()) {
                    *target = card::rewrite(target, &c.families, &c.base_path, &c.public).0;
                }
            }
            body::json(status, &value)
        }
        // Not JSON (an empty 204, a proxy's error page): passed on unchanged, it carries no ids we know of.
        None => {
            let mut r = Response::new(body::full(bytes));
            *r.status_mut() = status;
            if let Some(ct) = headers.get(header::CONTENT_TYPE) {
                r.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
            }
            r
        }
    };
    copy_headers(&headers, out.headers_mut(), translated);
    Ok(out)
}

/// The agent's protocol headers; its `A2A-Version` not when the answer was translated to the caller's.
fn copy_headers(from: &HeaderMap, to: &mut HeaderMap, translated: bool) {
    for name in FORWARDED_RESPONSE {
        if translated && name == "a2a-version" {
            continue;
        }
        if let Some(v) = from.get(name) {
            to.insert(HeaderName::from_static(name), v.clone());
        }
    }
}

fn stream(
    mut body: Incoming,
    ids: IdMap,
    translation: Option<Translation>,
    idle: Duration,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut parser = sse::Parser::new(MAX_REPLY);
        loop {
            let frame = tokio::select! {
                frame = tokio::time::timeout(idle, body.frame()) => frame,
                // The client went away: dropping the body closes the agent's stream too.
                _ = tx.closed() => return,
            };
            let frame = match frame {
                Ok(Some(Ok(frame))) => frame,
                Ok(None) => return,
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, "a2a: agent stream broke off");
                    return;
                }
                Err(_) => {
                    tracing::warn!(
                        idle_secs = idle.as_secs(),
                        "a2a: agent stream idle too long; closing it"
                    );
                    return;
                }
            };
            let Some(data) = frame.data_ref() else {
                continue;
            };
            let Ok(events) = parser.push(data) else {
                tracing::warn!("a2a: agent sent an oversized stream event; closing the stream");
                return;
            };
            for event in events {
                let data = match serde_json::from_str::<Value>(&event.data) {
                    Ok(mut value) => {
                        if let Some(t) = &translation {
                            t.reply(&mut value);
                        }
                        ids.outbound(&mut value);
                        value.to_string()
                    }
                    Err(_) => event.data,
                };
                let encoded = sse::encode(event.event.as_deref(), event.id.as_deref(), &data);
                if tx.send(encoded).await.is_err() {
                    return;
                }
            }
        }
    });
    body::sse(rx)
}
