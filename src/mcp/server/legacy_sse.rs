//! The HTTP+SSE transport of 2024-11-05, for clients that still use it (a KAgent `RemoteMCPServer` with
//! `protocol: SSE`): `GET <route>/sse` (or a GET on the route without a session) opens an event stream
//! whose first event names the POST endpoint; every POST there is answered 202 and its reply travels on
//! the stream. The session id in the endpoint URL is sealed like any other.

use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::http::sse;
use crate::core::jsonrpc::{self, Message};
use crate::mcp::dispatch;
use crate::mcp::relay;
use crate::mcp::route::McpRoute;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::server::session::{self, SessionClaims};

const VERSION: &str = "2024-11-05";
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Opens the stream and announces where to POST.
pub fn open(route: &Arc<McpRoute>, caller: &Caller) -> Response<Body> {
    let claims = SessionClaims {
        h: crate::core::seal::random_id(),
        sub: caller.principal.clone().unwrap_or_default(),
        r: route.name.clone(),
        v: VERSION.to_string(),
        exp: session::now() + route.session_ttl.as_secs(),
        up: Vec::new(),
        caps: None,
    };
    let token = session::seal(&route.sealer, &claims);
    let endpoint = format!(
        "{}/message?sessionId={token}",
        route.path_prefix.trim_end_matches('/')
    );
    let (tx, rx) = mpsc::channel::<String>(64);
    let _ = tx.try_send(sse::encode(Some("endpoint"), None, &endpoint));
    route
        .legacy_streams
        .lock()
        .unwrap()
        .insert(claims.h.clone(), tx.clone());
    let route = route.clone();
    let active = crate::core::telemetry::metrics::session_opened(&route.name);
    tokio::spawn(async move {
        let _active = active;
        // Keepalives also notice a client that went away, so its entry is dropped.
        loop {
            tokio::time::sleep(KEEPALIVE).await;
            if tx.send(": keepalive\n\n".to_string()).await.is_err() {
                route.legacy_streams.lock().unwrap().remove(&claims.h);
                return;
            }
        }
    });
    body::sse(rx)
}

/// Handles one POSTed message; the reply goes to the session's stream.
pub async fn post(
    route: &Arc<McpRoute>,
    query: Option<&str>,
    bytes: &[u8],
    caller: &Caller,
) -> Response<Body> {
    let token = query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("sessionId=")))
        .unwrap_or("");
    let principal = caller.principal.as_deref().unwrap_or("");
    let Ok(claims) = route
        .opened
        .open(&route.sealer, token, &route.name, principal)
    else {
        return body::json(
            StatusCode::NOT_FOUND,
            &jsonrpc::error(
                &Value::Null,
                jsonrpc::INVALID_REQUEST,
                "Session not found: open a new stream",
            ),
        );
    };
    let Some(stream) = route.legacy_streams.lock().unwrap().get(&claims.h).cloned() else {
        return body::json(
            StatusCode::NOT_FOUND,
            &jsonrpc::error(
                &Value::Null,
                jsonrpc::INVALID_REQUEST,
                "the event stream of this session is closed (or held by another replica)",
            ),
        );
    };
    let message = match serde_json::from_slice::<Value>(bytes)
        .map_err(|e| (jsonrpc::PARSE_ERROR, e.to_string()))
        .and_then(|v| Message::classify(v).map_err(|i| (i.code, i.message)))
    {
        Ok(m) => m,
        Err((code, text)) => {
            return body::json(
                StatusCode::BAD_REQUEST,
                &jsonrpc::error(&Value::Null, code, text),
            );
        }
    };
    let handle = claims.h.clone();
    let ex = Exchange {
        route,
        caller,
        mode: Mode::Session(claims),
        accepts_sse: true,
    };
    match message {
        // This transport predates the stateless revision: a client probing with server/discover learns
        // that here and falls back to initialize.
        Message::Request { id, method, .. } if method == "server/discover" => {
            let reply = jsonrpc::error(
                &id,
                jsonrpc::METHOD_NOT_FOUND,
                "server/discover is not available on the HTTP+SSE transport; use initialize",
            );
            let _ = stream
                .send(sse::encode(Some("message"), None, &reply.to_string()))
                .await;
        }
        Message::Request {
            id, method, params, ..
        } => match dispatch::dispatch(&ex, &id, &method, params).await {
            Answer::Raw { body, .. } => {
                let _ = stream
                    .send(sse::encode(
                        Some("message"),
                        None,
                        &String::from_utf8_lossy(&body),
                    ))
                    .await;
            }
            Answer::Json { body: reply, .. } | Answer::Limited { body: reply, .. } => {
                let _ = stream
                    .send(sse::encode(Some("message"), None, &reply.to_string()))
                    .await;
            }
            Answer::Stream(mut events) => {
                tokio::spawn(async move {
                    while let Some(event) = events.recv().await {
                        if stream.send(event).await.is_err() {
                            return;
                        }
                    }
                });
            }
        },
        Message::Response { id, body: reply } => {
            relay::deliver_reply(route, Some(&handle), &id, reply);
        }
        Message::Notification { .. } => {}
    }
    body::empty(StatusCode::ACCEPTED)
}
