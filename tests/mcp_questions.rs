//! A session-era upstream asks its caller questions mid-call (elicitation, sampling) as server-to-client
//! requests on the call's stream; a 2026-07-28 caller answers questions only through `input_required`
//! results and a retry. The gateway turns one into the other. Upstreams: a Python `mcp` SDK server kept
//! to the session era (`py_upstream.py --era legacy`) and the TypeScript SDK conformance fixture (which
//! has no 2026-07-28 at all). Callers: the Python `mcp` 2.x client and the rmcp client on the 2026-07-28
//! wire. What a caller gets through the gateway must be what the same client, in the session era, gets
//! from the upstream directly.

mod common;

use common::events::Events;
use common::{Child, Reply, gateway, post_json, route_yaml};
// Sampling is deprecated (SEP-2577), and session-era upstreams still ask for it.
use rmcp::model::{
    CallToolRequestParams, ClientConfig, ElicitRequestParams, ElicitResult, ErrorData,
    ProtocolVersion,
};
#[allow(deprecated)]
use rmcp::model::{CreateMessageRequestParams, CreateMessageResult};
use rmcp::service::RequestContext;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::{Value, json};

const STATELESS: &str = "2026-07-28";

async fn py_client(url: &str, args: &[&str]) -> Value {
    let output = tokio::process::Command::new(common::python())
        .current_dir(common::repo().join("tests/peers"))
        .arg("py_client.py")
        .args(["--url", url])
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "py_client {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

fn backend(port: u16) -> String {
    format!("- name: py\n  type: mcp-http\n  address: http://127.0.0.1:{port}\n")
}

/// The TypeScript SDK conformance fixture (session era only), and the port it listens on.
async fn typescript_upstream() -> (Child, u16) {
    let mut command = tokio::process::Command::new(common::node());
    command
        .env("NODE_PATH", common::tool("node/node_modules"))
        .arg(common::repo().join("conformance/fixtures/typescript.cjs"))
        .args(["--port", "0"]);
    common::spawn_listening(command).await
}

/// Each session-era upstream, with a tool that elicits and one that samples (and their arguments).
async fn upstreams() -> Vec<(Child, u16, [(&'static str, Value); 2])> {
    let (python, py_port) = common::py_upstream(&["--era", "legacy"]).await;
    let (typescript, ts_port) = typescript_upstream().await;
    vec![
        (
            python,
            py_port,
            [
                ("ask_user", json!({"question": "Where to?"})),
                ("sample_llm", json!({"prompt": "hi"})),
            ],
        ),
        (
            typescript,
            ts_port,
            [
                ("test_elicitation", json!({"message": "Who are you?"})),
                ("test_sampling", json!({"prompt": "hi"})),
            ],
        ),
    ]
}

/// In both eras through the gateway: on the session era the question rides the call's stream as it does
/// directly, on 2026-07-28 it becomes `input_required`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_answers_session_era_upstreams_questions_in_both_eras() {
    for (_upstream, port, tools) in upstreams().await {
        let gw = gateway(&route_yaml(&backend(port))).await;
        let direct = format!("http://127.0.0.1:{port}/mcp");
        for (tool, args) in tools {
            let args = args.to_string();
            let call = ["--call", tool, "--args", &args];
            let through = py_client(
                &gw.url("/mcp"),
                &[&["--mode", STATELESS][..], &call].concat(),
            )
            .await;
            let reference = py_client(&direct, &[&["--mode", "legacy"][..], &call].concat()).await;
            assert_eq!(through["protocolVersion"], STATELESS, "{through}");
            let text = reference["call"]["content"][0]["text"].as_str().unwrap();
            assert!(
                text.contains("test answer") || text.contains("sampled: hi"),
                "the client's answer reached the upstream directly: {reference}"
            );
            assert_eq!(through["call"], reference["call"], "{tool}");
            let session = py_client(
                &gw.url("/mcp"),
                &[&["--mode", "legacy"][..], &call].concat(),
            )
            .await;
            assert_eq!(session["call"], reference["call"], "{tool}, session era");
        }
    }
}

/// An rmcp client that answers every question: elicitation with fixed fields, sampling with fixed text.
#[derive(Clone)]
struct Answers;

impl ClientHandler for Answers {
    fn get_info(&self) -> ClientConfig {
        let mut info = ClientConfig::default();
        info.capabilities =
            serde_json::from_value(json!({"elicitation": {}, "sampling": {}})).unwrap();
        info
    }

    async fn create_elicitation(
        &self,
        _: ElicitRequestParams,
        _: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let fields = json!({"answer": "Tampa", "username": "rmcp", "email": "rmcp@example.com"});
        Ok(serde_json::from_value(json!({"action": "accept", "content": fields})).unwrap())
    }

    #[allow(deprecated)]
    async fn create_message(
        &self,
        _: CreateMessageRequestParams,
        _: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let result = json!({"role": "assistant", "model": "rmcp-test",
            "content": {"type": "text", "text": "sampled by rmcp"}});
        Ok(serde_json::from_value(result).unwrap())
    }
}

async fn rmcp_call(
    url: &str,
    lifecycle: ClientLifecycleMode,
    tool: &str,
    args: &Value,
) -> (ProtocolVersion, Value) {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_string()),
    );
    let client = Answers
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap();
    let version = client.peer_info().unwrap().protocol_version.clone();
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().unwrap().clone());
    let result = client.call_tool(params).await.unwrap();
    let _ = client.cancel().await;
    (version, serde_json::to_value(result).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_answers_session_era_upstreams_questions_in_both_eras() {
    for (_upstream, port, tools) in upstreams().await {
        let gw = gateway(&route_yaml(&backend(port))).await;
        let direct = format!("http://127.0.0.1:{port}/mcp");
        for (tool, args) in tools {
            let modern = ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            };
            let (version, mut through) = rmcp_call(&gw.url("/mcp"), modern, tool, &args).await;
            // Every 2026-07-28 result says it is complete; the session era has no such field.
            let complete = through.as_object_mut().unwrap().remove("resultType");
            assert_eq!(complete, Some(json!("complete")), "{through}");
            let (_, reference) =
                rmcp_call(&direct, ClientLifecycleMode::Initialize, tool, &args).await;
            assert_eq!(version, ProtocolVersion::V_2026_07_28);
            let text = reference["content"][0]["text"].as_str().unwrap();
            assert!(
                text.contains("Tampa") || text.contains("rmcp"),
                "the client's answer reached the upstream directly: {reference}"
            );
            assert_eq!(through, reference, "{tool}");
            let (_, session) = rmcp_call(
                &gw.url("/mcp"),
                ClientLifecycleMode::Initialize,
                tool,
                &args,
            )
            .await;
            assert_eq!(session, reference, "{tool}, session era");
        }
    }
}

