//! `jwt-authn` on the request path: who the caller is, or a 401 that says why (RFC 6750), and the
//! protected-resource metadata (RFC 9728) that the 401 points clients to.

use http::{HeaderMap, Request, Response, StatusCode, header};
use serde_json::json;

use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::jsonrpc;
use crate::mcp::McpRoute;

const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// What authentication needs of a route, MCP or A2A.
pub struct Guarded<'a> {
    pub policy: &'a crate::core::policy::RoutePolicies,
    pub name: &'a str,
    pub path_prefix: &'a str,
}

impl<'a> Guarded<'a> {
    pub fn mcp(route: &'a McpRoute) -> Guarded<'a> {
        Guarded {
            policy: &route.policy,
            name: &route.name,
            path_prefix: &route.path_prefix,
        }
    }
}

/// The caller of a request on `route`: from its bearer token where the route authenticates, else from
/// its client certificate, else anonymous.
#[allow(clippy::result_large_err)]
pub async fn caller<B>(
    route: &Guarded<'_>,
    request: &Request<B>,
    certificate_principal: Option<String>,
) -> Result<Caller, Response<Body>> {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(authn) = &route.policy.authn else {
        // Without jwt-authn, a verified client certificate (mTLS) names the caller.
        return Ok(Caller {
            principal: certificate_principal,
            authorization,
            headers: Vec::new(),
        });
    };
    match authn.authenticate(authorization.as_deref()).await {
        Ok(identity) => {
            let headers = authn.claim_headers(&identity);
            Ok(Caller {
                principal: Some(identity.principal),
                authorization,
                headers,
            })
        }
        Err(error) => {
            // A missing token is routine (clients probe before authenticating); a bad one needs an operator.
            match error {
                crate::core::identity::AuthError::Missing => {
                    tracing::info!(route = %route.name, "authn: request without a bearer token refused")
                }
                _ => {
                    tracing::warn!(route = %route.name, hint = %error.operator_hint(), "authn: request refused")
                }
            }
            let metadata = format!(
                "{}{METADATA_PATH}{}",
                origin(request.headers()),
                route.path_prefix
            );
            let mut response = body::json(
                error.status(),
                &jsonrpc::error(
                    &serde_json::Value::Null,
                    jsonrpc::INVALID_REQUEST,
                    format!("Unauthorized: {error}"),
                ),
            );
            if let Ok(value) = header::HeaderValue::from_str(&error.www_authenticate(&metadata)) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            Err(response)
        }
    }
}

/// `scheme://host` as the client reached us, honouring a proxy's `X-Forwarded-Proto`.
fn origin(headers: &HeaderMap) -> String {
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("http");
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// `GET /.well-known/oauth-protected-resource/<route path>` for a route that authenticates.
pub fn resource_metadata<'a>(
    path: &str,
    headers: &HeaderMap,
    mut routes: impl Iterator<Item = &'a McpRoute>,
) -> Option<Response<Body>> {
    let route_path = path.strip_prefix(METADATA_PATH)?;
    let route = routes.find(|r| {
        r.path_prefix.trim_end_matches('/') == route_path.trim_end_matches('/')
            && r.policy.authn.is_some()
    })?;
    let metadata = json!({
        "resource": format!("{}{}", origin(headers), route.path_prefix),
        "authorization_servers": route.policy.issuer.iter().collect::<Vec<_>>(),
        "bearer_methods_supported": ["header"],
    });
    Some(body::json(StatusCode::OK, &metadata))
}
