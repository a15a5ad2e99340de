//! Routing: check Host/Origin, find the route by path prefix, answer health probes.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use super::{catalog, metadata};
use crate::a2a::A2aRoute;
use crate::core::error::{self, Dialect, TargetKind};
use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::http::forwarded::TrustedProxies;
use crate::core::http::listener::{ConnectionLimits, Peer, Service};
use crate::core::http::tls;
use crate::core::policy::Pipeline;
use crate::core::telemetry::metrics;
use crate::mcp::McpRoute;

pub enum RouteTarget {
    Mcp(Arc<McpRoute>),
    A2a(Arc<A2aRoute>),
}

impl RouteTarget {
    pub fn pipeline(&self) -> &Pipeline {
        match self {
            RouteTarget::Mcp(m) => &m.pipeline,
            RouteTarget::A2a(a) => a.pipeline(),
        }
    }

    pub fn name(&self) -> &str {
        &self.pipeline().route
    }

    fn protocol(&self) -> &'static str {
        match self {
            RouteTarget::Mcp(_) => "mcp",
            RouteTarget::A2a(_) => "a2a",
        }
    }

    /// How a request refused at the connection stage is answered: JSON-RPC on both kinds of route.
    fn dialect(&self) -> Dialect {
        match self {
            RouteTarget::Mcp(_) => Dialect::McpSession,
            RouteTarget::A2a(_) => Dialect::A2aRpc { v1: false },
        }
    }
}

pub struct RouteEntry {
    pub prefix: String,
    pub target: RouteTarget,
}

pub struct Bind {
    pub address: SocketAddr,
    /// `security.mtls`: TLS with client certificates; the certificate's identity is the principal
    /// where the route does not authenticate by token.
    pub tls: Option<Arc<tls::TlsListener>>,
    pub routes: Vec<RouteEntry>,
    pub limits: ConnectionLimits,
    /// `security.trustedProxies`: whose `X-Forwarded-*` headers are kept.
    pub trusted_proxies: TrustedProxies,
}

impl Bind {
    /// The route whose prefix matches at a path-segment boundary; the longest wins.
    fn route_for(&self, path: &str) -> Option<&RouteEntry> {
        self.routes
            .iter()
            .filter(|r| {
                let p = r.prefix.trim_end_matches('/');
                path == p || path.starts_with(&format!("{p}/")) || p.is_empty()
            })
            .max_by_key(|r| r.prefix.len())
    }

    fn mcp_routes(&self) -> impl Iterator<Item = &Arc<McpRoute>> {
        self.routes.iter().filter_map(|r| match &r.target {
            RouteTarget::Mcp(m) => Some(m),
            _ => None,
        })
    }
}

/// A listener's current routes, swapped whole when the config reloads.
pub type BindSlot = crate::core::http::listener::Slot<Bind>;

impl Service for Bind {
    fn address(&self) -> SocketAddr {
        self.address
    }

    fn tls(&self) -> Option<Arc<tls::TlsListener>> {
        self.tls.clone()
    }

    fn connection_limits(&self) -> ConnectionLimits {
        self.limits
    }

    async fn call(self: Arc<Self>, request: Request<Incoming>, peer: Peer) -> Response<Body> {
        handle(&self, request, peer).await
    }
}

