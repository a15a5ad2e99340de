//! `GET /.well-known/oauth-protected-resource/<route path>` (RFC 9728): for each route that authenticates
//! callers, MCP or A2A, where its tokens come from. A 401 from `jwt-authn` points clients here.

use http::{HeaderMap, Response, StatusCode};
use serde_json::json;

use super::router::RouteEntry;
use crate::core::error;
use crate::core::http::body::{self, Body};
use crate::core::http::forwarded::public_origin;
use crate::core::policy::authn::METADATA_PATH;

/// The metadata document `path` asks for, when it names a route that authenticates.
pub fn serve(path: &str, headers: &HeaderMap, routes: &[RouteEntry]) -> Option<Response<Body>> {
    let route_path = path.strip_prefix(METADATA_PATH)?;
    let route = routes.iter().find(|r| {
        r.prefix.trim_end_matches('/') == route_path.trim_end_matches('/')
            && r.target.pipeline().authn.is_some()
    })?;
    let pipeline = route.target.pipeline();
    if let Err(e) = pipeline.check_origin(headers) {
        e.report(&pipeline.route, None);
        return Some(error::response(
            &e,
            &serde_json::Value::Null,
            error::Dialect::McpSession,
        ));
    }
    let metadata = json!({
        "resource": format!("{}{}", public_origin(headers), route.prefix),
        "authorization_servers": pipeline.authn.iter().map(|a| &a.issuer).collect::<Vec<_>>(),
        "bearer_methods_supported": ["header"],
    });
    Some(body::json(StatusCode::OK, &metadata))
}
