//! The process-wide metrics and one function per gateway event.
//!
//! Each function updates every family its event belongs to, so the request path makes one call per event
//! and cannot count half of it. Which function to call when:
//!
//! | event | call |
//! |---|---|
//! | any request answered on a route (HTTP level) | `request` |
//! | a JSON-RPC error or refused request that is not a `tools/call` | `error` |
//! | a `tools/call` dispatched upstream, finished | `tool_call` |
//! | a `tools/call` refused before dispatch | `tool_rejected` |
//! | an A2A call relayed or refused | `a2a_call` (+ `authz_denied`/`rate_limited` when refused) |
//! | a discovery round against one upstream | `discovery` (+ `upstream_up`) |
//! | catalogue rebuilt | `catalogue_tools`, `registry_drift` |
//! | session / stream opened | `session_opened` / `stream_opened`: hold the guard while it lives |
//! | retry, timeout of one upstream attempt | `retry`, `timeout` |
//! | config reload | `config_reload` |
//!
//! Label values come from the config (route, backend) or from `labels` (bounded); see `labels.rs`. Code that
//! calls one upstream often can hold an `UpstreamHandle` (`upstream(route, backend)`) and skip the label
//! lookup.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{IntCounter, IntGauge, TextEncoder};

use super::families::Families;
use super::labels::Identities;
pub use super::labels::{DenialKind, ErrorType, LimitKind, Outcome, tool_label};

/// The families plus the state that keeps their labels bounded.
pub struct Metrics {
    pub(crate) families: Families,
    identities: Identities,
}

/// The process-wide instance, created on first use.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Everything registered, in the Prometheus text format (0.0.4).
pub fn render() -> String {
    global().render()
}

/// A request answered on a route. `status` is the HTTP status; `method` is the label of its JSON-RPC method,
/// already bounded by the protocol's method table (`other` for an unknown method).
pub fn request(
    route: &str,
    identity: Option<&str>,
    method: &'static str,
    status: u16,
    duration: Duration,
) {
    global().request(route, identity, method, status, duration)
}

/// An error answered to an MCP client, for requests that are not `tools/call` (those use `tool_call` or
/// `tool_rejected`, which count the error themselves).
pub fn error(route: &str, error_type: ErrorType) {
    global().error(route, error_type)
}

/// A `tools/call` dispatched to `backend`, finished with `outcome` after `duration` (retries included).
/// `tool` is the catalogue's name for it, so always known.
pub fn tool_call(route: &str, backend: &str, tool: &str, outcome: Outcome, duration: Duration) {
    global().tool_call(route, backend, tool, outcome, duration)
}

/// A `tools/call` refused before dispatch, with the error it was answered with. `known` says whether the
/// catalogue has the tool (an unknown name is counted as `unknown`). The policy that refused it is
/// counted by `Error::report`.
pub fn tool_rejected(route: &str, tool: &str, known: bool, error_type: ErrorType) {
    global().tool_rejected(route, tool, known, error_type)
}

/// A call whose arguments broke the tool's `inputSchema`.
pub fn schema_rejected(route: &str) {
    global().schema_rejected(route)
}

/// An A2A call from `source` (the verified caller) to `target` (a configured agent).
pub fn a2a_call(source: Option<&str>, target: &str, outcome: Outcome, duration: Duration) {
    global().a2a_call(source, target, outcome, duration)
}

/// One discovery round against an upstream.
pub fn discovery(backend: &str, ok: bool) {
    global().discovery(backend, ok)
}

pub fn upstream_up(route: &str, backend: &str, up: bool) {
    global().upstream(route, backend).up(up)
}

pub fn catalogue_tools(route: &str, tools: usize) {
    global().catalogue_tools(route, tools)
}

pub fn registry_drift(route: &str, backend: &str, tools: usize) {
    global().registry_drift(route, backend, tools)
}

pub fn session_opened(route: &str) -> ActiveGuard {
    global().session_opened(route)
}

pub fn stream_opened(route: &str) -> ActiveGuard {
    global().stream_opened(route)
}

pub fn authz_denied(route: &str, kind: DenialKind) {
    global().authz_denied(route, kind)
}

pub fn rate_limited(route: &str, kind: LimitKind) {
    global().rate_limited(route, kind)
}

pub fn retry(backend: &str) {
    global().retry(backend)
}

pub fn timeout(backend: &str) {
    global().timeout(backend)
}

pub fn config_reload(ok: bool) {
    global().config_reload(ok)
}

/// Pre-resolved series for one upstream of one route: the calls discovery, health and retry code make
/// often, without hashing labels each time.
#[derive(Clone)]
pub struct UpstreamHandle {
    up: IntGauge,
    discovery_ok: IntCounter,
    discovery_failed: IntCounter,
    retries: IntCounter,
    timeouts: IntCounter,
}

impl UpstreamHandle {
    pub fn up(&self, up: bool) {
        self.up.set(i64::from(up));
    }

    /// A discovery round; also sets the up gauge, since a failed round is what makes an upstream down.
    pub fn discovery(&self, ok: bool) {
        if ok {
            self.discovery_ok.inc();
        } else {
            self.discovery_failed.inc();
        }
        self.up(ok);
    }

    pub fn retry(&self) {
        self.retries.inc();
    }

    pub fn timeout(&self) {
        self.timeouts.inc();
    }
}

pub fn upstream(route: &str, backend: &str) -> UpstreamHandle {
    global().upstream(route, backend)
}

/// Keeps a gauge one higher while it lives: sessions and streams end on every path (errors, disconnects,
/// panics unwinding) by dropping it.
pub struct ActiveGuard(IntGauge);

