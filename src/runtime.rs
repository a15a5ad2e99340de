//! Builds what requests use from what the config says: listeners with their routes, MCP routes with
//! their upstreams, the session sealer. Built once per config; requests never see config types.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::config::{self, BackendKind, GatewayConfig, McpTransport, PolicyKind};
use crate::mcp::McpRoute;
use crate::mcp::catalogue::Catalogue;
use crate::mcp::naming::DEFAULT_DELIMITER;
use crate::mcp::route::Backend;
use crate::mcp::upstream::{Upstream, http, sample, sse_client, stdio};
use crate::seal::Sealer;
use crate::server::{Bind, OriginPolicy, RouteEntry, RouteTarget};

/// Per-call upstream timeout when neither the backend nor a timeout policy sets one.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_REFRESH: Duration = Duration::from_secs(300);
const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_PAGE_SIZE: usize = 500;

pub struct Gateway {
    pub binds: Vec<Arc<Bind>>,
    pub tls: Option<Arc<crate::server::tls::TlsListener>>,
    pub mcp_routes: Vec<Arc<McpRoute>>,
}

/// The session key: config, then its file, then `AGENT_GATEWAY_SESSION_KEY`, else generated (with a
/// warning, since sessions then die with the process and cannot move between replicas).
pub fn sealer(security: &config::Security) -> Result<Sealer, String> {
    if let Some(key) = &security.session_key {
        return Sealer::from_base64(key).map_err(|e| format!("security.sessionKey: {e}"));
    }
    if let Some(path) = &security.session_key_file {
        let key = std::fs::read_to_string(path)
            .map_err(|e| format!("security.sessionKeyFile {path}: {e}"))?;
        return Sealer::from_base64(&key)
            .map_err(|e| format!("security.sessionKeyFile {path}: {e}"));
    }
    if let Ok(key) = std::env::var("AGENT_GATEWAY_SESSION_KEY") {
        return Sealer::from_base64(&key).map_err(|e| format!("AGENT_GATEWAY_SESSION_KEY: {e}"));
    }
    tracing::warn!(
        "no session key configured (security.sessionKey, security.sessionKeyFile or AGENT_GATEWAY_SESSION_KEY): using a random key, so sessions end with this process and do not move between replicas"
    );
    Ok(Sealer::generate())
}

pub async fn build(config: &GatewayConfig) -> Result<Gateway, String> {
    let tls = match config.security.mtls.as_ref().filter(|m| m.enabled) {
        Some(mtls) => Some(Arc::new(crate::server::tls::TlsListener::new(mtls)?)),
        None => None,
    };
    let sealer = Arc::new(sealer(&config.security)?);
    let limiter =
        Arc::new(crate::ratelimit::Limiter::from_config(config.rate_limit_store.as_ref()).await?);
    let session_ttl = config.security.session_ttl.unwrap_or(DEFAULT_SESSION_TTL);
    let mut binds = Vec::new();
    let mut mcp_routes = Vec::new();
    for bind in &config.binds {
        let ip: IpAddr = bind
            .address
            .parse()
            .map_err(|e| format!("bind address {}: {e}", bind.address))?;
        let mut routes = Vec::new();
        for route in bind.listeners.iter().flat_map(|l| &l.routes) {
            let is_mcp = route
                .backends
                .iter()
                .any(|b| !matches!(b.kind, BackendKind::A2a { .. }));
            let target = if is_mcp {
                let mcp = Arc::new(mcp_route(
                    route,
                    sealer.clone(),
                    session_ttl,
                    limiter.clone(),
                )?);
                mcp_routes.push(mcp.clone());
                RouteTarget::Mcp(mcp)
            } else {
                RouteTarget::Inactive {
                    what: format!("route {} (A2A)", route.name),
                }
            };
            routes.push(RouteEntry {
                prefix: route.path_prefix.clone(),
                target,
            });
        }
        binds.push(Arc::new(Bind {
            tls: tls.clone(),
            address: SocketAddr::new(ip, bind.port),
            routes,
            origin: OriginPolicy {
                loopback_bind: ip.is_loopback(),
                allowed: config.security.allowed_origins.clone(),
            },
            limits: config.limits.clone(),
        }));
    }
    Ok(Gateway {
        binds,
        mcp_routes,
        tls,
    })
}

