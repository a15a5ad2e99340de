//! Listeners: accept connections, check Host/Origin, find the route by path prefix, answer health probes.

mod auth;
pub mod body;
mod origin;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use origin::OriginPolicy;

use crate::config::Limits;
use crate::mcp::McpRoute;
use body::Body;

/// Who is calling. The identity work fills `principal` from a verified token; until a route authenticates,
/// every caller is anonymous.
#[derive(Debug, Default, Clone)]
pub struct Caller {
    pub principal: Option<String>,
    /// The caller's own `Authorization` header, forwarded upstream only where a backend asks for it.
    pub authorization: Option<String>,
    /// Headers the gateway adds toward upstreams from the caller's verified claims (`claimToHeaders`).
    /// Client-sent headers never reach an upstream, so a caller cannot forge these.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

pub enum RouteTarget {
    Mcp(Arc<McpRoute>),
    A2a(Arc<A2aEntry>),
}

/// An A2A route: the relay and the route's policies (authentication; a2a-authz lives in the relay).
pub struct A2aEntry {
    pub route: Arc<crate::a2a::A2aRoute>,
    pub policy: crate::policy::RoutePolicies,
    pub name: String,
    pub path_prefix: String,
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
    pub origin: OriginPolicy,
    pub limits: Limits,
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

/// Binds every listener first (so a port conflict fails start-up), then serves until `shutdown`.
/// A listener's current routes: swapped whole when the config reloads, read once per request, so a
/// request never sees half a config and in-flight requests finish on the routes they started with.
pub type BindSlot = Arc<arc_swap::ArcSwap<Bind>>;

pub async fn serve(
    binds: Vec<BindSlot>,
    shutdown: CancellationToken,
) -> std::io::Result<Vec<SocketAddr>> {
    let mut listeners = Vec::new();
    for bind in binds {
        let address = bind.load().address;
        let listener = TcpListener::bind(address).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {address}: {e}"))
        })?;
        listeners.push((listener, bind));
    }
    let mut addresses = Vec::new();
    for (listener, bind) in listeners {
        addresses.push(listener.local_addr()?);
        tokio::spawn(accept_loop(listener, bind, shutdown.clone()));
    }
    Ok(addresses)
}

async fn accept_loop(listener: TcpListener, slot: BindSlot, shutdown: CancellationToken) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => return,
        };
        let _ = stream.set_nodelay(true);
        let slot = slot.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let tls = slot.load().tls.clone();
            match tls {
                None => serve_connection(stream, slot, None, shutdown, peer).await,
                Some(tls) => match tls.accept(stream).await {
                    Ok((stream, identity)) => {
                        serve_connection(
                            stream,
                            slot,
                            identity.map(|i| i.principal),
                            shutdown,
                            peer,
                        )
                        .await
                    }
                    Err(e) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
                },
            }
        });
    }
}

/// Serves HTTP/1.1 on one accepted connection (plain or TLS) until it closes or the gateway stops.
async fn serve_connection<S>(
    stream: S,
    slot: BindSlot,
    peer_principal: Option<String>,
    shutdown: CancellationToken,
    peer: SocketAddr,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let bind = slot.load_full();
        let peer_principal = peer_principal.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&bind, request, peer_principal).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => if let Err(e) = result { tracing::debug!(%peer, error = %e, "connection ended with an error") },
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), connection).await;
        }
    }
}

