//! The Streamable HTTP transport on the client side of the gateway: POST (both eras and plain sessionless
//! POSTs), GET (the session's notification stream) and DELETE. Transport errors are answered here with the
//! HTTP status the spec gives them; everything else goes to `methods`.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::config::Limits;
use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::jsonrpc::{self, Message};
use crate::core::telemetry::metrics::{self, ErrorType};
use crate::mcp::dispatch;
use crate::mcp::protocol::version;
use crate::mcp::relay;
use crate::mcp::route::McpRoute;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::server::listen;
use crate::mcp::server::session::{SessionClaims, SessionRejection};

const SESSION_HEADER: &str = "mcp-session-id";

pub async fn handle(
    route: &Arc<McpRoute>,
    request: Request<Incoming>,
    caller: &Caller,
    limits: &Limits,
) -> Response<Body> {
    match *request.method() {
        Method::POST => post(route, request, caller, limits).await,
        Method::GET => get(route, request.headers(), caller),
        Method::DELETE => delete(route, request.headers(), caller).await,
        _ => {
            let mut response = body::empty(StatusCode::METHOD_NOT_ALLOWED);
            response.headers_mut().insert(
                header::ALLOW,
                header::HeaderValue::from_static("GET, POST, DELETE"),
            );
            response
        }
    }
}

fn transport_error(
    status: StatusCode,
    id: &Value,
    code: i64,
    message: impl Into<String>,
) -> Response<Body> {
    body::json(status, &jsonrpc::error(id, code, message))
}

/// Reads a request body within the configured size limit (413 beyond it).
#[allow(clippy::result_large_err)]
pub async fn read_body(incoming: Incoming, limits: &Limits) -> Result<Bytes, Response<Body>> {
    match Limited::new(incoming, limits.max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(transport_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &Value::Null,
            jsonrpc::INVALID_REQUEST,
            format!(
                "Invalid Request: body larger than {} bytes",
                limits.max_body_bytes
            ),
        )),
        Err(_) => Err(transport_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            jsonrpc::PARSE_ERROR,
            "Parse error: the request body could not be read",
        )),
    }
}

/// Answers one POST and records it: the request metric, and an error metric for errors other than those
/// of `tools/call` (which its own metrics count).
async fn post(
    route: &Arc<McpRoute>,
    request: Request<Incoming>,
    caller: &Caller,
    limits: &Limits,
) -> Response<Body> {
    let start = std::time::Instant::now();
    let mut method = String::from("invalid");
    let response = post_message(route, request, caller, limits, &mut method).await;
    let principal = caller.principal.as_deref();
    metrics::request(
        &route.name,
        principal,
        &method,
        response.status().as_u16(),
        start.elapsed(),
    );
    if method != "tools/call"
        && let Some(body::ErrorCode(code)) = response.extensions().get::<body::ErrorCode>()
    {
        metrics::error(&route.name, error_type(*code, response.status()));
    }
    response
}

/// The metric's error type of a JSON-RPC error code.
fn error_type(code: i64, status: StatusCode) -> ErrorType {
    match code {
        jsonrpc::PARSE_ERROR => ErrorType::ParseError,
        jsonrpc::INVALID_REQUEST if status == StatusCode::NOT_FOUND => ErrorType::SessionNotFound,
        jsonrpc::INVALID_REQUEST if status == StatusCode::UNAUTHORIZED => {
            ErrorType::Unauthenticated
        }
        jsonrpc::INVALID_REQUEST if status == StatusCode::FORBIDDEN => ErrorType::Forbidden,
        jsonrpc::INVALID_REQUEST => ErrorType::InvalidRequest,
        jsonrpc::METHOD_NOT_FOUND => ErrorType::MethodNotFound,
        jsonrpc::INVALID_PARAMS => ErrorType::InvalidParams,
        jsonrpc::HEADER_MISMATCH | jsonrpc::UNSUPPORTED_PROTOCOL_VERSION => {
            ErrorType::ProtocolVersion
        }
        jsonrpc::RATE_LIMITED => ErrorType::RateLimited,
        jsonrpc::UPSTREAM_TIMEOUT => ErrorType::UpstreamTimeout,
        jsonrpc::UPSTREAM_ERROR => ErrorType::UpstreamUnavailable,
        _ => ErrorType::Internal,
    }
}

