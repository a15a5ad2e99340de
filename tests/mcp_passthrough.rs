//! Fields the gateway does not own reach the client untouched. rmcp's typed models drop fields they do not
//! know, and no SDK server sends fields from the future on purpose, so this upstream is a stub
//! (`common::stub`, session era, JSON replies) whose only job is to emit them: unknown tool fields,
//! unknown content block types, `_meta` everywhere.

mod common;

use common::stub::{Era, Stub};
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

#[tokio::test]
async fn unknown_fields_on_tools_and_results_pass_through_untouched() {
    let upstream = Stub::mcp(Era::Session)
        .start(|r| match r.rpc_method() {
            "tools/list" => r.result(json!({"tools": [tool()], "_meta": {"list": "meta"}})),
            "tools/call" => r.result(call_result()),
            _ => r.not_found(),
        })
        .await;
    let gw = common::gateway(&common::route_yaml(&upstream.backend("raw", None))).await;
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
