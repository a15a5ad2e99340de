//! Builds what requests use from what the config says: listeners with their routes, MCP routes with
//! their upstreams, the session sealer. Built once per config; requests never see config types.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::a2a::A2aRoute;
use crate::config::{self, BackendKind, GatewayConfig, McpTransport};
use crate::core::http::client::{self, ClientCert, HttpClient, Roots, TlsSettings};
use crate::core::http::forwarded::TrustedProxies;
use crate::core::http::listener::ConnectionLimits;
use crate::core::http::shutdown::{Drain, Drained, InFlight};
use crate::core::policy::{Env, Pipeline, Protocol};
use crate::core::revocations::{OnRevoked, SharedRevocations};
use crate::core::seal::Sealer;
use crate::gateway::router::{Bind, RouteEntry, RouteTarget};
use crate::mcp::McpRoute;
use crate::mcp::catalogue::Catalogue;
use crate::mcp::catalogue::naming::DEFAULT_DELIMITER;
use crate::mcp::route::Backend;
use crate::mcp::state::RouteState;
use crate::mcp::upstream::{Upstream, http, sse_client, stdio};
use crate::sample::upstream::SampleUpstream;

/// Per-call upstream timeout when neither the backend nor a timeout policy sets one.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_REFRESH: Duration = Duration::from_secs(300);
const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_PAGE_SIZE: usize = 500;

pub struct Gateway {
    pub binds: Vec<Arc<Bind>>,
    pub a2a_routes: Vec<Arc<A2aRoute>>,
    pub tls: Option<Arc<crate::core::http::tls::TlsListener>>,
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

/// MCP routes' state by route name: what a reload must not lose (revoked sessions, pending replies,
/// streams, upstream sessions). A route the new config no longer has is dropped with its state.
#[derive(Default)]
pub struct RouteStates {
    mcp: Mutex<HashMap<String, Arc<RouteState>>>,
}

impl RouteStates {
    fn mcp(&self, route: &str, session_ttl: Duration) -> Arc<RouteState> {
        self.mcp
            .lock()
            .unwrap()
            .entry(route.to_string())
            .or_insert_with(|| Arc::new(RouteState::new(session_ttl)))
            .clone()
    }

    /// Keeps the state of the routes `gateway` serves, and of their backends only.
    fn retain(&self, gateway: &Gateway) {
        let mut states = self.mcp.lock().unwrap();
        states.retain(|name, _| gateway.mcp_routes.iter().any(|r| &r.name == name));
        for route in &gateway.mcp_routes {
            let backends: Vec<&str> = route.backends.iter().map(|b| b.upstream.name()).collect();
            route.state.retain_upstreams(&backends);
        }
    }