async fn handle(bind: &Bind, mut request: Request<Incoming>, peer: Peer) -> Response<Body> {
    use crate::core::telemetry::tracing as trace;
    bind.trusted_proxies
        .admit(peer.address.ip(), request.headers_mut());
    let path = request.uri().path().to_string();
    match path.as_str() {
        "/healthz" => return body::json(StatusCode::OK, &json!({"status": "ok"})),
        "/readyz" => return readiness(bind),
        "/health/upstreams" => return upstream_health(bind),
        _ => {}
    }
    if let Some(document) = metadata::serve(&path, request.headers(), &bind.routes) {
        return document;
    }
    if path == catalog::AI_CATALOG_PATH && request.method() == http::Method::GET {
        return catalog::ai_catalog(&bind.routes, request.headers(), peer.principal).await;
    }
    let Some(route) = bind.route_for(&path) else {
        return body::json(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no route matches {path}")}),
        );
    };
    let target = &route.target;
    if let Some(why) = crate::core::http::path::ambiguity(&path) {
        let e = error::Error::InvalidRequest(format!(
            "{why}: the gateway does not forward paths a peer could read as another"
        ));
        return refuse(target, e);
    }
    // The server span: named `<method> <target>` once the method is known, till then after the request.
    let trace = trace::Request::start(
        request.headers(),
        target.protocol(),
        &format!("{} {}", request.method(), target.name()),
    );
    let response = trace
        .scope(async {
            let caller = match target
                .pipeline()
                .admit(request.headers(), peer.principal)
                .await
            {
                Ok(caller) => caller,
                Err(e) => return refuse(target, e),
            };
            trace.set_principal(caller.principal.as_deref());
            // Upstream attempts are children of this request's span, in whichever task they run.
            let caller = Caller {
                trace: Some(trace.trace()),
                ..caller
            };
            match target {
                RouteTarget::Mcp(mcp)
                    if request.method() == http::Method::GET
                        && catalog::is_server_card(&path, &route.prefix) =>
                {
                    catalog::server_card(mcp, caller.principal.as_deref(), request.headers())
                }
                RouteTarget::Mcp(mcp) => crate::mcp::handle(mcp, request, &caller).await,
                RouteTarget::A2a(a2a) => {
                    let agent = agent_of(&path, &route.prefix);
                    if let Some(agent) = &agent {
                        trace::note_target(TargetKind::Agent, agent);
                    }
                    let started = std::time::Instant::now();
                    let response = a2a.handle(request, &caller).await;
                    a2a_metrics(
                        target.name(),
                        caller.principal.as_deref(),
                        agent.as_deref(),
                        response.status(),
                        started.elapsed(),
                    );
                    response
                }
            }
        })
        .await;
    trace.finish(trace::Outcome {
        route: Some(target.name()),
        status: response.status().as_u16(),
        error_code: response
            .extensions()
            .get::<error::ErrorCode>()
            .map(|c| c.code),
    });
    response
}

/// Answers a request refused before its route read it (the connection stage, its path).
fn refuse(target: &RouteTarget, e: error::Error) -> Response<Body> {
    e.report(target.name(), None);
    if let RouteTarget::Mcp(_) = target {
        metrics::error(target.name(), e.metric());
    }
    error::response(&e, &serde_json::Value::Null, target.dialect())
}

/// The agent a path under an A2A route names: its first segment.
fn agent_of(path: &str, prefix: &str) -> Option<String> {
    path.strip_prefix(prefix.trim_end_matches('/'))
        .and_then(|rest| rest.trim_start_matches('/').split('/').next())
        .filter(|agent| !agent.is_empty())
        .map(str::to_string)
}

/// Counts an agent call. Only agents that exist become label values (a 404 for an unknown name is not
/// counted), so a caller cannot grow the label set by inventing paths.
fn a2a_metrics(
    route: &str,
    source: Option<&str>,
    agent: Option<&str>,
    status: StatusCode,
    elapsed: std::time::Duration,
) {
    use crate::core::telemetry::metrics::{self, DenialKind, Outcome};
    let Some(agent) = agent.filter(|_| status != StatusCode::NOT_FOUND) else {
        return;
    };
    let outcome = match status.as_u16() {
        200..=399 => Outcome::Ok,
        401 | 403 => Outcome::Denied,
        502 | 503 => Outcome::Unavailable,
        504 => Outcome::Timeout,
        _ => Outcome::Error,
    };
    if status == StatusCode::FORBIDDEN {
        metrics::authz_denied(route, DenialKind::Agent);
    }
    metrics::a2a_call(source, agent, outcome, elapsed);
}

fn readiness(bind: &Bind) -> Response<Body> {
    let pending: Vec<&str> = bind
        .mcp_routes()
        .filter(|r| !r.discovered.load(std::sync::atomic::Ordering::Acquire))
        .map(|r| r.name.as_str())
        .collect();
    if pending.is_empty() {
        body::json(StatusCode::OK, &json!({"status": "ready"}))
    } else {
        body::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "discovering", "routes": pending}),
        )
    }
}

fn upstream_health(bind: &Bind) -> Response<Body> {
    let routes: Vec<_> = bind
        .mcp_routes()
        .map(|r| {
            let catalogue = r.catalogue.load();
            json!({
                "route": r.name,
                "tools": catalogue.tools.len(),
                "problems": catalogue.problems,
                "registry": r.pins.as_ref().map(|p| json!({
                    "mode": p.mode(),
                    "drift": catalogue.drift.iter().map(|d| json!({
                        "upstream": d.server, "kind": d.kind.to_string(), "name": d.name, "changes": d.classes(), "detail": d.to_string(),
                    })).collect::<Vec<_>>(),
                })),
                "upstreams": r.backend_health().into_iter().map(|(name, h)| json!({"name": name, "health": h})).collect::<Vec<_>>(),
            })
        })
        .collect();
    body::json(StatusCode::OK, &json!({"routes": routes}))
}