async fn post_message(
    route: &Arc<McpRoute>,
    request: Request<Incoming>,
    caller: &Caller,
    limits: &Limits,
    method_seen: &mut String,
) -> Response<Body> {
    let (parts, incoming) = request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return transport_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &Value::Null,
            jsonrpc::INVALID_REQUEST,
            "Invalid Request: Content-Type must be application/json",
        );
    }
    let bytes = match read_body(incoming, limits).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    if jsonrpc::nesting_depth(&bytes) > limits.max_json_depth {
        return transport_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            jsonrpc::INVALID_REQUEST,
            format!(
                "Invalid Request: JSON nested deeper than {} levels",
                limits.max_json_depth
            ),
        );
    }
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                jsonrpc::PARSE_ERROR,
                format!("Parse error: {e}"),
            );
        }
    };
    let message = match Message::classify(value) {
        Ok(m) => {
            if let Message::Request { method, params, .. }
            | Message::Notification { method, params } = &m
            {
                method_seen.clone_from(method);
                // Names the request's span and access-log line (e.g. `tools/call get_weather_data`).
                let target = version::name_param(method)
                    .and_then(|k| params.get(k))
                    .and_then(Value::as_str);
                crate::core::telemetry::tracing::note_method(method, target);
            }
            m
        }
        Err(invalid) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                &invalid.id,
                invalid.code,
                invalid.message,
            );
        }
    };
    let accepts_sse = parts
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));

    let mode = match mode_of(route, &parts.headers, &message, caller) {
        Ok(mode) => mode,
        Err(response) => return response,
    };
    let ex = Exchange {
        route,
        caller,
        mode,
        accepts_sse,
    };
    match message {
        Message::Request {
            id, method, params, ..
        } => {
            let answer = dispatch::dispatch(&ex, &id, &method, params).await;
            into_response(answer)
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
                transport_error(
                    StatusCode::BAD_REQUEST,
                    &id,
                    jsonrpc::INVALID_REQUEST,
                    "Invalid Request: no pending request has this id",
                )
            }
        }
    }
}

/// Which era a POST belongs to, with the header checks each era requires.
#[allow(clippy::result_large_err)]
fn mode_of(
    route: &McpRoute,
    headers: &HeaderMap,
    message: &Message,
    caller: &Caller,
) -> Result<Mode, Response<Body>> {
    let (id, method, params) = match message {
        Message::Request {
            id, method, params, ..
        } => (id.clone(), Some(method.as_str()), Some(params)),
        _ => (Value::Null, None, None),
    };
    let header_version = headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok());
    let meta_version = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(version::META_PROTOCOL_VERSION))
        .and_then(Value::as_str);

    if method == Some("initialize") {
        return Ok(Mode::Sessionless);
    }
    if let Some(token) = headers.get(SESSION_HEADER) {
        let token = token.to_str().unwrap_or("");
        return match open_session(route, token, caller) {
            Ok(claims) => {
                if let Some(v) = header_version
                    && !version::is_supported(v)
                {
                    return Err(transport_error(
                        StatusCode::BAD_REQUEST,
                        &id,
                        jsonrpc::INVALID_REQUEST,
                        format!("Invalid Request: unsupported MCP-Protocol-Version {v}"),
                    ));
                }
                Ok(Mode::Session(claims))
            }
            Err(response) => Err(response),
        };
    }
    if meta_version.is_some() || method == Some("server/discover") {
        let Some(meta_version) = meta_version else {
            return Err(transport_error(
                StatusCode::BAD_REQUEST,
                &id,
                jsonrpc::INVALID_PARAMS,
                format!(
                    "Invalid params: request _meta must carry {} and {}",
                    version::META_PROTOCOL_VERSION,
                    version::META_CLIENT_CAPABILITIES
                ),
            ));
        };
        if !version::is_supported(meta_version) {
            let error = jsonrpc::error_with_data(
                &id,
                jsonrpc::UNSUPPORTED_PROTOCOL_VERSION,
                format!("Unsupported protocol version {meta_version}"),
                json!({"supported": version::all()}),
            );
            return Err(body::json(StatusCode::BAD_REQUEST, &error));
        }
        check_stateless_headers(headers, &id, method.unwrap_or(""), params, meta_version)?;
        return Ok(Mode::Stateless);
    }
    match header_version {
        Some(v) if v == version::STATELESS => Err(transport_error(
            StatusCode::BAD_REQUEST,
            &id,
            jsonrpc::INVALID_PARAMS,
            format!(
                "Invalid params: request _meta must carry {}",
                version::META_PROTOCOL_VERSION
            ),
        )),
        Some(v) if !version::is_supported(v) => Err(transport_error(
            StatusCode::BAD_REQUEST,
            &id,
            jsonrpc::INVALID_REQUEST,
            format!("Invalid Request: unsupported MCP-Protocol-Version {v}"),
        )),
        _ => Ok(Mode::Sessionless),
    }
}

