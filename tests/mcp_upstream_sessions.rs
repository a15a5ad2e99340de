//! Upstream sessions, end to end over real HTTP: a down upstream's tools answer "unavailable", anonymous
//! callers without a session share no upstream session, and sessions opened at initialize are closed
//! when their downstream session expires. The upstreams are recording stubs (`common::stub`), to count
//! handshakes and DELETEs, and the rmcp upstream where a real server that stops is enough.

mod common;

use std::time::Duration;

use common::mcp::{call, text_result, tool_def, tools_list, upstream};
use common::rmcp_upstream;
use common::stub::Stub;
use serde_json::json;

/// How many DELETEs (closed sessions) reached the upstream.
fn deletes(upstream: &Stub) -> usize {
    upstream
        .requests()
        .iter()
        .filter(|r| r.method == http::Method::DELETE)
        .count()
}

/// Waits (at most `within`) until the upstream has seen `total` DELETEs.
async fn until_deletes(upstream: &Stub, total: usize, within: Duration, what: &str) {
    let deadline = tokio::time::Instant::now() + within;
    while deletes(upstream) < total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {} DELETEs of {total}",
            deletes(upstream)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// 1. An upstream that is down: its tools are unavailable, not unknown
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_down_upstreams_tools_answer_unavailable_not_unknown() {
    let upstream = rmcp_upstream::start(false, 0).await;
    let yaml = common::route_yaml(&rmcp_upstream::backend_yaml("up", upstream.addr)).replace(
        "            backends:\n",
        "            mcp: {refreshInterval: 300ms}\n            backends:\n",
    );
    let gw = common::gateway(&yaml).await;
    let url = gw.url("/mcp");
    let echo = call(1, "echo", json!({"text": "hi"}));
    let reply = common::post_json(&url, &[], &echo).await.json();
    assert_eq!(reply["result"]["content"][0]["text"], "hi", "{reply}");

    upstream.stop().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while common::get_json(&gw.url("/health/upstreams")).await["routes"][0]["tools"] != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "discovery never noticed the upstream is down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = common::post_json(&url, &[], &echo).await;
    let error = &reply.json()["error"];
    assert_eq!(error["code"], -32002, "{}", reply.text);
    assert_eq!(
        error["data"]["reason"], "upstream unavailable",
        "{}",
        reply.text
    );
    assert!(
        !reply.text.contains("127.0.0.1"),
        "the upstream's address stays in the log: {}",
        reply.text
    );
    // A name no upstream ever had is still unknown.
    let reply = common::post_json(&url, &[], &call(2, "nope", json!({}))).await;
    assert_eq!(reply.json()["error"]["code"], -32602, "{}", reply.text);
    // And the withheld tool is not listed.
    let listed = common::post_json(&url, &[], &tools_list()).await.json();
    assert!(common::tool_names(&listed).is_empty(), "{listed}");
}

// ---------------------------------------------------------------------------------------------------------
// 2. Anonymous callers without a session share no upstream session
// ---------------------------------------------------------------------------------------------------------

/// Each anonymous sessionless call gets an upstream session of its own, closed (DELETE) after it; they
/// all shared one before. A stub, to count the handshakes and DELETEs the upstream saw.
#[tokio::test]
async fn anonymous_sessionless_calls_get_their_own_upstream_sessions() {
    let upstream = upstream(|r| match r.rpc_method() {
        "tools/list" => r.result(json!({"tools": [tool_def("t")]})),
        "tools/call" => r.result(text_result("ok")),
        _ => r.not_found(),
    })
    .await;
    let gw = common::gateway(&common::route_yaml(&upstream.backend("up", None))).await;
    let (initializes, deleted) = (upstream.count("initialize"), deletes(&upstream));
    for id in 1..=3 {
        let reply = common::post_json(&gw.url("/mcp"), &[], &call(id, "t", json!({}))).await;
        assert_eq!(
            reply.json()["result"]["content"][0]["text"],
            "ok",
            "{}",
            reply.text
        );
    }
    assert_eq!(
        upstream.count("initialize") - initializes,
        3,
        "three anonymous calls, three upstream sessions"
    );
    until_deletes(
        &upstream,
        deleted + 3,
        Duration::from_secs(10),
        "one-call upstream sessions closed",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------------------
// 3. Upstream sessions opened at initialize end with their downstream session
// ---------------------------------------------------------------------------------------------------------

/// Each initialize opens a session on a session-era upstream (its id travels sealed in the client's
/// session id); it is DELETEd when the client's session expires, once, and at once when the client
/// DELETEs its own. A stub, to count the DELETEs.
#[tokio::test]
async fn upstream_sessions_opened_at_initialize_are_closed_when_theirs_expires() {
    let upstream = upstream(|r| match r.rpc_method() {
        "tools/list" => r.result(json!({"tools": [tool_def("t")]})),
        _ => r.not_found(),
    })
    .await;
    let yaml = format!(
        "{}security: {{sessionTtl: 1s}}\n",
        common::route_yaml(&upstream.backend("up", None))
    );
    let gw = common::gateway(&yaml).await;
    let url = gw.url("/mcp");
    let before = deletes(&upstream);
    common::initialize(&url).await;
    common::initialize(&url).await;
    assert_eq!(
        deletes(&upstream),
        before,
        "nothing is closed while the sessions live"
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // The next initialize closes the expired ones (no timer runs for that).
    let live = common::initialize(&url).await;
    until_deletes(
        &upstream,
        before + 2,
        Duration::from_secs(5),
        "expired upstream sessions closed",
    )
    .await;
    // A client's DELETE closes its upstream session at once, and only once.
    let deleted = reqwest::Client::new()
        .delete(&url)
        .header("mcp-session-id", &live)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(deletes(&upstream) - before, 3);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    common::initialize(&url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deletes(&upstream) - before,
        3,
        "a closed session was closed again"
    );
}
