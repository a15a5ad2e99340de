//! The metric families and the registry that holds them.
//!
//! Names without a prefix are the ones the user's guide (step 3.1, 4.4, 8) queries, spelt exactly as there,
//! including `mcp_tool_call_duration` and `mcp_tool_errors`, whose names break Prometheus' naming advice: the
//! guide's dashboards and alerts depend on them. What the guide does not name is prefixed `agent_gateway_`.
//! `docs/metrics.md` documents each family; a test keeps the two in step.

use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Latency buckets in seconds, for every duration histogram. They reach 300 s because the guide's timeout
/// policy allows browser tasks that long, and include 10 s because the HighLatency alert fires above it.
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

pub struct Families {
    pub registry: Registry,
    /// Names and label names of every family, in registration order (for the docs test and `names()`).
    pub described: Vec<(String, Vec<String>)>,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub tool_invocations: IntCounterVec,
    pub tool_invocation_duration: HistogramVec,
    pub mcp_errors: IntCounterVec,
    pub a2a_calls: IntCounterVec,
    pub a2a_call_duration: HistogramVec,
    pub mcp_tool_calls: IntCounterVec,
    pub mcp_tool_call_duration: HistogramVec,
    pub mcp_tool_errors: IntCounterVec,
    pub mcp_discovery: IntCounterVec,
    pub upstream_up: IntGaugeVec,
    pub catalogue_tools: IntGaugeVec,
    pub registry_drift: IntGaugeVec,
    pub active_sessions: IntGaugeVec,
    pub active_streams: IntGaugeVec,
    pub authz_denials: IntCounterVec,
    pub ratelimit_rejections: IntCounterVec,
    pub retries: IntCounterVec,
    pub timeouts: IntCounterVec,
    pub schema_rejections: IntCounterVec,
    pub config_reloads: IntCounterVec,
    pub trace_spans_dropped: IntCounterVec,
    pub build_info: IntGaugeVec,
}

/// Registers collectors and remembers what it registered.
struct Builder {
    registry: Registry,
    described: Vec<(String, Vec<String>)>,
}

impl Builder {
    fn add<C: Collector + Clone + 'static>(&mut self, c: C) -> C {
        for d in c.desc() {
            self.described
                .push((d.fq_name.clone(), d.variable_labels.clone()));
        }
        // Names are constants in this file; a clash is a programming error caught by every test.
        self.registry
            .register(Box::new(c.clone()))
            .expect("metric families have distinct names");
        c
    }

    fn counter(&mut self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
        self.add(c)
    }

    fn gauge(&mut self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge");
        self.add(g)
    }

    fn histogram(&mut self, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(DURATION_BUCKETS.to_vec());
        let h = HistogramVec::new(opts, labels).expect("valid histogram");
        self.add(h)
    }
}

impl Families {
    pub fn new() -> Families {
        let mut b = Builder {
            registry: Registry::new(),
            described: Vec::new(),
        };
        let f = Families {
            requests: b.counter(
                "agent_requests_total",
                "Requests answered on MCP and A2A routes.",
                &["agent_identity", "route", "method", "status"],
            ),
            request_duration: b.histogram(
                "agent_request_duration_seconds",
                "Time from request received to response headers sent (streams: to stream end).",
                &["route", "method"],
            ),
            tool_invocations: b.counter(
                "tool_invocations_total",
                "Tool calls dispatched to an upstream, by outcome.",
                &["tool_name", "backend", "route", "status"],
            ),
            tool_invocation_duration: b.histogram(
                "tool_invocation_duration_seconds",
                "Time a dispatched tool call took, retries included.",
                &["tool_name", "backend"],
            ),
            mcp_errors: b.counter(
                "mcp_errors_total",
                "Errors MCP clients saw: JSON-RPC errors, refused requests and failed tool calls.",
                &["error_type", "route"],
            ),
            a2a_calls: b.counter(
                "a2a_calls_total",
                "Agent-to-agent calls relayed or refused, by caller identity and target agent.",
                &["source", "target", "status"],
            ),
            a2a_call_duration: b.histogram(
                "agent_gateway_a2a_call_duration_seconds",
                "Time an A2A call to the target agent took.",
                &["target"],
            ),
            mcp_tool_calls: b.counter(
                "mcp_tool_calls_total",
                "tools/call requests received, dispatched or refused.",
                &["route", "tool_name"],
            ),
            mcp_tool_call_duration: b.histogram(
                "mcp_tool_call_duration",
                "Time a dispatched tools/call took, in seconds.",
                &["route", "tool_name"],
            ),
            mcp_tool_errors: b.counter(
                "mcp_tool_errors",
                "tools/call requests that ended in an error, refused ones included.",
                &["route", "tool_name", "error_type"],
            ),
            mcp_discovery: b.counter(
                "mcp_discovery_requests",
                "Tool discovery rounds against an upstream, by result.",
                &["backend", "result"],
            ),
            upstream_up: b.gauge(
                "agent_gateway_upstream_up",
                "1 while the upstream's last discovery or call succeeded, else 0.",
                &["route", "backend"],
            ),
            catalogue_tools: b.gauge(
                "agent_gateway_catalogue_tools",
                "Tools in the route's catalogue (withheld tools not counted).",
                &["route"],
            ),
            registry_drift: b.gauge(
                "agent_gateway_registry_drift",
                "Tools an upstream lists that differ from the registry lock (withheld with registry.mode enforce).",
                &["route", "backend"],
            ),
            active_sessions: b.gauge(
                "agent_gateway_active_sessions",
                "MCP sessions held on this replica: 2024-11-05 HTTP+SSE streams (Streamable HTTP sessions are sealed and held by no replica).",
                &["route"],
            ),
            active_streams: b.gauge(
                "agent_gateway_active_streams",
                "Open SSE streams (MCP GET streams, streamed responses, A2A streams).",
                &["route"],
            ),
            authz_denials: b.counter(
                "agent_gateway_authz_denials_total",
                "Calls refused by mcp-authz or a2a-authz.",
                &["route", "kind"],
            ),
            ratelimit_rejections: b.counter(
                "agent_gateway_ratelimit_rejections_total",
                "Calls refused by a rate limit.",
                &["route", "key_kind"],
            ),
            retries: b.counter(
                "agent_gateway_retries_total",
                "Upstream attempts beyond the first, made by the retry policy.",
                &["backend"],
            ),
            timeouts: b.counter(
                "agent_gateway_timeouts_total",
                "Upstream attempts cut off by the timeout policy.",
                &["backend"],
            ),
            schema_rejections: b.counter(
                "agent_gateway_schema_rejections_total",
                "tools/call requests refused because the arguments broke the tool's inputSchema.",
                &["route"],
            ),
            config_reloads: b.counter(
                "agent_gateway_config_reloads_total",
                "Configuration reloads, by result.",
                &["result"],
            ),
            trace_spans_dropped: b.counter(
                "agent_gateway_trace_spans_dropped_total",
                "Trace spans dropped because the OTLP collector was down or slow (its queue was full).",
                &[],
            ),
            build_info: b.gauge(
                "agent_gateway_build_info",
                "Always 1; the version label says which build runs.",
                &["version"],
            ),
            // Written last: every field above borrows the builder.
            registry: b.registry,
            described: b.described,
        };
        // Set here so the series exists from the first scrape.
        f.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        f
    }
}

impl Default for Families {
    fn default() -> Families {
        Families::new()
    }
}