/// 2026-07-28: the version header, `Mcp-Method` and `Mcp-Name` must agree with the body (-32020), so that
/// intermediaries routing on headers see the request that actually runs.
#[allow(clippy::result_large_err)]
fn check_stateless_headers(
    headers: &HeaderMap,
    id: &Value,
    method: &str,
    params: Option<&Value>,
    meta_version: &str,
) -> Result<(), Response<Body>> {
    let mismatch = |message: String| {
        transport_error(
            StatusCode::BAD_REQUEST,
            id,
            jsonrpc::HEADER_MISMATCH,
            message,
        )
    };
    let single = |name: &str| -> Result<Option<&str>, Response<Body>> {
        let mut values = headers.get_all(name).iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(mismatch(format!("duplicate {name} header")));
        }
        first
            .map(|v| {
                v.to_str()
                    .map_err(|_| mismatch(format!("{name} header is not valid text")))
            })
            .transpose()
    };
    match single("mcp-protocol-version")? {
        Some(v) if v == meta_version => {}
        Some(v) => {
            return Err(mismatch(format!(
                "MCP-Protocol-Version header ({v}) does not match _meta protocolVersion ({meta_version})"
            )));
        }
        None => return Err(mismatch("MCP-Protocol-Version header is required".into())),
    }
    match single("mcp-method")? {
        Some(m) if m == method => {}
        Some(m) => {
            return Err(mismatch(format!(
                "Mcp-Method header ({m}) does not match the body method ({method})"
            )));
        }
        None => return Err(mismatch("Mcp-Method header is required".into())),
    }
    if let Some(key) = version::name_param(method) {
        let expected = params
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .unwrap_or("");
        match single("mcp-name")?.map(version::decode_header_value) {
            Some(Some(n)) if n == expected => {}
            Some(Some(n)) => {
                return Err(mismatch(format!(
                    "Mcp-Name header ({n}) does not match params.{key} ({expected})"
                )));
            }
            Some(None) => return Err(mismatch("Mcp-Name header is not valid base64".into())),
            None => {
                return Err(mismatch(format!(
                    "Mcp-Name header is required for {method}"
                )));
            }
        }
    }
    let has_caps = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(version::META_CLIENT_CAPABILITIES))
        .is_some_and(Value::is_object);
    if !has_caps {
        return Err(transport_error(
            StatusCode::BAD_REQUEST,
            id,
            jsonrpc::INVALID_PARAMS,
            format!(
                "Invalid params: request _meta is missing {}",
                version::META_CLIENT_CAPABILITIES
            ),
        ));
    }
    Ok(())
}

/// A session id that is not ours, expired, closed, or bound to someone else is answered alike: 404, so
/// the client starts a new session and learns nothing about whose it was.
#[allow(clippy::result_large_err)]
fn open_session(
    route: &McpRoute,
    token: &str,
    caller: &Caller,
) -> Result<Arc<SessionClaims>, Response<Body>> {
    let principal = caller.principal.as_deref().unwrap_or("");
    let rejection = match route
        .opened
        .open(&route.sealer, token, &route.name, principal)
    {
        Ok(claims) if !route.revoked.lock().unwrap().contains(&claims.h) => return Ok(claims),
        Ok(_) => "closed",
        Err(SessionRejection::Expired) => "expired",
        Err(SessionRejection::Foreign) => "bound to another caller",
        Err(SessionRejection::Invalid) => "not issued by this gateway",
    };
    tracing::info!(route = %route.name, reason = rejection, "session id refused");
    Err(transport_error(
        StatusCode::NOT_FOUND,
        &Value::Null,
        jsonrpc::INVALID_REQUEST,
        "Session not found: start a new session with initialize",
    ))
}

fn into_response(answer: Answer) -> Response<Body> {
    match answer {
        Answer::Json {
            status,
            body: value,
            session,
        } => {
            let mut response = body::json(status, &value);
            if let Some(token) = session.and_then(|t| header::HeaderValue::from_str(&t).ok()) {
                response.headers_mut().insert(SESSION_HEADER, token);
            }
            response
        }
        Answer::Stream(rx) => body::sse(rx),
        Answer::Raw {
            status,
            body: bytes,
        } => body::json_bytes(status, bytes),
        Answer::Limited {
            body: value,
            retry_after,
        } => {
            let mut response = body::json(StatusCode::TOO_MANY_REQUESTS, &value);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
            response
        }
    }
}

/// GET opens the session's stream of server notifications (list changes).
fn get(route: &Arc<McpRoute>, headers: &HeaderMap, caller: &Caller) -> Response<Body> {
    let Some(token) = headers.get(SESSION_HEADER) else {
        let mut response = transport_error(
            StatusCode::METHOD_NOT_ALLOWED,
            &Value::Null,
            jsonrpc::INVALID_REQUEST,
            "GET needs an Mcp-Session-Id (start a session with a POST initialize)",
        );
        response.headers_mut().insert(
            header::ALLOW,
            header::HeaderValue::from_static("POST, DELETE"),
        );
        return response;
    };
    let claims = match open_session(route, token.to_str().unwrap_or(""), caller) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let filter = listen::Filter {
        lists: vec!["tools", "prompts", "resources"],
        session: Some(claims.h.clone()),
        subscription_id: None,
    };
    body::sse(listen::stream(route.clone(), filter, None))
}

/// DELETE ends a session: its upstream sessions are closed and its id refused from then on.
async fn delete(route: &Arc<McpRoute>, headers: &HeaderMap, caller: &Caller) -> Response<Body> {
    let Some(token) = headers.get(SESSION_HEADER) else {
        return transport_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            jsonrpc::INVALID_REQUEST,
            "DELETE needs an Mcp-Session-Id",
        );
    };
    let claims = match open_session(route, token.to_str().unwrap_or(""), caller) {
        Ok(c) => c,
        Err(response) => return response,
    };
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
    let mut revoked = route.revoked.lock().unwrap();
    // Bounded: ids expire anyway, this only makes a DELETE take effect at once on this replica.
    if revoked.len() > 100_000 {
        revoked.clear();
    }
    revoked.insert(claims.h.clone());
    body::empty(StatusCode::OK)
}
