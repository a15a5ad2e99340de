//! OpenTelemetry traces (the guide's `observability.opentelemetry`: Jaeger's collector on 4317, OTLP/gRPC)
//! and the trace context the access log and the upstreams see.
//!
//! Spans are made with the OpenTelemetry API directly, not through `tracing` spans: they then do not depend
//! on the log filter (`RUST_LOG=warn` must not switch traces off) nor on a global subscriber (an in-process
//! gateway, as the tests start, traces too).
//!
//! - One server span per request ([`Request::start`] in the gateway's router), child of the caller's
//!   `traceparent`/`tracestate` when it sends them. Named `<method> <target>` once the method is known:
//!   from the upstream attempts ([`Attempt`]), the A2A relay, or [`note_method`].
//! - The request's [`Trace`] travels with the call (in the `Caller`, then the upstream call's context),
//!   so an attempt running in another task still finds its parent span and its request.
//! - One client span per upstream attempt ([`Attempt::start`]), so retries are separate spans. Its context
//!   goes upstream as `traceparent` (HTTP header, and MCP `params._meta.traceparent`).
//! - Export: a bounded queue drained by a task on the gateway's Tokio runtime, which batches and exports with
//!   a timeout. A full queue or a failed export drops spans: counted ([`dropped_spans`]) and logged at most
//!   once a minute. Nothing on the request path ever waits for the collector.
//!
//! With tracing off, no span is made, but the caller's trace context still goes to the upstreams and its
//! trace id to the access log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor,
};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::config::OpenTelemetry;
use crate::core::error::TargetKind;

/// How long one export may take before its spans are dropped.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);
/// Spans waiting for export; beyond this they are dropped (and counted).
const QUEUE: usize = 4096;
/// Most spans in one export.
const MAX_BATCH: usize = 512;
/// How long the exporter waits for a batch to fill.
const BATCH_DELAY: Duration = Duration::from_millis(500);
/// At most one "spans dropped" warning per this interval.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(60);

pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The installed exporter: the tracer and the configured span attributes.
struct Tracing {
    tracer: SdkTracer,
    provider: SdkTracerProvider,
    /// `tracing.attributes`: literal values, or templates with `${jwt.sub}` and `${mcp.tool}`.
    attributes: Vec<(String, String)>,
}

static TRACING: ArcSwapOption<Tracing> = ArcSwapOption::const_empty();
static DROPPED: AtomicU64 = AtomicU64::new(0);
static EXPORTED: AtomicU64 = AtomicU64::new(0);

/// Spans dropped so far because the export queue was full or the collector failed or timed out.
pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Spans the collector accepted so far.
pub fn exported_spans() -> u64 {
    EXPORTED.load(Ordering::Relaxed)
}

/// Installs the OTLP exporter when `observability.opentelemetry` (and its `tracing`) is enabled; replaces
/// one installed before (its queued spans are still exported). Must run on the gateway's Tokio runtime:
/// the export task and tonic's connection live there.
pub fn install(config: Option<&OpenTelemetry>) -> Result<bool, String> {
    let Some((config, tracing_config)) = config
        .filter(|c| c.enabled)
        .and_then(|c| c.tracing.as_ref().filter(|t| t.enabled).map(|t| (c, t)))
    else {
        return Ok(false);
    };
    if config.protocol != "grpc" {
        // `validate` reports it as accepted but not active.
        ::tracing::warn!(
            protocol = %config.protocol,
            "observability.opentelemetry: this build exports traces over grpc only; no traces are exported"
        );
        return Ok(false);
    }
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(&config.endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| {
            format!(
                "observability.opentelemetry.endpoint {}: {e}",
                config.endpoint
            )
        })?;
    let resource = Resource::builder()
        .with_service_name("agent-gateway")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    exporter.set_resource(&resource);
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(export_loop(rx, exporter, config.endpoint.clone()));
    // Parent-based: a caller's sampling decision holds through the gateway; new traces at the rate.
    let ratio = tracing_config.sampling_rate.clamp(0.0, 1.0);
    let provider = SdkTracerProvider::builder()
        .with_span_processor(QueueProcessor { tx })
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            ratio,
        ))))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("agent-gateway");
    let previous = TRACING.swap(Some(Arc::new(Tracing {
        tracer,
        provider,
        attributes: tracing_config.attributes.clone(),
    })));
    if let Some(previous) = previous {
        let _ = previous.provider.shutdown();
    }
    ::tracing::info!(endpoint = %config.endpoint, sampling_rate = ratio, "exporting traces over OTLP/gRPC");
    Ok(true)
}

