//! The backend timeout: a hung call is answered -32001 when it fires, and the backend stays usable.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;
use crate::common::mcp::{call, text_result, tool_def, upstream};
use crate::common::stub::Answer;

#[tokio::test]
async fn backend_timeout_answers_32001_and_the_backend_stays_usable() {
    let upstream = upstream(|r| match (r.rpc_method(), r.params()["name"].as_str()) {
        ("tools/list", _) => r.result(json!({"tools": [tool_def("hang"), tool_def("quick")]})),
        ("tools/call", Some("hang")) => Answer::Never,
        ("tools/call", Some("quick")) => r.result(text_result("quick answer")),
        _ => r.not_found(),
    })
    .await;
    let gw = common::gateway(&common::route_yaml(
        &upstream.backend("stuck", Some("{timeout: 1s}")),
    ))
    .await;
    let url = gw.url("/mcp");

    let started = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(15),
        common::post_json(&url, &[], &call("hang-1", "hang", json!({}))),
    )
    .await
    .expect("the gateway answers a hung upstream call within 15s");
    let elapsed = started.elapsed();
    let body = reply.json();
    assert_eq!(
        body["error"]["code"], -32001,
        "the gateway answered {} {}",
        reply.status, reply.text
    );
    assert_eq!(body["id"], "hang-1", "{body}");
    assert!(body.get("result").is_none(), "{body}");
    assert!(
        elapsed >= Duration::from_millis(900),
        "answered after {elapsed:?}, before the 1s timeout could fire"
    );
    assert_eq!(
        upstream
            .rpc("tools/call")
            .iter()
            .filter(|r| r.params()["name"] == "hang")
            .count(),
        1,
        "the hung call reached the upstream once"
    );

    let reply = tokio::time::timeout(
        Duration::from_secs(15),
        common::post_json(&url, &[], &call("quick-1", "quick", json!({}))),
    )
    .await
    .expect("the next call is answered");
    let body = reply.json();
    assert_eq!(body["id"], "quick-1", "{body}");
    assert_eq!(
        body["result"]["content"][0]["text"], "quick answer",
        "the gateway answered {} {}",
        reply.status, reply.text
    );
}
