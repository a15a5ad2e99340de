//! A changed config file is picked up without a restart: swapped whole, sessions and in-flight calls
//! survive, an invalid file is refused and the running config kept.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

fn config(port: u16, metrics: u16, upstream: u16, policies: &str) -> String {
    format!(
        "binds:\n  - port: {port}\n    address: 127.0.0.1\n    listeners:\n      - name: l\n        routes:\n          - name: tools\n            match: {{path: {{prefix: /mcp}}}}\n{policies}            backends:\n              - {{name: py, type: mcp-http, address: \"http://127.0.0.1:{upstream}\", mcp: {{endpoint: /mcp}}}}\nobservability:\n  prometheus: {{port: {metrics}}}\n"
    )
}

async fn tool_names(url: &str, session: &str) -> Vec<String> {
    let v = common::post_json(
        url,
        &[("mcp-session-id", session)],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json();
    common::tool_names(&v)
}

/// A `slow` call (one progress notification a second for `seconds`) on `session`, read as it streams: returns
/// once the first progress notification arrived, so the call is running upstream, with the task that reads
/// the rest and returns every message of the answer.
async fn slow_call_in_flight(
    url: &str,
    session: &str,
    seconds: u32,
) -> tokio::task::JoinHandle<Vec<Value>> {
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": seconds, "steps": seconds}, "_meta": {"progressToken": "reload"}}});
    let mut response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .body(call.to_string())
        .send()
        .await
        .expect("the slow call is sent");
    assert_eq!(response.status(), 200);
    let mut text = String::new();
    while !text.contains("notifications/progress") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("a progress notification within 10s")
            .expect("the answer streams")
            .unwrap_or_else(|| panic!("the answer ended before any progress: {text}"));
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    tokio::spawn(async move {
        text.push_str(&response.text().await.expect("the answer completes"));
        text.split("\n\n")
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    })
}

#[tokio::test]
async fn a_changed_config_is_swapped_in_and_a_bad_one_refused() {
    let mut up = tokio::process::Command::new(common::python());
    up.current_dir(common::repo().join("tests/peers"))
        .args(["py_upstream.py", "--port", "0"]);
    let (_upstream, upstream) = common::spawn_listening(up).await;
    // Port 0 for metrics too: the gateway logs where it serves them.
    let metrics = 0;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    std::fs::write(&file, config(0, metrics, upstream, "")).unwrap();
    let (_gateway, addr, log) = common::gateway_process_logged(&file, &[], &[]).await;
    let url = format!("http://{addr}/mcp");
    let served = log
        .wait_for("serving metrics", Duration::from_secs(20))
        .await;
    let metrics_at = served["address"].as_str().unwrap().to_string();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let session = common::post_json(&url, &[], &init).await.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let mut names = tool_names(&url, &session).await;
    names.sort();
    assert_eq!(
        names,
        ["add", "ask_user", "echo", "fail", "sample_llm", "slow"]
    );

    // A slow call in flight while the config changes finishes on the routes it started with (the new ones
    // would refuse it). Eight seconds: the watcher looks every 2 s, so the swap comes well before its end.
    let in_flight = slow_call_in_flight(&url, &session, 8).await;
    let only_echo = "            policies:\n              - type: mcp-authz\n                mcp:\n                  rules:\n                    - {principal: \"*\", allowedTools: [echo]}\n";
    std::fs::write(&file, config(0, metrics, upstream, only_echo)).unwrap();
    log.wait_for("config reloaded", Duration::from_secs(20))
        .await;
    assert_eq!(tool_names(&url, &session).await, ["echo"]);
    assert!(
        !in_flight.is_finished(),
        "the slow call was still in flight when the new config took over"
    );
    let done = tokio::time::timeout(Duration::from_secs(30), in_flight)
        .await
        .expect("the in-flight call completes")
        .unwrap();
    let last = done.last().unwrap();
    assert_eq!(last["id"], 2, "{done:?}");
    assert_eq!(
        last["result"]["isError"], false,
        "the in-flight call completed: {done:?}"
    );

    // An invalid file is refused with its problems in the log; the previous config keeps serving.
    std::fs::write(&file, "binds:\n  - port: nope\n").unwrap();
    log.wait_for("config rejected", Duration::from_secs(20))
        .await;
    // Each problem is logged before the refusal.
    let problem = log.find("binds[0].port").expect("the log names the field");
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains(file.to_str().unwrap()),
        "{problem}"
    );
    assert_eq!(tool_names(&url, &session).await, ["echo"]);

    // A YAML alias bomb (about 600 bytes, 387 million values expanded) is refused like any invalid file.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    std::fs::write(&file, bomb).unwrap();
    log.wait_for("once its aliases are expanded", Duration::from_secs(20))
        .await;
    assert_eq!(tool_names(&url, &session).await, ["echo"]);

    // Listeners cannot move without a restart: refused (before anything binds), still serving.
    std::fs::write(&file, config(8080, metrics, upstream, "")).unwrap();
    let refused = log
        .wait_for("restart the gateway", Duration::from_secs(20))
        .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("config reload refused: binds changed"),
        "{refused}"
    );
    assert_eq!(tool_names(&url, &session).await, ["echo"]);

    let text = reqwest::get(format!("http://{metrics_at}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("agent_gateway_config_reloads_total{result=\"success\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("agent_gateway_config_reloads_total{result=\"failure\"} 3"),
        "{text}"
    );
}