/// Hands ended spans to the export task without ever waiting: a full queue drops the span.
#[derive(Debug)]
struct QueueProcessor {
    tx: mpsc::Sender<SpanData>,
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.tx.try_send(span).is_err() {
            dropped(1, "export queue full");
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Exports batches from the queue on the gateway's runtime (tonic needs its reactor), one at a time, each
/// bounded by `EXPORT_TIMEOUT`. Ends when the provider (and so the queue's sender) is dropped.
async fn export_loop<E: SpanExporter>(
    mut rx: mpsc::Receiver<SpanData>,
    exporter: E,
    endpoint: String,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let fill = tokio::time::sleep(BATCH_DELAY);
        tokio::pin!(fill);
        while batch.len() < MAX_BATCH {
            tokio::select! {
                span = rx.recv() => match span {
                    Some(span) => batch.push(span),
                    None => break,
                },
                _ = &mut fill => break,
            }
        }
        let n = batch.len() as u64;
        match tokio::time::timeout(EXPORT_TIMEOUT, exporter.export(std::mem::take(&mut batch)))
            .await
        {
            Ok(Ok(())) => {
                EXPORTED.fetch_add(n, Ordering::Relaxed);
            }
            Ok(Err(e)) => dropped(n, &format!("export to {endpoint} failed: {e}")),
            Err(_) => dropped(n, &format!("export to {endpoint} timed out")),
        }
    }
}

fn dropped(n: u64, why: &str) {
    let total = DROPPED.fetch_add(n, Ordering::Relaxed) + n;
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap();
    if last.is_none_or(|at| at.elapsed() >= DROP_LOG_INTERVAL) {
        *last = Some(Instant::now());
        ::tracing::warn!(
            dropped_spans_total = total,
            "traces: spans dropped ({why}); requests are not affected"
        );
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct Headers(Vec<(HeaderName, HeaderValue)>);

impl Injector for Headers {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.push((name, value));
        }
    }
}

/// The caller's W3C trace context (`traceparent`, `tracestate`), or an empty context.
pub fn extract(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// `traceparent` (and `tracestate` when not empty) for `cx`'s span; none when it has no valid span.
pub fn headers_for(cx: &Context) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = Headers(Vec::new());
    if cx.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(cx, &mut headers);
    }
    headers.0
}

/// `traceparent` of `cx`'s span, as it goes upstream.
pub fn traceparent(cx: &Context) -> Option<HeaderValue> {
    headers_for(cx)
        .into_iter()
        .find(|(name, _)| name == TRACEPARENT)
        .map(|(_, v)| v)
}

/// Replaces `traceparent`/`tracestate` in `headers` by those of the current context (an upstream attempt's
/// client span). Leaves them alone outside an attempt.
pub fn inject_current(headers: &mut HeaderMap) {
    let cx = Context::current();
    if !cx.span().span_context().is_valid() {
        return;
    }
    headers.remove(TRACEPARENT);
    headers.remove(TRACESTATE);
    for (name, value) in headers_for(&cx) {
        headers.insert(name, value);
    }
}

/// Records the upstream's HTTP status on the current client span (inside an attempt).
pub fn record_status(status: u16) {
    let cx = Context::current();
    let span = cx.span();
    if span.is_recording() {
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
    }
}

fn trace_id_of(cx: &Context) -> Option<String> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// The configured attributes for a span, with `${jwt.sub}` and `${mcp.tool}` resolved; an attribute whose
/// placeholder has no value here is left out.
fn configured(
    attributes: &[(String, String)],
    principal: Option<&str>,
    tool: Option<&str>,
) -> Vec<KeyValue> {
    attributes
        .iter()
        .filter_map(|(key, template)| {
            let mut value = template.clone();
            for (placeholder, actual) in [("${jwt.sub}", principal), ("${mcp.tool}", tool)] {
                if value.contains(placeholder) {
                    value = value.replace(placeholder, actual?);
                }
            }
            Some(KeyValue::new(key.clone(), value))
        })
        .collect()
}