    /// The state kept for `route`, if any (tests and the health page).
    pub fn get(&self, route: &str) -> Option<Arc<RouteState>> {
        self.mcp.lock().unwrap().get(route).cloned()
    }
}

/// What outlives a config reload: the session key (so sessions survive), the rate limiter (so budgets
/// are not reset by a reload) and the routes' state.
#[derive(Clone)]
pub struct Shared {
    pub sealer: Arc<Sealer>,
    pub limiter: Arc<crate::core::ratelimit::Limiter>,
    pub states: Arc<RouteStates>,
    /// With `rateLimitStore`: DELETEd sessions shared by the replicas.
    pub revocations: Option<Arc<SharedRevocations>>,
}

impl Shared {
    pub async fn new(config: &GatewayConfig) -> Result<Shared, String> {
        let sealer = Arc::new(sealer(&config.security)?);
        let limiter = Arc::new(
            crate::core::ratelimit::Limiter::from_config(config.rate_limit_store.as_ref()).await?,
        );
        let revocations = match &config.rate_limit_store {
            Some(store) => Some(Arc::new(SharedRevocations::new(&store.redis_url)?)),
            None => None,
        };
        Ok(Shared {
            sealer,
            limiter,
            states: Arc::default(),
            revocations,
        })
    }
}

pub async fn build(config: &GatewayConfig) -> Result<Gateway, String> {
    build_with(config, &Shared::new(config).await?)
}

pub fn build_with(config: &GatewayConfig, shared: &Shared) -> Result<Gateway, String> {
    let tls = match config.security.mtls.as_ref().filter(|m| m.enabled) {
        Some(mtls) => Some(Arc::new(crate::core::http::tls::TlsListener::new(mtls)?)),
        None => None,
    };
    // Read on every build, so a reload picks up an approved lock.
    let pins = match &config.registry {
        Some(registry) => crate::registry::pins::Pins::load(registry)?,
        None => None,
    };
    let mut binds = Vec::new();
    let mut mcp_routes = Vec::new();
    let mut a2a_routes = Vec::new();
    for bind in &config.binds {
        let ip: IpAddr = bind
            .address
            .parse()
            .map_err(|e| format!("bind address {}: {e}", bind.address))?;
        let env = Env {
            limiter: shared.limiter.clone(),
            security: &config.security,
            limits: &config.limits,
            loopback_bind: ip.is_loopback(),
        };
        let mut routes = Vec::new();
        for route in bind.listeners.iter().flat_map(|l| &l.routes) {
            let is_a2a = route
                .backends
                .iter()
                .all(|b| matches!(b.kind, BackendKind::A2a { .. }));
            let target = if is_a2a {
                let pipeline = Pipeline::build(route, Protocol::A2a, &env)?;
                let a2a = Arc::new(a2a_route(route, pipeline, shared.sealer.clone())?);
                a2a_routes.push(a2a.clone());
                RouteTarget::A2a(a2a)
            } else {
                let pipeline = Pipeline::build(route, Protocol::Mcp, &env)?;
                let mcp = Arc::new(mcp_route(config, route, pipeline, shared, &pins)?);
                mcp_routes.push(mcp.clone());
                RouteTarget::Mcp(mcp)
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
            limits: ConnectionLimits {
                header_read_timeout: config.limits.header_read_timeout,
                max_connections: config.limits.max_connections,
            },
            trusted_proxies: TrustedProxies::new(config.security.trusted_proxies.clone()),
        }));
    }
    Ok(Gateway {
        binds,
        mcp_routes,
        a2a_routes,
        tls,
    })
}

/// The client of one MCP backend, from its config.
fn upstream(route: &config::Route, backend: &config::Backend) -> Result<Upstream, String> {
    Ok(match &backend.kind {
        BackendKind::McpHttp { address, mcp } => {
            let url = |default: &str| {
                format!(
                    "{}{}",
                    address.trim_end_matches('/'),
                    mcp.endpoint.as_deref().unwrap_or(default)
                )
            };
            let settings = |url: String| -> Result<http::HttpSettings, String> {
                Ok(http::HttpSettings {
                    name: backend.name.clone(),
                    url,
                    headers: mcp
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    forward_authorization: mcp.forward_authorization,
                    client: backend_client(route, backend)?,
                })
            };
            let settings = settings(url(if mcp.protocol == McpTransport::Sse {
                "/sse"
            } else {
                "/mcp"
            }))?;
            if mcp.protocol == McpTransport::Sse {
                Upstream::Sse(Box::new(sse_client::SseUpstream::new(settings)?))
            } else {
                Upstream::Http(Box::new(http::HttpUpstream::new(settings)?))
            }
        }
        BackendKind::McpStdio {
            command, args, env, ..
        } => Upstream::Stdio(stdio::StdioUpstream::new(stdio::StdioSettings {
            name: backend.name.clone(),
            command: command.clone(),
            args: args.clone(),
            env: env.clone(),
        })),
        BackendKind::Sample { .. } => Upstream::Local {
            name: backend.name.clone(),
            server: Box::new(SampleUpstream::new()),
        },
        BackendKind::A2a { .. } => {
            return Err(format!(
                "backend {} is an A2A agent on an MCP route",
                backend.name
            ));
        }
    })
}

