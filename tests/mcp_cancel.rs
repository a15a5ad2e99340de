//! Cancellation reaches the upstream: the Python `mcp` client cancels a slow call through the gateway and
//! the Python upstream reports the cancellation of its handler, in both protocol eras. And a notice
//! cancels only its sender's own call.

mod common;

use common::rmcp_upstream;
use serde_json::json;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Starts py_upstream over HTTP and collects its stderr lines.
async fn upstream_with_stderr() -> (common::Child, u16, Arc<Mutex<Vec<String>>>) {
    let mut cmd = Command::new(common::python());
    cmd.current_dir(common::repo().join("tests/peers"))
        .args(["py_upstream.py", "--port", "0", "--name", "cancel-test"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("py_upstream starts");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = lines.clone();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("LISTENING ") {
                return port.trim().parse::<u16>().unwrap();
            }
        }
        panic!("py_upstream exited before listening")
    })
    .await
    .expect("py_upstream listens");
    (common::Child(child), port, lines)
}

async fn cancel_through_gateway(mode: &str) {
    let (_up, port, stderr) = upstream_with_stderr().await;
    let backend = format!(
        "- name: py\n  type: mcp-http\n  address: http://127.0.0.1:{port}\n  mcp:\n    endpoint: /mcp\n"
    );
    let gw = common::gateway(&common::route_yaml(&backend)).await;
    let output = Command::new(common::python())
        .current_dir(common::repo().join("tests/peers"))
        .args(["py_client.py", "--url", &gw.url("/mcp"), "--mode", mode])
        .args([
            "--call",
            "slow",
            "--args",
            r#"{"seconds": 20, "steps": 20}"#,
            "--cancel-after",
            "1.5",
        ])
        .output()
        .await
        .expect("py_client runs");
    assert!(
        output.status.success(),
        "{mode}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["cancelled"], true, "{mode}: the client gave up: {out}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("slow: cancelled"))
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{mode}: the upstream never saw the cancellation; its stderr: {:?}",
            stderr.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_session_era_cancellation_reaches_the_upstream() {
    cancel_through_gateway("legacy").await;
}

#[tokio::test]
async fn a_stateless_cancellation_reaches_the_upstream() {
    cancel_through_gateway("auto").await;
}

/// Two anonymous callers without sessions differ in nothing but the request id they chose: a notice from
/// one must not stop the other's call with the same id (it did when calls were keyed by principal + id).
#[tokio::test]
async fn a_notice_without_a_session_cancels_no_other_callers_call() {
    let slow = rmcp_upstream::start_slow(Duration::from_millis(1500)).await;
    let gw = common::gateway(&common::route_yaml(&rmcp_upstream::backend_yaml(
        "slow", slow.addr,
    )))
    .await;
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "not cancelled"}}});
    let victim = {
        let url = gw.url("/mcp");
        tokio::spawn(async move { common::post_json(&url, &[], &call).await })
    };
    slow.wait_for_calls(1).await;
    let notice = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "someone else's"}});
    let sent = common::post_json(&gw.url("/mcp"), &[], &notice).await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let reply = victim.await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text);
    let answer = reply.messages().pop().unwrap();
    assert_eq!(answer["id"], 7, "{answer}");
    assert_eq!(
        answer["result"]["content"][0]["text"], "not cancelled",
        "the call was cancelled by another caller's notice: {answer}"
    );
}