/// POSTs a 2026-07-28 `tools/call` (JSON answers only, so nothing is streamed).
async fn call_2026(url: &str, tool: &str, mut params: Value) -> Reply {
    params["name"] = json!(tool);
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": STATELESS,
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let headers = [
        ("mcp-protocol-version", STATELESS),
        ("mcp-method", "tools/call"),
        ("mcp-name", tool),
        ("accept", "application/json"),
    ];
    post_json(url, &headers, &body).await
}

/// The `input_required` round by hand: the question as the upstream asked it, a `requestState` that only
/// resumes this caller's call on this route, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_state_resumes_only_the_callers_own_call_once() {
    let (_upstream, port) = common::py_upstream(&["--era", "legacy"]).await;
    let routes = format!(
        "{}          - name: other\n            match:\n              path:\n                prefix: /other\n            backends:\n{}",
        route_yaml(&backend(port)),
        common::indent(&backend(port), 14)
    );
    let gw = gateway(&routes).await;
    let url = gw.url("/mcp");
    let args = json!({"arguments": {"question": "Where to?"}});
    let first = call_2026(&url, "ask_user", args.clone()).await;
    let result = &first.json()["result"];
    assert_eq!(
        (first.status, &result["resultType"]),
        (200, &json!("input_required")),
        "{}",
        first.text
    );
    let questions = result["inputRequests"].as_object().unwrap();
    assert_eq!(questions.len(), 1, "{result}");
    let (key, question) = questions.iter().next().unwrap();
    assert_eq!(question["method"], "elicitation/create", "{question}");
    assert!(
        question["params"]["requestedSchema"]["properties"]
            .get("answer")
            .is_some(),
        "the upstream's own question: {question}"
    );
    let state = result["requestState"].as_str().unwrap();
    let answer = |state: &str| {
        let mut retry = args.clone();
        retry["requestState"] = json!(state);
        retry["inputResponses"] =
            json!({key.as_str(): {"action": "accept", "content": {"answer": "Tampa"}}});
        retry
    };

    // On another route the state opens nothing of its own: refused, and the call still waits.
    let elsewhere = call_2026(&gw.url("/other"), "ask_user", answer(state)).await;
    assert_eq!(elsewhere.error().1, -32602, "{}", elsewhere.text);
    // An altered state is not the gateway's: it goes to the upstream as the caller's own, which refuses
    // it; no call is resumed.
    let forged = call_2026(&url, "ask_user", answer(&format!("{state}x"))).await;
    let (_, code, message) = forged.error();
    assert_eq!(code, -32602, "{}", forged.text);
    assert!(
        !message.contains("no longer waiting"),
        "the upstream's answer: {message}"
    );

    let done = call_2026(&url, "ask_user", answer(state)).await;
    assert_eq!(
        done.json()["result"]["content"][0]["text"],
        "user answered: Tampa",
        "{}",
        done.text
    );
    let again = call_2026(&url, "ask_user", answer(state)).await;
    let (status, code, message) = again.error();
    assert_eq!((status, code), (200, -32602), "{}", again.text);
    assert!(message.contains("no longer waiting"), "{message}");
}