fn mcp_route(
    config: &GatewayConfig,
    route: &config::Route,
    pipeline: Pipeline,
    shared: &Shared,
    pins: &Option<Arc<crate::registry::pins::Pins>>,
) -> Result<McpRoute, String> {
    let session_ttl = config.security.session_ttl.unwrap_or(DEFAULT_SESSION_TTL);
    let state = shared.states.mcp(&route.name, session_ttl);
    let several = route.backends.len() > 1;
    let mut backends = Vec::new();
    for backend in &route.backends {
        let mcp = match &backend.kind {
            BackendKind::McpHttp { mcp, .. }
            | BackendKind::McpStdio { mcp, .. }
            | BackendKind::Sample { mcp } => mcp,
            BackendKind::A2a { .. } => {
                return Err(format!(
                    "route {}: backend {} is an A2A agent on an MCP route",
                    route.name, backend.name
                ));
            }
        };
        // The same config (and TLS files) gives the same client: its sessions and stdio children carry on.
        let fingerprint = format!(
            "{:?} {:?} {:?}",
            backend.kind,
            backend.tls,
            client::contents_digest(&tls_settings(backend))
        );
        let upstream = state
            .upstream(&backend.name, fingerprint, || upstream(route, backend))
            .map_err(|e| format!("route {}: {e}", route.name))?;
        backends.push(Backend {
            upstream,
            prefix: several.then(|| mcp.prefix.clone().unwrap_or_else(|| backend.name.clone())),
            timeout: pipeline.upstream.deadline(mcp.timeout, DEFAULT_TIMEOUT),
            health: Default::default(),
        });
    }
    Ok(McpRoute {
        pipeline,
        name: route.name.clone(),
        path_prefix: route.path_prefix.clone(),
        backends,
        catalogue: ArcSwap::from_pointee(Catalogue::default()),
        schemas: Default::default(),
        sealer: shared.sealer.clone(),
        session_ttl,
        delimiter: route
            .mcp
            .prefix_delimiter
            .clone()
            .unwrap_or_else(|| DEFAULT_DELIMITER.to_string()),
        refresh_interval: route.mcp.refresh_interval.unwrap_or(DEFAULT_REFRESH),
        listing_caps: crate::mcp::route::ListingCaps {
            tools: config.limits.max_upstream_tools,
            bytes: config.limits.max_upstream_catalogue_bytes,
            schema_bytes: config.limits.max_upstream_schema_bytes,
        },
        page_size: DEFAULT_PAGE_SIZE,
        state,
        revocations: shared.revocations.clone(),
        pins: pins.clone(),
        discovery: route.mcp.discovery,
        search: Default::default(),
        discovered: Default::default(),
    })
}

/// An A2A route: its agents (named in config or by their cards) behind the route's pipeline.
fn a2a_route(
    route: &config::Route,
    pipeline: Pipeline,
    sealer: Arc<Sealer>,
) -> Result<A2aRoute, String> {
    let mut agents = Vec::new();
    for backend in &route.backends {
        if let BackendKind::A2a {
            address,
            agent_name,
        } = &backend.kind
        {
            let client = backend_client(route, backend)?;
            agents.push((agent_name.clone(), address.clone(), client));
        }
    }
    Ok(A2aRoute::new(
        route.name.clone(),
        route.path_prefix.clone(),
        agents,
        pipeline,
        sealer,
    ))
}

/// A started gateway: where it listens, the handle that stops it, and what a config reload swaps. Dropped
/// without [`Running::drain`], it stops at once: listeners close, streams end, connections close.
pub struct Running {
    pub addresses: Vec<std::net::SocketAddr>,
    /// Where `/metrics` is served, when `observability.prometheus` is enabled.
    pub metrics: Option<std::net::SocketAddr>,
    /// Cancelled when the gateway stops: listeners close, connections are asked to finish, and the
    /// background tasks (discovery, the config watcher, metrics) stop.
    pub shutdown: tokio_util::sync::CancellationToken,
    drain: Drain,
    /// `shutdown.gracePeriod` of the config being served.
    grace_period: Mutex<Duration>,
    slots: Vec<crate::gateway::router::BindSlot>,
    /// The binds as configured (address, port): a reload may change routes, not listeners.
    listeners: Vec<(String, u16)>,
    /// Stops the discovery and certificate-reload tasks of the config being served.
    generation: std::sync::Mutex<tokio_util::sync::CancellationToken>,
    shared: Shared,
}