fn mcp_route(
    route: &config::Route,
    sealer: Arc<Sealer>,
    session_ttl: Duration,
    limiter: Arc<crate::ratelimit::Limiter>,
) -> Result<McpRoute, String> {
    let policy = crate::policy::RoutePolicies::build(route, limiter)?;
    let policy_timeout = route.policies.iter().find_map(|p| match &p.kind {
        PolicyKind::Timeout(t) => t.request,
        _ => None,
    });
    let several = route.backends.len() > 1;
    let mut backends = Vec::new();
    for backend in &route.backends {
        let (upstream, mcp) = match &backend.kind {
            BackendKind::McpHttp { address, mcp } => {
                let url = format!(
                    "{}{}",
                    address.trim_end_matches('/'),
                    mcp.endpoint.as_deref().unwrap_or("/mcp")
                );
                let settings = http::HttpSettings {
                    name: backend.name.clone(),
                    url,
                    headers: mcp
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    forward_authorization: mcp.forward_authorization,
                };
                let upstream = if mcp.protocol == McpTransport::Sse {
                    let url = format!(
                        "{}{}",
                        address.trim_end_matches('/'),
                        mcp.endpoint.as_deref().unwrap_or("/sse")
                    );
                    let settings = sse_client::SseSettings {
                        name: settings.name,
                        url,
                        headers: settings.headers,
                        forward_authorization: settings.forward_authorization,
                    };
                    Upstream::Sse(Box::new(sse_client::SseUpstream::new(settings)?))
                } else {
                    Upstream::Http(Box::new(http::HttpUpstream::new(settings)?))
                };
                (upstream, mcp)
            }
            BackendKind::McpStdio {
                command,
                args,
                env,
                mcp,
            } => {
                let settings = stdio::StdioSettings {
                    name: backend.name.clone(),
                    command: command.clone(),
                    args: args.clone(),
                    env: env.clone(),
                };
                (Upstream::Stdio(stdio::StdioUpstream::new(settings)), mcp)
            }
            BackendKind::Sample { mcp } => (
                Upstream::Sample(sample::SampleUpstream::new(backend.name.clone())),
                mcp,
            ),
            BackendKind::A2a { .. } => {
                return Err(format!(
                    "route {}: backend {} is an A2A agent on an MCP route",
                    route.name, backend.name
                ));
            }
        };
        let timeout = match (mcp.timeout, policy_timeout) {
            (Some(b), Some(p)) => b.min(p),
            (b, p) => b.or(p).unwrap_or(DEFAULT_TIMEOUT),
        };
        let prefix = several.then(|| mcp.prefix.clone().unwrap_or_else(|| backend.name.clone()));
        backends.push(Backend {
            upstream: Arc::new(upstream),
            prefix,
            timeout,
            health: Default::default(),
        });
    }
    let (changes, _) = tokio::sync::broadcast::channel(16);
    Ok(McpRoute {
        policy,
        name: route.name.clone(),
        path_prefix: route.path_prefix.clone(),
        backends,
        catalogue: ArcSwap::from_pointee(Catalogue::default()),
        schemas: Default::default(),
        sealer,
        session_ttl,
        output_schema: route.mcp.output_schema,
        delimiter: route
            .mcp
            .prefix_delimiter
            .clone()
            .unwrap_or_else(|| DEFAULT_DELIMITER.to_string()),
        refresh_interval: route.mcp.refresh_interval.unwrap_or(DEFAULT_REFRESH),
        page_size: DEFAULT_PAGE_SIZE,
        changes,
        pending_replies: Default::default(),
        revoked: Default::default(),
        legacy_streams: Default::default(),
        in_flight: Default::default(),
        session_events: tokio::sync::broadcast::channel(256).0,
        subscriptions: Default::default(),
        log_levels: Default::default(),
        discovered: Default::default(),
    })
}

/// A started gateway: where it listens, and the handle that stops it.
pub struct Running {
    pub addresses: Vec<std::net::SocketAddr>,
    pub gateway: Gateway,
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// Builds, starts discovery and binds every listener. Port 0 binds an ephemeral port (tests).
pub async fn start(config: &GatewayConfig) -> Result<Running, String> {
    let gateway = build(config).await?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    for route in &gateway.mcp_routes {
        let task = crate::mcp::discovery::spawn(route.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            task.abort();
        });
    }
    if let Some(tls) = &gateway.tls {
        tls.spawn_reloader(shutdown.clone());
    }
    let addresses = crate::server::serve(gateway.binds.clone(), shutdown.clone())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Running {
        addresses,
        gateway,
        shutdown,
    })
}
