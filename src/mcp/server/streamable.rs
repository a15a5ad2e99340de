//! The Streamable HTTP transport on the client side of the gateway: POST (both eras and plain sessionless
//! POSTs), GET (the session's notification stream) and DELETE. Transport rules are checked here and broken
//! ones answered as typed errors; everything else goes to `dispatch`.

use std::sync::Arc;

use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::Value;

use crate::core::error::{self, Dialect, Error, ErrorCode};
use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::jsonrpc::Message;
use crate::core::telemetry::metrics;
use crate::mcp::dispatch;
use crate::mcp::protocol::{methods, version};
use crate::mcp::relay;
use crate::mcp::route::McpRoute;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::server::session::{SessionClaims, SessionRejection};
use crate::mcp::server::stateless;
use crate::mcp::server::{follow, listen};
use crate::mcp::state::MAX_STREAMS_PER_SESSION;

const SESSION_HEADER: &str = "mcp-session-id";

pub async fn handle(
    route: &Arc<McpRoute>,
    request: Request<Incoming>,
    caller: &Caller,
) -> Response<Body> {
    let outcome = match *request.method() {
        Method::POST => return post(route, request, caller).await,
        Method::GET => get(route, request.headers(), caller).await,
        Method::DELETE => delete(route, request.headers(), caller).await,
        _ => Err(Error::MethodNotAllowed {
            allow: "GET, POST, DELETE",
            reason: format!("{} is not an MCP method here", request.method()),
        }),
    };
    outcome.unwrap_or_else(|e| refuse(route, caller, &Value::Null, e, Dialect::McpSession))
}

/// The answer to a request refused before it reached `dispatch`: logged and counted once, here.
fn refuse(
    route: &McpRoute,
    caller: &Caller,
    id: &Value,
    error: Error,
    dialect: Dialect,
) -> Response<Body> {
    error.report(&route.name, caller.principal.as_deref());
    error::response(&error, id, dialect)
}

/// Answers one POST and records it: the request metric, and an error metric for errors other than those
/// of `tools/call` (which its own metrics count).
async fn post(
    route: &Arc<McpRoute>,
    request: Request<Incoming>,
    caller: &Caller,
) -> Response<Body> {
    let start = std::time::Instant::now();
    let mut method = String::from("invalid");
    let response = post_message(route, request, caller, &mut method).await;
    metrics::request(
        &route.name,
        caller.principal.as_deref(),
        methods::label(&method),
        response.status().as_u16(),
        start.elapsed(),
    );
    if method != "tools/call"
        && let Some(ErrorCode {
            metric: Some(metric),
            ..
        }) = response.extensions().get::<ErrorCode>()
    {
        metrics::error(&route.name, *metric);
    }
    response
}

async fn post_message(
    route: &Arc<McpRoute>,
    request: Request<Incoming>,
    caller: &Caller,
    method_seen: &mut String,
) -> Response<Body> {
    let (parts, incoming) = request.into_parts();
    let message = match read_post(route, &parts.headers, incoming).await {
        Ok(m) => m,
        Err(refused) => {
            let (id, e) = *refused;
            return refuse(route, caller, &id, e, Dialect::McpSession);
        }
    };
    if let Message::Request { method, params, .. } | Message::Notification { method, params } =
        &message
    {
        method_seen.clone_from(method);
        // Names the request's span and access-log line (e.g. `tools/call get_weather_data`).
        let target = methods::target(method, params);
        crate::core::telemetry::tracing::note_method(method, target);
    }
    let accepts_sse = parts
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    let mode = match mode_of(route, &parts.headers, &message, caller) {
        Ok(mode) => mode,
        // Errors of the 2026-07-28 header rules carry their HTTP status whatever the era claimed.
        Err(e) => return refuse(route, caller, message.id(), e, Dialect::McpStateless),
    };
    let ex = Exchange {
        route,
        caller,
        mode,
        accepts_sse,
    };
    match message {
        Message::Request { id, method, params } => {
            let answer = dispatch::dispatch(&ex, &id, &method, params).await;
            into_response(answer, ex.dialect())
        }
        Message::Notification { method, params } => {
            if method == "notifications/cancelled" {
                relay::cancel(&ex, &params["requestId"]);
            }
            tracing::debug!(route = %route.name, method, "notification accepted");
            body::empty(StatusCode::ACCEPTED)
        }
        Message::Response { id, body: reply } => {
            let session = match &ex.mode {
                Mode::Session(c) => Some(c.h.as_str()),
                _ => None,
            };
            if relay::deliver_reply(route, session, &id, reply) {
                body::empty(StatusCode::ACCEPTED)
            } else {
                let e = Error::InvalidRequest("no pending request has this id".into());
                refuse(route, caller, &id, e, ex.dialect())
            }
        }
    }
}

/// The body of a POST as one JSON-RPC message: JSON, within the route's limits; the error carries the
/// message's id when it was readable.
async fn read_post(
    route: &McpRoute,
    headers: &HeaderMap,
    incoming: Incoming,
) -> Result<Message, Box<(Value, Error)>> {
    // The media type whole, parameters aside: `application/jsonfoo` is not JSON.
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Box::new((Value::Null, Error::ContentType)));
    }
    super::read_message(route, incoming).await
}