/// Builds, starts discovery and binds every listener. Port 0 binds an ephemeral port (tests).
pub async fn start(config: &GatewayConfig) -> Result<Running, String> {
    // Traces: the exporter runs on this runtime; a collector that is down costs dropped spans only.
    crate::core::telemetry::tracing::install(
        config
            .observability
            .as_ref()
            .and_then(|o| o.opentelemetry.as_ref()),
    )?;
    let shared = Shared::new(config).await?;
    let gateway = build_with(config, &shared)?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    if let Some(revocations) = &shared.revocations {
        // After the first build, so every route's state exists to receive what is already revoked.
        let states = shared.states.clone();
        let on_revoked: OnRevoked = Arc::new(move |route, handle| {
            if let Some(state) = states.get(route) {
                state.revoke(handle);
            }
        });
        revocations.follow(on_revoked, shutdown.clone());
    }
    let generation = shutdown.child_token();
    activate(&gateway, &generation);
    let metrics = serve_metrics(config, &shutdown).await?;
    let slots: Vec<crate::gateway::router::BindSlot> = gateway
        .binds
        .iter()
        .map(|b| Arc::new(arc_swap::ArcSwap::new(b.clone())))
        .collect();
    let drain = Drain::new(shutdown.clone());
    let addresses = crate::core::http::listener::serve(slots.clone(), drain.clone())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Running {
        metrics,
        addresses,
        shutdown,
        drain,
        grace_period: Mutex::new(config.shutdown.grace_period),
        slots,
        listeners: listeners(config),
        generation: std::sync::Mutex::new(generation),
        shared,
    })
}

fn listeners(config: &GatewayConfig) -> Vec<(String, u16)> {
    config
        .binds
        .iter()
        .map(|b| (b.address.clone(), b.port))
        .collect()
}

/// Starts what a built gateway runs in the background, until `generation` is cancelled.
fn activate(gateway: &Gateway, generation: &tokio_util::sync::CancellationToken) {
    for route in &gateway.mcp_routes {
        let task = crate::mcp::catalogue::discovery::spawn(route.clone());
        let stop = generation.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            task.abort();
        });
    }
    for route in &gateway.a2a_routes {
        route.start(generation.clone());
    }
    if let Some(tls) = &gateway.tls {
        tls.spawn_reloader(generation.clone());
    }
}

impl Running {
    /// The state an MCP route keeps across reloads, while the served config has that route.
    pub fn route_state(&self, route: &str) -> Option<Arc<RouteState>> {
        self.shared.states.get(route)
    }

    /// Serves `config` from now on: builds it whole, lets its routes finish their first discovery (at most
    /// 10s), then swaps every listener's routes at once. Requests in flight finish on the old routes;
    /// sessions carry on (they are sealed, not stored). Listeners, the metrics port and the session key
    /// are fixed for the life of the process: changing them is refused with a message saying so.
    pub async fn reload(&self, config: &GatewayConfig) -> Result<(), String> {
        let result = self.try_reload(config).await;
        crate::core::telemetry::metrics::config_reload(result.is_ok());
        result
    }

