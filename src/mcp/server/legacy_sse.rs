//! The HTTP+SSE transport of 2024-11-05, for clients that still use it (a KAgent `RemoteMCPServer` with
//! `protocol: SSE`): `GET <route>/sse` (or a GET on the route without a session) opens an event stream
//! whose first event names the POST endpoint; every POST there is answered 202 and its reply travels on
//! the stream. The session id in the endpoint URL is sealed like any other.

use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::core::error::{self, Dialect, Error};
use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::http::sse;
use crate::core::jsonrpc::Message;
use crate::mcp::dispatch;
use crate::mcp::relay;
use crate::mcp::route::McpRoute;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::server::session::{self, SessionClaims};
use crate::mcp::state::MAX_LEGACY_STREAMS;

const VERSION: &str = "2024-11-05";
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Opens the stream and announces where to POST.
pub fn open(route: &Arc<McpRoute>, caller: &Caller) -> Response<Body> {
    if route.state.legacy_streams.len() >= MAX_LEGACY_STREAMS {
        let e = Error::Busy(format!(
            "this route holds {MAX_LEGACY_STREAMS} HTTP+SSE streams already; use Streamable HTTP"
        ));
        e.report(&route.name, caller.principal.as_deref());
        return error::response(&e, &Value::Null, Dialect::McpSession);
    }
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
        .state
        .legacy_streams
        .insert(claims.h.clone(), tx.clone());
    let route = route.clone();
    let active = crate::core::telemetry::metrics::session_opened(&route.name);
    tokio::spawn(async move {
        let _active = active;
        // Keepalives also notice a client that went away, so its entry is dropped.
        loop {
            tokio::time::sleep(KEEPALIVE).await;
            if tx.send(": keepalive\n\n".to_string()).await.is_err() {
                route.state.legacy_streams.remove(&claims.h);
                return;
            }
        }
    });
    // It only listens, though it carries the replies of POSTs: a shutdown ends it once they are answered.
    body::listening(rx)
}

/// Handles one POSTed message; the reply goes to the session's stream.
pub async fn post(
    route: &Arc<McpRoute>,
    query: Option<&str>,
    incoming: Incoming,
    caller: &Caller,
) -> Response<Body> {
    match accept(route, query, incoming, caller).await {
        Ok(()) => body::empty(StatusCode::ACCEPTED),
        Err(refused) => {
            let (id, e) = *refused;
            e.report(&route.name, caller.principal.as_deref());
            error::response(&e, &id, Dialect::McpSession)
        }
    }
}

async fn accept(
    route: &Arc<McpRoute>,
    query: Option<&str>,
    incoming: Incoming,
    caller: &Caller,
) -> Result<(), Box<(Value, Error)>> {
    let token = query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("sessionId=")))
        .unwrap_or("");
    let claims = super::streamable::open_session(route, token, caller)
        .map_err(|e| Box::new((Value::Null, e)))?;
    let stream = route
        .state
        .legacy_streams
        .get(&claims.h)
        .map(|s| s.clone())
        .ok_or_else(|| {
            let reason = "the event stream of this session is closed (or held by another replica)";
            Box::new((Value::Null, Error::SessionNotFound { reason }))
        })?;
    let message = super::read_message(route, incoming).await?;
    let handle = claims.h.clone();
    let ex = Exchange {
        route,
        caller,
        mode: Mode::Session(claims),
        accepts_sse: true,
    };
    let send = |message: String| {
        let stream = stream.clone();
        async move {
            let _ = stream
                .send(sse::encode(Some("message"), None, &message))
                .await;
        }
    };
    match message {
        // This transport predates the stateless revision: a client probing with server/discover learns
        // that here and falls back to initialize.
        Message::Request { id, method, .. } if method == "server/discover" => {
            let e = Error::MethodNotFound(
                "server/discover is not available on the HTTP+SSE transport; use initialize".into(),
            );
            send(error::body(&e, &id, Dialect::McpSession).to_string()).await;
        }
        Message::Request { id, method, params } => {
            match dispatch::dispatch(&ex, &id, &method, params).await {
                Answer::Raw { body, .. } => send(String::from_utf8_lossy(&body).into_owned()).await,
                Answer::Json { body: reply, .. } => send(reply.to_string()).await,
                Answer::Failed { id, error } => {
                    send(error::body(&error, &id, Dialect::McpSession).to_string()).await
                }
                Answer::Stream(mut events) | Answer::Listen(mut events) => {
                    tokio::spawn(async move {
                        while let Some(event) = events.recv().await {
                            if stream.send(event).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        }
        Message::Response { id, body: reply } => {
            relay::deliver_reply(route, Some(&handle), &id, reply);
        }
        Message::Notification { .. } => {}
    }
    Ok(())
}
