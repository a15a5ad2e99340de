//! Tool names on a one-backend route: as the upstream wrote them, except an empty one.

use serde_json::json;

use crate::common;
use crate::common::mcp::{call, text_result, tool_def, tools_list, upstream};

/// A stub: the names are ones a real SDK would refuse to register.
#[tokio::test]
async fn one_backend_keeps_names_byte_for_byte_and_drops_an_empty_one() {
    let upstream = upstream(|r| match r.rpc_method() {
        "tools/list" => r.result(
            json!({"tools": [tool_def(""), tool_def("tool with space"), tool_def("a.b/c")]}),
        ),
        "tools/call" => r.result(text_result(&format!(
            "called {}",
            r.params()["name"].as_str().unwrap()
        ))),
        _ => r.not_found(),
    })
    .await;
    let gw = common::gateway(&common::route_yaml(&upstream.backend("up", None))).await;
    let url = gw.url("/mcp");
    let listed = common::post_json(&url, &[], &tools_list()).await.json();
    let mut names = common::tool_names(&listed);
    names.sort();
    assert_eq!(names, ["a.b/c", "tool with space"], "{listed}");
    let reply = common::post_json(&url, &[], &call(2, "tool with space", json!({}))).await;
    assert_eq!(
        reply.json()["result"]["content"][0]["text"],
        "called tool with space",
        "{}",
        reply.text
    );
    let reply = common::post_json(&url, &[], &call(3, "", json!({}))).await;
    assert_eq!(reply.json()["error"]["code"], -32602, "{}", reply.text);
    assert!(
        !upstream
            .requests()
            .iter()
            .any(|r| r.rpc_method() == "tools/call" && r.params()["name"] == ""),
        "the empty name reached the upstream"
    );
    let health = common::get_json(&gw.url("/health/upstreams")).await;
    assert!(
        health.to_string().contains("with an empty one"),
        "the skipped entry is reported: {health}"
    );
}