async fn handle(
    bind: &Bind,
    request: Request<Incoming>,
    peer_principal: Option<String>,
) -> Response<Body> {
    use crate::telemetry::tracing as trace;
    let path = request.uri().path().to_string();
    match path.as_str() {
        "/healthz" => return body::json(StatusCode::OK, &json!({"status": "ok"})),
        "/readyz" => return readiness(bind),
        "/health/upstreams" => return upstream_health(bind),
        _ => {}
    }
    let route = bind.route_for(&path);
    let (protocol, route_name) = match route.map(|r| &r.target) {
        Some(RouteTarget::Mcp(mcp)) => ("mcp", Some(mcp.name.as_str())),
        Some(RouteTarget::A2a(a2a)) => ("a2a", Some(a2a.name.as_str())),
        None => ("http", None),
    };
    // The server span: named `<method> <target>` once the method is known, till then after the request.
    let trace = trace::Request::start(
        request.headers(),
        protocol,
        &format!("{} {}", request.method(), route_name.unwrap_or("unrouted")),
    );
    let response = trace
        .scope(async {
            if let Err(reason) = bind.origin.check(request.headers()) {
                tracing::warn!(path, reason, "request refused by the Host/Origin check");
                return body::json(
                    StatusCode::FORBIDDEN,
                    &crate::mcp::jsonrpc::error(
                        &serde_json::Value::Null,
                        crate::mcp::jsonrpc::INVALID_REQUEST,
                        format!("Forbidden: {reason}"),
                    ),
                );
            }
            if let Some(metadata) = auth::resource_metadata(
                &path,
                request.headers(),
                bind.mcp_routes().map(|r| r.as_ref()),
            ) {
                return metadata;
            }
            let Some(route) = route else {
                return body::json(
                    StatusCode::NOT_FOUND,
                    &json!({"error": format!("no route matches {path}")}),
                );
            };
            match &route.target {
                RouteTarget::Mcp(mcp) => {
                    match auth::caller(&auth::Guarded::mcp(mcp), &request, peer_principal).await {
                        Ok(mut caller) => {
                            trace.set_principal(caller.principal.as_deref());
                            // Upstream attempts (spawned tasks) find the server span by this header;
                            // each attempt replaces it by its own client span's before it goes out.
                            caller.headers.retain(|(name, _)| {
                                name != trace::TRACEPARENT && name != trace::TRACESTATE
                            });
                            caller.headers.extend(trace.headers());
                            crate::mcp::handle(mcp, request, &caller, &bind.limits).await
                        }
                        Err(refused) => {
                            crate::telemetry::metrics::error(
                                &mcp.name,
                                crate::telemetry::metrics::ErrorType::Unauthenticated,
                            );
                            refused
                        }
                    }
                }
                RouteTarget::A2a(a2a) => {
                    let agent = path
                        .strip_prefix(a2a.path_prefix.trim_end_matches('/'))
                        .and_then(|rest| rest.trim_start_matches('/').split('/').next())
                        .filter(|agent| !agent.is_empty())
                        .map(str::to_string);
                    if let Some(agent) = &agent {
                        trace::note_target(agent);
                    }
                    let guarded = auth::Guarded {
                        policy: &a2a.policy,
                        name: &a2a.name,
                        path_prefix: &a2a.path_prefix,
                    };
                    match auth::caller(&guarded, &request, peer_principal).await {
                        Ok(caller) => {
                            trace.set_principal(caller.principal.as_deref());
                            let started = std::time::Instant::now();
                            let response =
                                a2a.route.handle(request, caller.principal.as_deref()).await;
                            a2a_metrics(
                                &a2a.name,
                                caller.principal.as_deref(),
                                agent.as_deref(),
                                response.status(),
                                started.elapsed(),
                            );
                            response
                        }
                        Err(refused) => refused,
                    }
                }
            }
        })
        .await;
    trace.finish(trace::Outcome {
        route: route_name,
        status: response.status().as_u16(),
        error_code: response.extensions().get::<body::ErrorCode>().map(|c| c.0),
    });
    response
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
    use crate::telemetry::metrics::{self, DenialKind, Outcome};
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
                "upstreams": r.backend_health().into_iter().map(|(name, h)| json!({"name": name, "health": h})).collect::<Vec<_>>(),
            })
        })
        .collect();
    body::json(StatusCode::OK, &json!({"routes": routes}))
}
