//! `timeout.idle`: a streamed answer on which the upstream goes quiet is ended with an error, and a
//! notification stream with nothing to say is closed, instead of either being held open.

mod common;

use std::time::{Duration, Instant};

use serde_json::json;

async fn gateway_with_idle(upstream_port: u16) -> common::Gateway {
    let backend = format!(
        "- name: py\n  type: mcp-http\n  address: http://127.0.0.1:{upstream_port}\n  mcp:\n    endpoint: /mcp\n"
    );
    let yaml = common::route_yaml(&backend).replace(
        "            backends:\n",
        "            policies:\n              - type: timeout\n                timeout: {request: 30s, idle: 700ms}\n            backends:\n",
    );
    common::gateway(&yaml).await
}

#[tokio::test]
async fn a_quiet_stream_is_ended_with_an_error_and_a_quiet_notification_stream_closed() {
    let (_upstream, port) = common::py_upstream(&["--era", "legacy"]).await;
    let gw = gateway_with_idle(port).await;
    let url = gw.url("/mcp");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let session = common::post_json(&url, &[], &init).await.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();

    // Progress every 2s: the first event opens the stream, then 2s of silence exceeds the 700ms idle limit.
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 6, "steps": 3}, "_meta": {"progressToken": "p"}}});
    let started = Instant::now();
    let reply = common::post_json(
        &url,
        &[
            ("mcp-session-id", &session),
            ("accept", "application/json, text/event-stream"),
        ],
        &call,
    )
    .await;
    let messages = reply.messages();
    let last = messages.last().unwrap();
    assert_eq!(last["id"], 5, "{messages:?}");
    assert_eq!(last["error"]["code"], -32001, "{messages:?}");
    assert!(
        last["error"]["message"].as_str().unwrap().contains("idle"),
        "{last}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m["method"] == "notifications/progress"),
        "the stream was open: {messages:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ended by the idle limit, not by the call: {:?}",
        started.elapsed()
    );

    // The session's GET stream carries nothing here, so it is closed after the idle limit.
    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(&url)
        .header("mcp-session-id", &session)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), response.text())
        .await
        .expect("the stream was closed");
    assert!(body.unwrap().is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
}
