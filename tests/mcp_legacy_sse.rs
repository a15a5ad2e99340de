//! The 2024-11-05 HTTP+SSE transport (KAgent `protocol: SSE`), driven by the Python `mcp` SDK's own SSE
//! client against the gateway.

mod common;

use serde_json::Value;

async fn py_client_sse(url: &str) -> Value {
    let output = tokio::process::Command::new(common::python())
        .arg(common::repo().join("tests/peers/py_client.py"))
        .args([
            "--transport",
            "sse",
            "--url",
            url,
            "--list",
            "--call",
            "get_weather_data",
            "--args",
            r#"{"city": "Tampa, FL", "days": 3}"#,
        ])
        .output()
        .await
        .expect("python client runs");
    assert!(
        output.status.success(),
        "py_client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("py_client prints JSON")
}

#[tokio::test]
async fn python_sse_client_lists_and_calls_through_the_legacy_transport() {
    let gw = common::gateway(&common::route_yaml(
        "- name: weather-tools\n  type: sample\n",
    ))
    .await;
    for url in [gw.url("/mcp/sse"), gw.url("/mcp")] {
        let out = py_client_sse(&url).await;
        // The transport is 2024-11-05's; the version is what initialize negotiated (the client's newest).
        assert_eq!(out["protocolVersion"], "2025-11-25", "{out}");
        assert!(
            out["tools"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "get_weather_data"),
            "{out}"
        );
        let days = out["call"]["structuredContent"]["days"]
            .as_array()
            .expect("structured weather");
        assert_eq!(days.len(), 3, "{out}");
    }
}

#[tokio::test]
async fn a_post_without_a_live_stream_is_refused() {
    let gw = common::gateway(&common::route_yaml(
        "- name: weather-tools\n  type: sample\n",
    ))
    .await;
    let reply = common::post(
        &gw.url("/mcp/message?sessionId=forged"),
        &[("content-type", "application/json")],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    )
    .await;
    assert_eq!(reply.error(), (404, -32600, common::NO_SESSION.into()));
}

/// A Python `mcp` upstream that only speaks HTTP+SSE (`mcp.protocol: sse`), reached through the gateway
/// by the Python client over Streamable HTTP in both eras.
#[tokio::test]
async fn a_legacy_sse_upstream_serves_modern_clients() {
    let (_upstream, port) =
        common::py_upstream(&["--transport", "sse", "--name", "sse-upstream"]).await;
    let backend = format!(
        "- name: legacy\n  type: mcp-http\n  address: http://127.0.0.1:{port}\n  mcp:\n    protocol: sse\n    endpoint: /sse\n"
    );
    let gw = common::gateway(&common::route_yaml(&backend)).await;
    for mode in ["auto", "legacy"] {
        let output = tokio::process::Command::new(common::python())
            .arg(common::repo().join("tests/peers/py_client.py"))
            .args([
                "--url",
                &gw.url("/mcp"),
                "--mode",
                mode,
                "--list",
                "--call",
                "slow",
                "--args",
                r#"{"seconds": 0.3, "steps": 3}"#,
            ])
            .output()
            .await
            .expect("python client runs");
        assert!(
            output.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let out: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(
            out["tools"].as_array().unwrap().iter().any(|t| t == "add"),
            "{mode}: {out}"
        );
        assert_eq!(out["call"]["isError"], false, "{mode}: {out}");
        assert_eq!(
            out["progress"].as_array().map(Vec::len),
            Some(3),
            "{mode}: progress is relayed from the SSE upstream: {out}"
        );
    }
    let add = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 40, "b": 2}}});
    let v = common::post_json(&gw.url("/mcp"), &[], &add).await.json();
    assert_eq!(v["result"]["structuredContent"]["sum"], 42.0, "{v}");
}
