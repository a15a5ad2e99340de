//! Fields the gateway does not own reach the client untouched. rmcp's typed models drop fields they do not
//! know, so this upstream is a minimal hand-written Streamable HTTP server (session era, JSON replies)
//! whose only job is to emit fields from the future: unknown tool fields, unknown content block types,
//! `_meta` everywhere.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

fn tool() -> Value {
    json!({
        "name": "future_tool",
        "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
        "execution": {"taskSupport": "optional"},
        "x-vendor": {"tier": "gold", "nested": [1, {"a": null}]},
        "annotations": {"readOnlyHint": true, "x-unknown-hint": 3},
        "icons": [{"src": "https://example.invalid/i.png", "mimeType": "image/png"}],
        "_meta": {"vendor.example/flag": true}
    })
}

fn call_result() -> Value {
    json!({
        "content": [
            {"type": "text", "text": "hi", "_meta": {"k": 1}, "annotations": {"audience": ["user"]}},
            {"type": "hologram", "payload": {"frames": 3}},
            {"type": "resource_link", "uri": "memo://x", "name": "x"}
        ],
        "structuredContent": {"answer": 42},
        "x-trailer": "kept",
        "_meta": {"vendor.example/cost": 0.5}
    })
}

async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = message["id"].clone();
    let result = match message["method"].as_str() {
        Some("initialize") => {
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "raw", "version": "1"}})
        }
        Some("tools/list") => json!({"tools": [tool()], "_meta": {"list": "meta"}}),
        Some("tools/call") => call_result(),
        Some(_) if id.is_null() => {
            return Ok(hyper::Response::builder()
                .status(202)
                .body(Full::new(Bytes::new()))
                .unwrap());
        }
        Some(_) => {
            let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "not here"}});
            return Ok(hyper::Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(error.to_string())))
                .unwrap());
        }
        None => json!({}),
    };
    let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
    Ok(hyper::Response::builder()
        .header("content-type", "application/json")
        .header("mcp-session-id", "raw-session")
        .body(Full::new(Bytes::from(reply.to_string())))
        .unwrap())
}

#[tokio::test]
async fn unknown_fields_on_tools_and_results_pass_through_untouched() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(
                http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(answer)),
            );
        }
    });
    let backend = format!("- name: raw\n  type: mcp-http\n  address: http://{addr}\n");
    let gw = common::gateway(&common::route_yaml(&backend)).await;
    let url = gw.url("/mcp");

    let listed = common::post_json(
        &url,
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json();
    assert_eq!(
        listed["result"]["tools"][0],
        tool(),
        "the tool definition is relayed exactly"
    );

    let call = json!({"jsonrpc": "2.0", "id": "c-1", "method": "tools/call", "params": {"name": "future_tool", "arguments": {"q": "x"}}});
    let called = common::post_json(&url, &[], &call).await.json();
    assert_eq!(called["id"], "c-1");
    assert_eq!(
        called["result"],
        call_result(),
        "the result is relayed exactly"
    );
}