/// What the request turned out to be, learnt as it is served.
#[derive(Debug, Default, Clone)]
pub struct RequestInfo {
    /// `mcp` or `a2a`.
    pub protocol: &'static str,
    /// The JSON-RPC (or A2A) method.
    pub method: Option<String>,
    /// The tool (MCP `tools/call`), prompt or resource, or the agent (A2A).
    pub target: Option<String>,
    /// What kind of thing `target` is.
    pub target_kind: Option<TargetKind>,
    /// The upstream that served it.
    pub backend: Option<String>,
    /// The authenticated caller.
    pub principal: Option<String>,
}

struct Shared {
    cx: Context,
    info: Mutex<RequestInfo>,
}

/// A request's trace as the call carries it: its server span's context (the parent of every upstream
/// attempt) and what the request learns for its span and access-log line. Cheap to clone.
#[derive(Clone)]
pub struct Trace(Arc<Shared>);

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trace")
    }
}

tokio::task_local! {
    static CURRENT: Arc<Shared>;
}

/// One request's trace: its server span (when traces are on), the context upstreams get, and what the
/// access log and the span's name need.
pub struct Request {
    shared: Arc<Shared>,
    tracing: Option<Arc<Tracing>>,
    started: Instant,
}

/// How a request ended, for its span and access-log line.
pub struct Outcome<'a> {
    pub route: Option<&'a str>,
    pub status: u16,
    pub error_code: Option<i64>,
}

impl Request {
    /// Starts the server span for a request, as a child of the caller's trace context when it sends one.
    pub fn start(headers: &HeaderMap, protocol: &'static str, name: &str) -> Request {
        let parent = extract(headers);
        let tracing = TRACING.load_full();
        let cx = match &tracing {
            Some(t) => {
                let span = t
                    .tracer
                    .span_builder(name.to_string())
                    .with_kind(SpanKind::Server)
                    .start_with_context(&t.tracer, &parent);
                parent.with_span(span)
            }
            None => parent,
        };
        let info = RequestInfo {
            protocol,
            method: headers
                .get("mcp-method")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            target: headers
                .get("mcp-name")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            ..RequestInfo::default()
        };
        let shared = Arc::new(Shared {
            cx,
            info: Mutex::new(info),
        });
        Request {
            shared,
            tracing,
            started: Instant::now(),
        }
    }

    /// The handle the call carries to its upstream attempts.
    pub fn trace(&self) -> Trace {
        Trace(self.shared.clone())
    }

    /// The trace id, for the access log.
    pub fn trace_id(&self) -> Option<String> {
        trace_id_of(&self.shared.cx)
    }

    /// Runs `f` as this request's work: [`note_method`] and the A2A relay find the request through it.
    pub async fn scope<F: std::future::Future>(&self, f: F) -> F::Output {
        CURRENT.scope(self.shared.clone(), f).await
    }

    /// Sets the protocol once the route is known.
    pub fn set_protocol(&self, protocol: &'static str) {
        self.shared.info.lock().unwrap().protocol = protocol;
    }

    /// Sets the authenticated caller (`${jwt.sub}`, the access log's `principal`).
    pub fn set_principal(&self, principal: Option<&str>) {
        self.shared.info.lock().unwrap().principal = principal.map(str::to_string);
    }

    /// Ends the server span and writes the access-log line.
    pub fn finish(self, outcome: Outcome<'_>) {
        let info = self.shared.info.lock().unwrap().clone();
        let duration = self.started.elapsed();
        let trace_id = self.trace_id();
        ::tracing::info!(
            target: "access",
            trace_id = trace_id.as_deref(),
            principal = info.principal.as_deref(),
            route = outcome.route,
            protocol = info.protocol,
            method = info.method.as_deref(),
            target_name = info.target.as_deref(),
            backend = info.backend.as_deref(),
            status = outcome.status,
            error_code = outcome.error_code,
            duration_ms = duration.as_secs_f64() * 1000.0,
            "request"
        );
        let Some(tracing) = &self.tracing else { return };
        let span = self.shared.cx.span();
        if let Some(name) = span_name(&info) {
            span.update_name(name);
        }
        let tool = (info.target_kind == Some(TargetKind::Tool))
            .then_some(info.target.as_deref())
            .flatten();
        span.set_attributes(configured(
            &tracing.attributes,
            info.principal.as_deref(),
            tool,
        ));
        span.set_attributes(protocol_attributes(&info));
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(outcome.status),
        ));
        if let Some(route) = outcome.route {
            span.set_attribute(KeyValue::new("agent_gateway.route", route.to_string()));
        }
        if let Some(code) = outcome.error_code {
            span.set_attribute(KeyValue::new("rpc.jsonrpc.error_code", code));
        }
        if outcome.status >= 500 || outcome.error_code.is_some() {
            span.set_status(Status::error(match outcome.error_code {
                Some(code) => format!("JSON-RPC error {code}"),
                None => format!("HTTP {}", outcome.status),
            }));
        }
        span.end();
    }
}

