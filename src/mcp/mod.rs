//! MCP: the gateway is a server to its clients and a client to its upstreams.

pub mod catalogue;
pub mod discovery;
mod exchange;
pub mod jsonrpc;
pub mod legacy_sse;
mod listen;
mod methods;
pub mod naming;
mod relay;
pub mod route;
pub mod schema;
pub mod session;
pub mod sse;
pub mod streamable;
mod subscriptions;
pub mod upstream;
pub mod version;

pub use route::McpRoute;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::config::Limits;
use crate::server::Caller;
use crate::server::body::{self, Body};

/// Serves one request under an MCP route: the Streamable HTTP endpoint at the route path, and the legacy
/// HTTP+SSE transport at `<route>/sse` + `<route>/message` (or a session-less GET on the route itself,
/// which is how 2024-11-05 clients probe).
pub async fn handle(
    route: &std::sync::Arc<McpRoute>,
    request: Request<Incoming>,
    caller: &Caller,
    limits: &Limits,
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
        (_, "") => streamable::handle(route, request, caller, limits).await,
        (Method::GET, "/sse") => legacy_sse::open(route, caller),
        (Method::POST, "/message") => {
            let query = request.uri().query().map(str::to_string);
            match streamable::read_body(request.into_body(), limits).await {
                Ok(bytes) => legacy_sse::post(route, query.as_deref(), &bytes, caller).await,
                Err(response) => response,
            }
        }
        _ => body::json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": format!("the MCP endpoint of this route is {}", route.path_prefix)}),
        ),
    }
}
