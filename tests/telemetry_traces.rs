//! OpenTelemetry traces end to end: an OTLP/gRPC receiver written here (tonic + `opentelemetry-proto`'s
//! TraceService), an in-process gateway exporting to it at samplingRate 1.0, and real calls through it:
//!
//! (a) an MCP `tools/call` whose upstream answers 503 once, retried, sent with a caller's `traceparent`;
//! (b) an A2A `message/send` through an `/agents` route to `tests/peers/a2a_agent.py`;
//! (c) a collector that is down: calls neither fail nor slow down, and the dropped spans are counted.
//!
//! The exporter is process-wide (one per gateway process), so the tests take turns.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::stub::{Answer, Era, Stub};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// One gateway (and so one exporter) at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------------------------
// The OTLP receiver
// ---------------------------------------------------------------------------------------------------------

/// A span as received, with what the assertions need.
#[derive(Debug, Clone)]
struct Got {
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    kind: i32,
    attributes: HashMap<String, String>,
    service: String,
}

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Got>>>,
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .map(|kv| text(&kv.value))
                .unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(Got {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent: hex(&span.parent_span_id),
                    name: span.name,
                    kind: span.kind,
                    attributes: span
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.clone(), text(&kv.value)))
                        .collect(),
                    service: service.clone(),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Receiver {
    async fn start() -> (Receiver, SocketAddr) {
        let receiver = Receiver::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = TraceServiceServer::new(receiver.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .unwrap();
        });
        (receiver, addr)
    }

    /// Waits (at most 15s) until `done` holds for the spans received.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let started = Instant::now();
        loop {
            let spans = self.spans.lock().unwrap().clone();
            if done(&spans) {
                return spans;
            }
            if started.elapsed() > Duration::from_secs(15) {
                panic!("{what}: not received within 15s; spans: {spans:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// An MCP upstream (2026-07-28, stateless) whose first tools/call answers 503
// ---------------------------------------------------------------------------------------------------------

/// A stub (`common::stub`): no real upstream fails once on cue. It keeps every request, so the test reads
/// the `traceparent` of each attempt, in the header and in `params._meta`.
async fn upstream() -> Stub {
    Stub::mcp(Era::Stateless)
        .keep_alive(false)
        .start(|r| match r.rpc_method() {
            "tools/list" => r.result(
                json!({"tools": [{"name": "get_weather_data", "inputSchema": {"type": "object"}}]}),
            ),
            "tools/call" if r.attempt == 1 => {
                Answer::status(503, "application/json", "\"overloaded\"")
            }
            "tools/call" => {
                r.result(json!({"content": [{"type": "text", "text": "sunny"}], "isError": false}))
            }
            _ => r.not_found(),
        })
        .await
}

/// (`traceparent` header, `params._meta.traceparent`) of every tools/call attempt.
fn traceparents(upstream: &Stub) -> Vec<(Option<String>, Option<String>)> {
    upstream
        .rpc("tools/call")
        .iter()
        .map(|r| {
            (
                r.header("traceparent").map(str::to_string),
                r.params()["_meta"]["traceparent"]
                    .as_str()
                    .map(str::to_string),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------------------

fn observability(collector: SocketAddr) -> String {
    format!(
        "observability:\n  opentelemetry:\n    enabled: true\n    endpoint: http://{collector}\n    protocol: grpc\n    tracing:\n      enabled: true\n      samplingRate: 1.0\n      attributes:\n        - key: tool.name\n          value: ${{mcp.tool}}\n        - key: gateway.version\n          value: v6\n"
    )
}

fn mcp_yaml(upstream: SocketAddr, collector: SocketAddr) -> String {
    format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: test\n        routes:\n          - name: tools\n            match: {{path: {{prefix: /mcp}}}}\n            policies:\n              - type: retry\n                retry: {{attempts: 2, retryOn: [5xx], backoff: {{baseInterval: 10ms, maxInterval: 20ms}}}}\n            backends:\n              - name: weather\n                type: mcp-http\n                address: http://{upstream}\n{}",
        observability(collector)
    )
}

async fn call_tool(gw: &common::Gateway, headers: &[(&str, &str)]) -> Value {
    let reply = common::post_json(
        &gw.url("/mcp"),
        headers,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_weather_data", "arguments": {"city": "Tampa, FL"}}}),
    )
    .await;
    serde_json::from_str(&reply.text)
        .unwrap_or_else(|e| panic!("HTTP {}: {} ({e})", reply.status, reply.text))
}

const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

// ---------------------------------------------------------------------------------------------------------
// (a) MCP tools/call with a retry
// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_call_with_a_retry_is_one_server_span_and_a_client_span_per_attempt() {
    let _serial = SERIAL.lock().await;
    let (receiver, collector) = Receiver::start().await;
    let upstream = upstream().await;
    let gw = common::gateway(&mcp_yaml(upstream.addr, collector)).await;

    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let body = call_tool(&gw, &[("traceparent", &traceparent)]).await;
    assert_eq!(body["result"]["content"][0]["text"], "sunny", "{body}");

    let spans = receiver
        .wait_for("one server span and two client spans", |spans| {
            spans.iter().filter(|s| s.trace_id == CALLER_TRACE).count() >= 3
        })
        .await;
    let ours: Vec<&Got> = spans
        .iter()
        .filter(|s| s.trace_id == CALLER_TRACE)
        .collect();
    let server: Vec<&&Got> = ours
        .iter()
        .filter(|s| s.kind == SpanKind::Server as i32)
        .collect();
    assert_eq!(server.len(), 1, "{ours:#?}");
    let server = server[0];
    assert_eq!(
        server.parent, CALLER_SPAN,
        "the caller's span is the parent"
    );
    assert_eq!(server.name, "tools/call get_weather_data", "{server:#?}");
    assert_eq!(server.service, "agent-gateway");
    let a = &server.attributes;
    assert_eq!(a["mcp.method.name"], "tools/call", "{a:?}");
    assert_eq!(a["gen_ai.tool.name"], "get_weather_data", "{a:?}");
    assert_eq!(
        a["tool.name"], "get_weather_data",
        "${{mcp.tool}} resolved: {a:?}"
    );
    assert_eq!(a["gateway.version"], "v6", "{a:?}");
    assert_eq!(a["http.response.status_code"], "200", "{a:?}");

    let mut clients: Vec<&&Got> = ours
        .iter()
        .filter(|s| s.kind == SpanKind::Client as i32)
        .collect();
    assert_eq!(clients.len(), 2, "one client span per attempt: {ours:#?}");
    clients.sort_by_key(|s| s.attributes.contains_key("http.request.resend_count"));
    for client in &clients {
        assert_eq!(client.parent, server.span_id, "children of the server span");
        assert_eq!(client.name, "tools/call get_weather_data");
        assert_eq!(client.attributes["gen_ai.tool.name"], "get_weather_data");
        assert_eq!(client.attributes["tool.name"], "get_weather_data");
        assert_eq!(client.attributes["mcp.method.name"], "tools/call");
    }
    assert_eq!(
        clients[0].attributes["http.response.status_code"], "503",
        "{clients:#?}"
    );
    assert_eq!(clients[1].attributes["http.request.resend_count"], "1");
    assert_eq!(clients[1].attributes["http.response.status_code"], "200");

    // The upstream saw each attempt's own context, in the header and in `_meta`.
    let seen = traceparents(&upstream);
    assert_eq!(seen.len(), 2, "{seen:?}");
    for ((header, meta), client) in seen.iter().zip(&clients) {
        let expected = format!("00-{CALLER_TRACE}-{}-01", client.span_id);
        assert_eq!(header.as_deref(), Some(expected.as_str()), "header");
        assert_eq!(meta.as_deref(), Some(expected.as_str()), "_meta");
    }

    // Without a caller's context the gateway starts a trace; tools/list (served locally) is a span too.
    let listed = common::post_json(
        &gw.url("/mcp"),
        &[],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    receiver
        .wait_for("the tools/list server span", |spans| {
            spans.iter().any(|s| {
                s.kind == SpanKind::Server as i32
                    && s.trace_id != CALLER_TRACE
                    && s.parent.is_empty()
            })
        })
        .await;
}

// ---------------------------------------------------------------------------------------------------------
// (b) A2A through /agents
// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_call_is_a_server_span_and_a_client_span_with_a2a_method() {
    let _serial = SERIAL.lock().await;
    let (receiver, collector) = Receiver::start().await;
    let mut cmd = tokio::process::Command::new(common::tool("venv-a2a/bin/python"));
    cmd.arg(common::repo().join("tests/peers/a2a_agent.py"))
        .args(["--name", "weather-agent-v6", "--compat"]);
    let (_agent, port) = common::spawn_listening(cmd).await;
    let yaml = format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: test\n        routes:\n          - name: agent-to-agent\n            match: {{path: {{prefix: /agents}}}}\n            backends:\n              - name: weather-agent-backend\n                address: http://127.0.0.1:{port}\n{}",
        observability(collector)
    );
    let gw = common::gateway(&yaml).await;
    // The agent's card names it; wait until the gateway has read it.
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let listed: Value = client
            .get(gw.url("/agents"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null);
        if listed.to_string().contains("weather-agent-v6") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "agent never listed: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let response = client
        .post(gw.url("/agents/weather-agent-v6"))
        .header("traceparent", &traceparent)
        .header("a2a-version", "0.3")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "message/send",
            "params": {"message": {"kind": "message", "messageId": "m1", "role": "user",
                "parts": [{"kind": "text", "text": "hello weather"}]}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body.to_string().contains("hello back"), "{body}");

    let spans = receiver
        .wait_for("A2A server and client spans", |spans| {
            spans
                .iter()
                .filter(|s| s.trace_id == CALLER_TRACE && s.name == "message/send weather-agent-v6")
                .count()
                >= 2
        })
        .await;
    let ours: Vec<&Got> = spans
        .iter()
        .filter(|s| s.trace_id == CALLER_TRACE && s.name == "message/send weather-agent-v6")
        .collect();
    let server = ours
        .iter()
        .find(|s| s.kind == SpanKind::Server as i32)
        .unwrap_or_else(|| panic!("no server span: {ours:#?}"));
    let client_span = ours
        .iter()
        .find(|s| s.kind == SpanKind::Client as i32)
        .unwrap_or_else(|| panic!("no client span: {ours:#?}"));
    assert_eq!(server.parent, CALLER_SPAN);
    assert_eq!(client_span.parent, server.span_id);
    for span in [server, client_span] {
        assert_eq!(span.attributes["a2a.method"], "message/send", "{span:#?}");
        assert_eq!(span.attributes["gateway.version"], "v6", "{span:#?}");
        assert_eq!(
            span.attributes["http.response.status_code"], "200",
            "{span:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// (c) A collector that is down
// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_neither_fails_nor_slows_calls() {
    let _serial = SERIAL.lock().await;
    let (_held, down) = common::refusing_addr();
    let upstream = upstream().await;
    let gw = common::gateway(&mcp_yaml(upstream.addr, down)).await;
    let dropped_before = agent_gateway::core::telemetry::tracing::dropped_spans();

    let started = Instant::now();
    for _ in 0..20 {
        let body = call_tool(&gw, &[]).await;
        assert_eq!(body["result"]["content"][0]["text"], "sunny", "{body}");
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "20 calls took {elapsed:?} with the collector down"
    );
    // The spans are dropped, counted, and the gateway carries on.
    let started = Instant::now();
    while agent_gateway::core::telemetry::tracing::dropped_spans() <= dropped_before {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no dropped spans counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = call_tool(&gw, &[]).await;
    assert_eq!(body["result"]["content"][0]["text"], "sunny", "{body}");
}