fn span_name(info: &RequestInfo) -> Option<String> {
    let method = info.method.as_deref()?;
    Some(match &info.target {
        Some(target) => format!("{method} {target}"),
        None => method.to_string(),
    })
}

fn protocol_attributes(info: &RequestInfo) -> Vec<KeyValue> {
    let mut out = Vec::new();
    if let Some(m) = &info.method {
        let key = if info.protocol == "a2a" {
            "a2a.method"
        } else {
            "mcp.method.name"
        };
        out.push(KeyValue::new(key, m.clone()));
    }
    if let (Some(kind), Some(target)) = (info.target_kind, &info.target) {
        let key = match kind {
            TargetKind::Tool => "gen_ai.tool.name",
            TargetKind::Prompt => "gen_ai.prompt.name",
            TargetKind::Resource => "mcp.resource.uri",
            TargetKind::Agent => "a2a.agent.name",
            TargetKind::Task => "a2a.task.id",
        };
        out.push(KeyValue::new(key, target.clone()));
    }
    if let Some(backend) = &info.backend {
        out.push(KeyValue::new("agent_gateway.backend", backend.clone()));
    }
    out
}

/// Tells the current request (when called inside its [`Request::scope`]) its method and target, for the
/// span name and the access log. Calls after the first keep the first method.
pub fn note_method(method: &str, target: Option<(TargetKind, &str)>) {
    let _ = CURRENT.try_with(|shared| note(shared, method, target, None));
}

/// The current request's target, when known before its method (an A2A agent from the path).
pub fn note_target(kind: TargetKind, target: &str) {
    let _ = CURRENT.try_with(|shared| {
        let mut info = shared.info.lock().unwrap();
        info.target.get_or_insert_with(|| target.to_string());
        info.target_kind.get_or_insert(kind);
    });
}

fn note(shared: &Shared, method: &str, target: Option<(TargetKind, &str)>, backend: Option<&str>) {
    let mut info = shared.info.lock().unwrap();
    if info.method.is_none() {
        info.method = Some(method.to_string());
    }
    if let Some((kind, name)) = target {
        info.target.get_or_insert_with(|| name.to_string());
        info.target_kind.get_or_insert(kind);
    }
    if info.backend.is_none() {
        info.backend = backend.map(str::to_string);
    }
}

/// One upstream attempt's client span. Run the attempt inside [`Attempt::context`] (so the HTTP upstream
/// sends its `traceparent`), then [`Attempt::end`] it.
pub struct Attempt {
    cx: Context,
    recording: bool,
}

impl Attempt {
    /// An MCP attempt of the request `trace` (none for the gateway's own calls, e.g. discovery); the
    /// request learns its method, target and backend from here.
    pub fn mcp(
        trace: Option<&Trace>,
        backend: &str,
        method: &str,
        target: Option<(TargetKind, &str)>,
        principal: Option<&str>,
        attempt: u32,
    ) -> Attempt {
        if let Some(Trace(request)) = trace {
            note(request, method, target, Some(backend));
        }
        let info = RequestInfo {
            protocol: "mcp",
            method: Some(method.to_string()),
            target: target.map(|(_, name)| name.to_string()),
            target_kind: target.map(|(kind, _)| kind),
            backend: Some(backend.to_string()),
            principal: principal.map(str::to_string),
        };
        let parent = trace.map_or_else(Context::new, |Trace(request)| request.cx.clone());
        let tool = target
            .filter(|(kind, _)| *kind == TargetKind::Tool)
            .map(|(_, name)| name);
        Attempt::start(parent, &info, tool, attempt)
    }

