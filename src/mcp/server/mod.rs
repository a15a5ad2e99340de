//! The client side of the gateway: the Streamable HTTP endpoint at the route path (both eras), the legacy
//! HTTP+SSE transport, notification streams and sessions.

pub mod exchange;
pub mod follow;
pub mod legacy_sse;
pub mod listen;
pub mod session;
pub mod stateless;
pub mod streamable;
pub mod subscriptions;

use std::sync::Arc;

use crate::mcp::McpRoute;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::core::error::Error;
use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::jsonrpc::{self, Message};

/// Serves one request under an MCP route: the Streamable HTTP endpoint at the route path, and the legacy
/// HTTP+SSE transport at `<route>/sse` + `<route>/message` (or a session-less GET on the route itself,
/// which is how 2024-11-05 clients probe).
pub async fn handle(
    route: &Arc<McpRoute>,
    request: Request<Incoming>,
    caller: &Caller,
) -> Response<Body> {
    let prefix = route.path_prefix.trim_end_matches('/');
    let sub = request
        .uri()
        .path()
        .trim_end_matches('/')
        .strip_prefix(prefix)
        .unwrap_or("")
        .to_string();
    let headers = request.headers();
    let wants_sse = headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    match (request.method().clone(), sub.as_str()) {
        (Method::GET, "") if !headers.contains_key("mcp-session-id") && wants_sse => {
            legacy_sse::open(route, caller)
        }
        (_, "") => streamable::handle(route, request, caller).await,
        (Method::GET, "/sse") => legacy_sse::open(route, caller),
        (Method::POST, "/message") => {
            let query = request.uri().query().map(str::to_string);
            legacy_sse::post(route, query.as_deref(), request.into_body(), caller).await
        }
        _ => body::json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": format!("the MCP endpoint of this route is {}", route.path_prefix)}),
        ),
    }
}

/// A request body as one JSON-RPC message, within the route's body limits. The error carries the
/// message's id when it was readable, so the answer can name it.
async fn read_message(
    route: &McpRoute,
    incoming: Incoming,
) -> Result<Message, Box<(serde_json::Value, Error)>> {
    let refused = |e| Box::new((serde_json::Value::Null, e));
    let bytes = route
        .pipeline
        .body
        .read_json(incoming)
        .await
        .map_err(refused)?;
    let value = serde_json::from_slice(&bytes).map_err(|e| refused(Error::Parse(e.to_string())))?;
    Message::classify(value).map_err(|invalid| {
        let error = match invalid.code {
            jsonrpc::INVALID_PARAMS => Error::BadParams(invalid.message),
            _ => Error::InvalidRequest(invalid.message),
        };
        Box::new((invalid.id, error))
    })
}
