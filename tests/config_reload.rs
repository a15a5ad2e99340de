//! A changed config file is picked up without a restart: swapped whole, sessions and in-flight calls
//! survive, an invalid file is refused and the running config kept.

mod common;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

fn config(port: u16, metrics: u16, upstream: u16, policies: &str) -> String {
    format!(
        "binds:\n  - port: {port}\n    address: 127.0.0.1\n    listeners:\n      - name: l\n        routes:\n          - name: tools\n            match: {{path: {{prefix: /mcp}}}}\n{policies}            backends:\n              - {{name: py, type: mcp-http, address: \"http://127.0.0.1:{upstream}\", mcp: {{endpoint: /mcp}}}}\nobservability:\n  prometheus: {{port: {metrics}}}\n"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn tool_names(url: &str, session: &str) -> Vec<String> {
    let v = common::post_json(
        url,
        &[("mcp-session-id", session)],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json();
    v["result"]["tools"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within 20s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_changed_config_is_swapped_in_and_a_bad_one_refused() {
    let mut up = tokio::process::Command::new(common::python());
    up.current_dir(common::repo().join("tests/peers"))
        .args(["py_upstream.py", "--port", "0"]);
    let (_upstream, upstream) = common::spawn_listening(up).await;
    let (port, metrics) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    std::fs::write(&file, config(port, metrics, upstream, "")).unwrap();
    let mut gateway = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent-gateway"))
        .args(["run", "--config", file.to_str().unwrap()])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    let stderr = gateway.stderr.take().unwrap();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push_str(&line);
            sink.lock().unwrap().push('\n');
        }
    });
    let url = format!("http://127.0.0.1:{port}/mcp");
    common::wait_ready(&format!("http://127.0.0.1:{port}/readyz")).await;
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let session = common::post_json(&url, &[], &init).await.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        tool_names(&url, &session)
            .await
            .contains(&"echo".to_string())
    );

    // A slow call in flight while the config changes finishes on the routes it started with.
    let slow = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 2, "steps": 2}}});
    let (slow_url, slow_session) = (url.clone(), session.clone());
    let in_flight = tokio::spawn(async move {
        common::post_json(&slow_url, &[("mcp-session-id", &slow_session)], &slow).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let only_echo = "            policies:\n              - type: mcp-authz\n                mcp:\n                  rules:\n                    - {principal: \"*\", allowedTools: [echo]}\n";
    std::fs::write(&file, config(port, metrics, upstream, only_echo)).unwrap();
    eventually("the new authz policy", async || {
        tool_names(&url, &session).await == ["echo"]
    })
    .await;
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200);
    let done: Vec<Value> = reply.messages();
    assert!(
        done.last().unwrap()["result"].is_object(),
        "the in-flight call completed: {done:?}"
    );

    // An invalid file is refused with its problems in the log; the previous config keeps serving.
    std::fs::write(&file, "binds:\n  - port: nope\n").unwrap();
    eventually("the refusal in the log", async || {
        log.lock().unwrap().contains("config rejected")
    })
    .await;
    assert!(
        log.lock().unwrap().contains("binds[0].port"),
        "the log names the field: {}",
        log.lock().unwrap()
    );
    assert_eq!(tool_names(&url, &session).await, ["echo"]);

    // Listeners cannot move without a restart: refused, still serving.
    std::fs::write(&file, config(free_port(), metrics, upstream, "")).unwrap();
    eventually("the bind refusal in the log", async || {
        log.lock().unwrap().contains("restart the gateway")
    })
    .await;
    assert_eq!(tool_names(&url, &session).await, ["echo"]);

    let text = reqwest::get(format!("http://127.0.0.1:{metrics}/metrics"))
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
        text.contains("agent_gateway_config_reloads_total{result=\"failure\"} 2"),
        "{text}"
    );
    let _ = gateway.kill().await;
}