/// Which era a POST belongs to, with the header checks each era requires.
fn mode_of(
    route: &McpRoute,
    headers: &HeaderMap,
    message: &Message,
    caller: &Caller,
) -> Result<Mode, Error> {
    let (method, params) = match message {
        Message::Request { method, params, .. } | Message::Notification { method, params } => {
            (Some(method.as_str()), Some(params))
        }
        Message::Response { .. } => (None, None),
    };
    let header_version = headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok());
    let meta_version = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(version::META_PROTOCOL_VERSION))
        .and_then(Value::as_str);
    let unsupported = |v: &str| Error::UnsupportedVersion {
        requested: v.to_string(),
        supported: version::all(),
    };

    // A session-era initialize; on the 2026-07-28 wire (with `_meta`) it is a removed method, answered below.
    if method == Some("initialize") && meta_version.is_none() {
        return Ok(Mode::Sessionless);
    }
    if let Some(token) = headers.get(SESSION_HEADER) {
        let claims = open_session(route, token.to_str().unwrap_or(""), caller)?;
        if let Some(v) = header_version
            && !version::is_supported(v)
        {
            return Err(unsupported(v));
        }
        return Ok(Mode::Session(claims));
    }
    if meta_version.is_some() || method == Some("server/discover") {
        stateless::check(headers, method.unwrap_or(""), params)?;
        return Ok(Mode::Stateless(stateless::askable_capabilities(params)));
    }
    match header_version {
        Some(v) if v == version::STATELESS => Err(Error::BadParams(format!(
            "request _meta must carry {}",
            version::META_PROTOCOL_VERSION
        ))),
        Some(v) if !version::is_supported(v) => Err(unsupported(v)),
        _ => Ok(Mode::Sessionless),
    }
}

/// A session id that is not ours, expired, closed, or bound to someone else is answered alike: 404, so
/// the client starts a new session and learns nothing about whose it was.
pub fn open_session(
    route: &McpRoute,
    token: &str,
    caller: &Caller,
) -> Result<Arc<SessionClaims>, Error> {
    let principal = caller.principal.as_deref().unwrap_or("");
    let reason = match route
        .state
        .opened
        .open(&route.sealer, token, &route.name, principal)
    {
        Ok(claims) if !route.state.is_revoked(&claims.h) => return Ok(claims),
        Ok(_) => "closed",
        Err(SessionRejection::Expired) => "expired",
        Err(SessionRejection::Foreign) => "bound to another caller",
        Err(SessionRejection::Invalid) => "not issued by this gateway",
    };
    Err(Error::SessionNotFound { reason })
}

fn into_response(answer: Answer, dialect: Dialect) -> Response<Body> {
    match answer {
        Answer::Json {
            status,
            body: value,
            session,
            upstream_error,
        } => {
            let mut response = body::json(status, &value);
            if let Some(token) = session.and_then(|t| header::HeaderValue::from_str(&t).ok()) {
                response.headers_mut().insert(SESSION_HEADER, token);
            }
            if let Some(code) = upstream_error {
                response
                    .extensions_mut()
                    .insert(ErrorCode { code, metric: None });
            }
            response
        }
        Answer::Stream(rx) => body::sse(rx),
        Answer::Listen(rx) => body::listening(rx),
        Answer::Raw {
            status,
            body: bytes,
            upstream_error,
        } => {
            let mut response = body::json_bytes(status, bytes);
            if let Some(code) = upstream_error {
                response
                    .extensions_mut()
                    .insert(ErrorCode { code, metric: None });
            }
            response
        }
        Answer::Failed { id, error } => error::response(&error, &id, dialect),
    }
}

/// GET opens the session's stream of server notifications (list changes).
/// The session's GET stream: list changes, its resource updates, and what its upstream sessions send on
/// their own GET streams (`follow`), which are open before this stream is answered.
async fn get(
    route: &Arc<McpRoute>,
    headers: &HeaderMap,
    caller: &Caller,
) -> Result<Response<Body>, Error> {
    let Some(token) = headers.get(SESSION_HEADER) else {
        return Err(Error::MethodNotAllowed {
            allow: "POST, DELETE",
            reason: "GET needs an Mcp-Session-Id (start a session with a POST initialize)".into(),
        });
    };
    let claims = open_session(route, token.to_str().unwrap_or(""), caller)?;
    let Some(slot) = route.state.open_stream(&claims.h) else {
        return Err(Error::Busy(format!(
            "this session has {MAX_STREAMS_PER_SESSION} notification streams open already; close one first"
        )));
    };
    let filter = listen::Filter {
        lists: vec!["tools", "prompts", "resources"],
        session: Some(claims.h.clone()),
        subscription_id: None,
        slot: Some(slot),
    };
    let stream = listen::stream(route.clone(), filter, None);
    let ex = Exchange {
        route,
        caller,
        mode: Mode::Session(claims),
        accepts_sse: true,
    };
    follow::follow_all(&ex).await;
    Ok(body::listening(stream))
}

/// DELETE ends a session: its upstream sessions are closed and its id refused from then on, on this
/// replica, until it would have expired anyway.
async fn delete(
    route: &Arc<McpRoute>,
    headers: &HeaderMap,
    caller: &Caller,
) -> Result<Response<Body>, Error> {
    let Some(token) = headers.get(SESSION_HEADER) else {
        return Err(Error::InvalidRequest(
            "DELETE needs an Mcp-Session-Id".into(),
        ));
    };
    let claims = open_session(route, token.to_str().unwrap_or(""), caller)?;
    let ex = Exchange {
        route,
        caller,
        mode: Mode::Session(claims.clone()),
        accepts_sse: false,
    };
    for backend in &route.backends {
        backend
            .upstream
            .close_session(&ex.call_ctx(backend.upstream.name(), None))
            .await;
    }
    route.state.revoke(&claims.h);
    if let Some(shared) = &route.revocations {
        shared.revoke(&route.name, &claims.h, claims.exp).await;
    }
    Ok(body::empty(StatusCode::OK))
}
