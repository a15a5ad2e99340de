//! Discovery documents, each filtered per caller like `tools/list` and `GET /agents`, and marked private to
//! the caller (`Cache-Control: private`, `Vary: Authorization`) so no shared cache hands one caller's
//! answer to another:
//! - `GET <MCP route>/server-card`: the route as one MCP server (SEP-2127's reserved location): its name,
//!   where to connect, its capabilities and the tools the caller may call;
//! - `GET /.well-known/ai-catalog.json`: every MCP route and A2A agent the caller may use, with where to
//!   connect and where its card is. A route the caller cannot authenticate to is left out.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use super::router::{RouteEntry, RouteTarget};
use crate::core::http::body::{self, Body};
use crate::core::http::forwarded::public_origin;
use crate::mcp::McpRoute;

pub const AI_CATALOG_PATH: &str = "/.well-known/ai-catalog.json";
pub const SERVER_CARD: &str = "/server-card";
const SERVER_CARD_SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json";

/// Whether `path` asks an MCP route at `prefix` for its server card.
pub fn is_server_card(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix.trim_end_matches('/')) == Some(SERVER_CARD)
}

/// The tool definitions of `route` that `principal` may see, as `tools/list` gives them.
fn visible_tools(route: &McpRoute, principal: &str) -> Vec<Value> {
    let catalogue = route.catalogue.load_full();
    match route.view(&catalogue, principal) {
        None => catalogue
            .tools
            .iter()
            .map(|t| t.definition.clone())
            .collect(),
        Some(view) => view
            .tools
            .iter()
            .map(|&i| catalogue.tools[i].definition.clone())
            .collect(),
    }
}

pub fn server_card(
    route: &McpRoute,
    principal: Option<&str>,
    headers: &HeaderMap,
) -> Response<Body> {
    let tools = visible_tools(route, principal.unwrap_or(""));
    let card = json!({
        "$schema": SERVER_CARD_SCHEMA,
        "name": route.name,
        "version": env!("CARGO_PKG_VERSION"),
        "description": format!("MCP route {} of Agent Gateway: the tools of its upstreams this caller may call", route.name),
        "remotes": [{"type": "streamable-http", "url": format!("{}{}", public_origin(headers), route.path_prefix)}],
        "capabilities": {"tools": {"listChanged": true}, "prompts": {"listChanged": true}, "resources": {"listChanged": true, "subscribe": true}},
        "tools": tools,
    });
    private(body::json(StatusCode::OK, &card))
}

/// The routes and agents a caller may use. Each route authenticates the request as it would its own
/// (its `jwt-authn`, or the peer's certificate, `peer`); a route it fails on is left out.
pub async fn ai_catalog(
    routes: &[RouteEntry],
    headers: &HeaderMap,
    peer: Option<String>,
) -> Response<Body> {
    let origin = public_origin(headers);
    let (mut servers, mut agents) = (Vec::new(), Vec::new());
    for route in routes {
        let Ok(caller) = route.target.pipeline().admit(headers, peer.clone()).await else {
            continue;
        };
        let principal = caller.principal;
        match &route.target {
            RouteTarget::Mcp(mcp) => {
                if visible_tools(mcp, principal.as_deref().unwrap_or("")).is_empty() {
                    continue;
                }
                let url = format!("{origin}{}", mcp.path_prefix);
                servers.push(json!({
                    "name": mcp.name,
                    "url": url,
                    "card": format!("{}{SERVER_CARD}", url.trim_end_matches('/')),
                }));
            }
            RouteTarget::A2a(a2a) => {
                for agent in a2a.agents_for(headers, principal.as_deref()).await {
                    let url = agent["url"].as_str().unwrap_or_default().to_string();
                    agents.push(json!({
                        "name": agent["name"],
                        "url": url,
                        "card": format!("{}/.well-known/agent-card.json", url.trim_end_matches('/')),
                    }));
                }
            }
        }
    }
    private(body::json(
        StatusCode::OK,
        &json!({"mcpServers": servers, "agents": agents}),
    ))
}

/// Marks an answer as the caller's own.
fn private(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Authorization"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_card_is_the_routes_own_sub_path() {
        assert!(is_server_card("/mcp/server-card", "/mcp"));
        assert!(is_server_card("/mcp/server-card", "/mcp/"));
        assert!(!is_server_card("/mcpx/server-card", "/mcp"));
        assert!(!is_server_card("/mcp/server-card/x", "/mcp"));
    }
}