impl ActiveGuard {
    fn new(gauge: IntGauge) -> ActiveGuard {
        gauge.inc();
        ActiveGuard(gauge)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            families: Families::new(),
            identities: Identities::new(),
        }
    }

    pub fn render(&self) -> String {
        // The exporter counts its drops without knowing the registry; bring the counter up to date.
        let dropped = self
            .families
            .trace_spans_dropped
            .with_label_values(&[] as &[&str]);
        dropped.inc_by(super::tracing::dropped_spans().saturating_sub(dropped.get()));
        // The text encoder only fails on invalid families, which `Families::new` cannot build.
        TextEncoder::new()
            .encode_to_string(&self.families.registry.gather())
            .unwrap_or_default()
    }

    /// Names of every registered family, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.families.described.iter().map(|(n, _)| n.as_str())
    }

    pub fn request(
        &self,
        route: &str,
        identity: Option<&str>,
        method: &'static str,
        status: u16,
        duration: Duration,
    ) {
        let f = &self.families;
        let status = http::StatusCode::from_u16(status);
        let status = status.as_ref().map_or("invalid", http::StatusCode::as_str);
        let identity = self.identities.label(identity);
        f.requests
            .with_label_values(&[identity, route, method, status])
            .inc();
        f.request_duration
            .with_label_values(&[route, method])
            .observe(duration.as_secs_f64());
    }

    pub fn error(&self, route: &str, error_type: ErrorType) {
        self.families
            .mcp_errors
            .with_label_values(&[error_type.as_str(), route])
            .inc();
    }

    pub fn tool_call(
        &self,
        route: &str,
        backend: &str,
        tool: &str,
        outcome: Outcome,
        duration: Duration,
    ) {
        let f = &self.families;
        let secs = duration.as_secs_f64();
        f.tool_invocations
            .with_label_values(&[tool, backend, route, outcome.as_str()])
            .inc();
        f.tool_invocation_duration
            .with_label_values(&[tool, backend])
            .observe(secs);
        f.mcp_tool_calls.with_label_values(&[route, tool]).inc();
        f.mcp_tool_call_duration
            .with_label_values(&[route, tool])
            .observe(secs);
        let error_type = match outcome {
            Outcome::Ok => return,
            Outcome::Error => ErrorType::UpstreamError,
            Outcome::Timeout => ErrorType::UpstreamTimeout,
            Outcome::Unavailable => ErrorType::UpstreamUnavailable,
            Outcome::Denied => ErrorType::Forbidden,
        };
        self.tool_error(route, tool, error_type);
    }

    pub fn schema_rejected(&self, route: &str) {
        self.families
            .schema_rejections
            .with_label_values(&[route])
            .inc();
    }

    pub fn tool_rejected(&self, route: &str, tool: &str, known: bool, error_type: ErrorType) {
        let tool = tool_label(tool, known);
        self.families
            .mcp_tool_calls
            .with_label_values(&[route, tool])
            .inc();
        self.tool_error(route, tool, error_type);
    }

    fn tool_error(&self, route: &str, tool: &str, error_type: ErrorType) {
        self.families
            .mcp_tool_errors
            .with_label_values(&[route, tool, error_type.as_str()])
            .inc();
        self.error(route, error_type);
    }

    pub fn a2a_call(
        &self,
        source: Option<&str>,
        target: &str,
        outcome: Outcome,
        duration: Duration,
    ) {
        let f = &self.families;
        let source = self.identities.label(source);
        f.a2a_calls
            .with_label_values(&[source, target, outcome.as_str()])
            .inc();
        if outcome != Outcome::Denied {
            f.a2a_call_duration
                .with_label_values(&[target])
                .observe(duration.as_secs_f64());
        }
    }

    pub fn discovery(&self, backend: &str, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.families
            .mcp_discovery
            .with_label_values(&[backend, result])
            .inc();
    }

    pub fn upstream(&self, route: &str, backend: &str) -> UpstreamHandle {
        let f = &self.families;
        UpstreamHandle {
            up: f.upstream_up.with_label_values(&[route, backend]),
            discovery_ok: f.mcp_discovery.with_label_values(&[backend, "success"]),
            discovery_failed: f.mcp_discovery.with_label_values(&[backend, "failure"]),
            retries: f.retries.with_label_values(&[backend]),
            timeouts: f.timeouts.with_label_values(&[backend]),
        }
    }

    pub fn registry_drift(&self, route: &str, backend: &str, tools: usize) {
        let n = i64::try_from(tools).unwrap_or(i64::MAX);
        self.families
            .registry_drift
            .with_label_values(&[route, backend])
            .set(n);
    }

    pub fn catalogue_tools(&self, route: &str, tools: usize) {
        let n = i64::try_from(tools).unwrap_or(i64::MAX);
        self.families
            .catalogue_tools
            .with_label_values(&[route])
            .set(n);
    }

    pub fn session_opened(&self, route: &str) -> ActiveGuard {
        ActiveGuard::new(self.families.active_sessions.with_label_values(&[route]))
    }

    pub fn stream_opened(&self, route: &str) -> ActiveGuard {
        ActiveGuard::new(self.families.active_streams.with_label_values(&[route]))
    }

    pub fn retry(&self, backend: &str) {
        self.families.retries.with_label_values(&[backend]).inc();
    }

    pub fn timeout(&self, backend: &str) {
        self.families.timeouts.with_label_values(&[backend]).inc();
    }

    pub fn authz_denied(&self, route: &str, kind: DenialKind) {
        self.families
            .authz_denials
            .with_label_values(&[route, kind.as_str()])
            .inc();
    }

    pub fn rate_limited(&self, route: &str, kind: LimitKind) {
        self.families
            .ratelimit_rejections
            .with_label_values(&[route, kind.as_str()])
            .inc();
    }

    pub fn config_reload(&self, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.families
            .config_reloads
            .with_label_values(&[result])
            .inc();
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