    /// An A2A call to `agent` (in the current request's scope; its server span is the parent).
    pub fn a2a(method: &str) -> Attempt {
        let (parent, info) = CURRENT
            .try_with(|shared| {
                note(shared, method, None, None);
                let mut info = shared.info.lock().unwrap().clone();
                info.protocol = "a2a";
                info.method = Some(method.to_string());
                (shared.cx.clone(), info)
            })
            .unwrap_or_else(|_| {
                let info = RequestInfo {
                    protocol: "a2a",
                    method: Some(method.to_string()),
                    ..Default::default()
                };
                (Context::current(), info)
            });
        Attempt::start(parent, &info, None, 1)
    }

    fn start(parent: Context, info: &RequestInfo, tool: Option<&str>, attempt: u32) -> Attempt {
        let Some(tracing) = TRACING.load_full() else {
            // No traces: the caller's context goes upstream unchanged.
            return Attempt {
                cx: parent,
                recording: false,
            };
        };
        let mut attributes = configured(&tracing.attributes, info.principal.as_deref(), tool);
        attributes.extend(protocol_attributes(info));
        if attempt > 1 {
            attributes.push(KeyValue::new(
                "http.request.resend_count",
                i64::from(attempt - 1),
            ));
        }
        let span = tracing
            .tracer
            .span_builder(span_name(info).unwrap_or_else(|| "upstream".into()))
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(&tracing.tracer, &parent);
        Attempt {
            cx: parent.with_span(span),
            recording: true,
        }
    }

    /// The context to run the attempt in (`opentelemetry::context::FutureExt::with_context`).
    pub fn context(&self) -> Context {
        self.cx.clone()
    }

    /// `traceparent` for the upstream (MCP `_meta.traceparent`).
    pub fn traceparent(&self) -> Option<String> {
        traceparent(&self.cx).and_then(|v| v.to_str().ok().map(str::to_string))
    }

    /// `traceparent`/`tracestate` headers for the upstream.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        headers_for(&self.cx)
    }

    /// Ends the span: `status` is the upstream's HTTP status when known, `error` what went wrong.
    pub fn end(self, status: Option<u16>, jsonrpc_error: Option<i64>, error: Option<String>) {
        if !self.recording {
            return;
        }
        let span = self.cx.span();
        if let Some(status) = status {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Some(code) = jsonrpc_error {
            span.set_attribute(KeyValue::new("rpc.jsonrpc.error_code", code));
        }
        if let Some(error) = error {
            span.set_status(Status::error(error));
        } else if jsonrpc_error.is_some() || status.is_some_and(|s| s >= 500) {
            span.set_status(Status::error("upstream error"));
        }
        span.end();
    }
}

/// Adds `traceparent` to an MCP request's `params._meta` (params that are not an object are left alone).
pub fn add_meta(params: &mut Value, traceparent: &str) {
    if params.is_null() {
        *params = Value::Object(Default::default());
    }
    let Some(params) = params.as_object_mut() else {
        return;
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert("traceparent".into(), Value::String(traceparent.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_resolve_or_drop() {
        let attrs = vec![
            ("agent.identity".to_string(), "${jwt.sub}".to_string()),
            ("tool.name".to_string(), "${mcp.tool}".to_string()),
            ("gateway.version".to_string(), "v6".to_string()),
        ];
        let out = configured(&attrs, Some("alice"), None);
        assert_eq!(
            out,
            vec![
                KeyValue::new("agent.identity", "alice"),
                KeyValue::new("gateway.version", "v6")
            ]
        );
    }

    #[test]
    fn caller_context_passes_through_without_traces() {
        let mut headers = HeaderMap::new();
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        headers.insert(TRACEPARENT, HeaderValue::from_static(tp));
        let cx = extract(&headers);
        assert_eq!(traceparent(&cx).unwrap(), tp);
        assert_eq!(
            trace_id_of(&cx).as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
    }

    #[test]
    fn meta_gets_traceparent() {
        let mut params = serde_json::json!({"name": "t", "_meta": {"progressToken": 1}});
        add_meta(&mut params, "00-aa-bb-01");
        assert_eq!(params["_meta"]["traceparent"], "00-aa-bb-01");
        assert_eq!(params["_meta"]["progressToken"], 1);
    }
}