/// `initialize` declaring `roots`; the session id.
async fn initialize_with_roots(url: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"roots": {}},
        "clientInfo": {"name": "t", "version": "1"}}});
    let reply = post_json(url, &[], &init).await;
    reply.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string()
}

/// A session-era upstream asks `roots/list` on its session's GET stream, outside the call's own stream
/// (the Python SDK's `session.list_roots()`): it reaches the caller's GET stream under a gateway id, and
/// the caller's answer goes back to the upstream, and only from that session. Once the caller's GET stream
/// is closed, such a question is refused at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_on_the_upstreams_get_stream_reaches_the_callers_get_stream() {
    let (_upstream, port) = common::py_upstream(&["--era", "legacy", "--roots"]).await;
    let gw = gateway(&route_yaml(&backend(port))).await;
    let url = gw.url("/mcp");
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "client_roots", "arguments": {}}});
    let accept = ("accept", "application/json, text/event-stream");

    let session = initialize_with_roots(&url).await;
    let mut stream = Events::open(
        reqwest::Client::new()
            .get(&url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session),
    )
    .await;
    let pending = tokio::spawn({
        let (url, session, call) = (url.clone(), session.clone(), call.clone());
        async move { post_json(&url, &[("mcp-session-id", &session), accept], &call).await }
    });
    let asked = stream.next_message().await;
    assert_eq!(asked["method"], "roots/list", "{asked}");
    let gateway_id = asked["id"].as_str().unwrap().to_string();
    assert!(gateway_id.starts_with("agw-"), "{asked}");
    let roots = json!({"roots": [{"uri": "file:///work/project", "name": "project"}]});
    let reply = json!({"jsonrpc": "2.0", "id": gateway_id, "result": roots});
    // Another session cannot answer it.
    let other = initialize_with_roots(&url).await;
    let stolen = post_json(&url, &[("mcp-session-id", &other)], &reply).await;
    assert_ne!(stolen.status, 202, "{}", stolen.text);
    let delivered = post_json(&url, &[("mcp-session-id", &session)], &reply).await;
    assert_eq!(delivered.status, 202, "{}", delivered.text);
    let answered = pending.await.unwrap();
    let result = answered.messages().pop().unwrap();
    assert_eq!(
        result["result"]["content"][0]["text"], "roots: file:///work/project",
        "{result}"
    );

    // `other` closed its GET stream: the upstream's question, which the gateway still hears, is refused at
    // once and the call ends.
    let closed = Events::open(
        reqwest::Client::new()
            .get(&url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &other),
    )
    .await;
    drop(closed);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        post_json(&url, &[("mcp-session-id", &other), accept], &call),
    )
    .await
    .expect("answered without waiting for a stream");
    let result = refused.messages().pop().unwrap();
    assert!(
        result.get("error").is_some() || result["result"]["isError"] == true,
        "{result}"
    );
}
