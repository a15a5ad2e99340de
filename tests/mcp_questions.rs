//! A session-era upstream asks its caller questions mid-call (elicitation, sampling) as server-to-client
//! requests on the call's stream; a 2026-07-28 caller answers questions only through `input_required`
//! results and a retry. The gateway turns one into the other: the upstream is a Python `mcp` SDK server
//! that speaks the session era only (`py_upstream.py --era legacy`), the caller the Python `mcp` 2.x
//! client on the 2026-07-28 wire, and what it gets through the gateway must be what a session-era client
//! gets from the upstream directly.

mod common;

use common::{Reply, gateway, post_json, route_yaml};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_caller_answers_a_session_era_upstreams_questions_through_input_required() {
    let (_upstream, port) = common::py_upstream(&["--era", "legacy"]).await;
    let gw = gateway(&route_yaml(&backend(port))).await;
    let direct = format!("http://127.0.0.1:{port}/mcp");
    for (tool, args, expected) in [
        (
            "ask_user",
            r#"{"question": "Where to?"}"#,
            "user answered: test answer",
        ),
        ("sample_llm", r#"{"prompt": "hi"}"#, "llm said: sampled: hi"),
    ] {
        let call = ["--call", tool, "--args", args];
        let through = py_client(
            &gw.url("/mcp"),
            &[&["--mode", STATELESS][..], &call].concat(),
        )
        .await;
        let reference = py_client(&direct, &[&["--mode", "legacy"][..], &call].concat()).await;
        assert_eq!(through["protocolVersion"], STATELESS, "{through}");
        assert_eq!(
            reference["call"]["content"][0]["text"], expected,
            "{reference}"
        );
        assert_eq!(through["call"], reference["call"], "{tool}");
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