    async fn try_reload(&self, config: &GatewayConfig) -> Result<(), String> {
        if listeners(config) != self.listeners {
            return Err(format!(
                "binds changed from {:?} to {:?}: restart the gateway to listen elsewhere",
                self.listeners,
                listeners(config)
            ));
        }
        let gateway = build_with(config, &self.shared)?;
        let generation = self.shutdown.child_token();
        activate(&gateway, &generation);
        let ready = async {
            while !gateway
                .mcp_routes
                .iter()
                .all(|r| r.discovered.load(std::sync::atomic::Ordering::Acquire))
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), ready).await;
        for (slot, bind) in self.slots.iter().zip(&gateway.binds) {
            slot.store(bind.clone());
        }
        self.shared.states.retain(&gateway);
        *self.grace_period.lock().unwrap() = config.shutdown.grace_period;
        let previous = std::mem::replace(&mut *self.generation.lock().unwrap(), generation);
        previous.cancel();
        Ok(())
    }

    /// `shutdown.gracePeriod` of the config being served.
    pub fn grace_period(&self) -> Duration {
        *self.grace_period.lock().unwrap()
    }

    /// Stops accepting: when this returns every listening socket is closed, connections are asked to
    /// finish and background tasks stop. Returns what is still in flight.
    pub async fn stop_accepting(&self) -> InFlight {
        self.drain.stop_accepting().await
    }

    /// What is open now: connections, requests in flight, listening streams.
    pub fn in_flight(&self) -> InFlight {
        self.drain.in_flight()
    }

    /// Stops accepting, lets what is in flight finish within `grace`, ends what is left (see
    /// `core::http::shutdown`). Returns once every connection is closed.
    pub async fn drain(&self, grace: Duration) -> Drained {
        self.drain.drain(grace).await
    }

    /// Watches the config file and the registry lock it names (a ConfigMap mount swaps files through a
    /// symlink, so the content is compared, not the modification time) and reloads on change; an invalid
    /// file is refused, named in the log with every problem, and the running config kept. SIGHUP checks
    /// at once.
    pub fn watch(self: &Arc<Self>, path: std::path::PathBuf) {
        let running = self.clone();
        tokio::spawn(async move {
            let lock_of = |path: &std::path::Path| {
                let loaded = crate::config::load_file(path).ok()?;
                Some(crate::registry::lock::path(&loaded.config.registry?.path))
            };
            let mut lock_path = lock_of(&path);
            let read_both = |lock_path: &Option<std::path::PathBuf>| {
                let lock = lock_path.as_ref().and_then(|p| std::fs::read(p).ok());
                std::fs::read(&path).ok().map(|config| (config, lock))
            };
            let mut last = read_both(&lock_path);
            #[cfg(unix)]
            let mut hangup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let signal = async {
                    match hangup.as_mut() {
                        Some(h) => {
                            h.recv().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let signal = std::future::pending::<()>();
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = signal => {}
                    _ = running.shutdown.cancelled() => return,
                }
                let current = read_both(&lock_path);
                if current.is_none() || current == last {
                    continue;
                }
                last = current;
                match crate::config::load_file(&path) {
                    Ok(loaded) => match running.reload(&loaded.config).await {
                        Ok(()) => {
                            tracing::info!(config = %path.display(), "config reloaded");
                            let now = lock_of(&path);
                            if now != lock_path {
                                lock_path = now;
                                last = read_both(&lock_path);
                            }
                        }
                        Err(e) => {
                            tracing::error!(config = %path.display(), "config reload refused: {e}; still serving the previous config")
                        }
                    },
                    Err(diagnostics) => {
                        crate::core::telemetry::metrics::config_reload(false);
                        for d in &diagnostics {
                            tracing::error!("{d}");
                        }
                        tracing::error!(config = %path.display(), "config rejected; still serving the previous config");
                    }
                }
            }
        });
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.drain.abort();
    }
}

/// Serves Prometheus metrics on their own port (the guide: 9090, `/metrics`), apart from traffic, on the
/// same address family as the first bind.
async fn serve_metrics(
    config: &GatewayConfig,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Result<Option<SocketAddr>, String> {
    let Some(prometheus) = config
        .observability
        .as_ref()
        .and_then(|o| o.prometheus.as_ref())
        .filter(|p| p.enabled)
    else {
        return Ok(None);
    };
    let ip: IpAddr = config
        .binds
        .first()
        .and_then(|b| b.address.parse().ok())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let address = SocketAddr::new(ip, prometheus.port);
    crate::core::telemetry::serve_metrics(address, prometheus.path.clone(), shutdown.clone())
        .await
        .map(Some)
        .map_err(|e| format!("observability.prometheus: cannot listen on {address}: {e}"))
}

/// The outbound client for a backend's `tls:` settings (the system's roots when it has none). A file that
/// cannot be read or is not what it should be stops this config, naming the route, backend and file.
fn backend_client(route: &config::Route, backend: &config::Backend) -> Result<HttpClient, String> {
    client::client(&tls_settings(backend))
        .map_err(|e| format!("route {}: backend {}: tls: {e}", route.name, backend.name))
}

fn tls_settings(backend: &config::Backend) -> TlsSettings {
    match &backend.tls {
        None => TlsSettings::default(),
        Some(tls) => TlsSettings {
            roots: Roots::System {
                extra: tls.ca_file.as_ref().map(Into::into),
            },
            client_cert: tls.client_cert.as_ref().map(|c| ClientCert {
                cert_file: c.cert_file.clone().into(),
                key_file: c.key_file.clone().into(),
            }),
        },
    }
}
