//! What a route keeps between requests outlives a config reload while the route exists, and goes with it
//! when the new config drops the route: revoked sessions, legacy HTTP+SSE streams, relayed
//! server-to-client requests waiting for the caller's answer.

mod common;

use agent_gateway::config;
use common::events::Events;
use common::{Gateway, initialize, post_json};
use serde_json::json;

/// One MCP route `tools` at /mcp with `backends`, plus an optional second route (to make a reload change
/// something) and the route's refresh interval.
fn yaml(backends: &str, refresh: &str, extra_route: bool) -> String {
    let mut text = common::route_yaml(backends);
    text = text.replace(
        "            backends:\n",
        &format!("            mcp: {{refreshInterval: {refresh}}}\n            backends:\n"),
    );
    if extra_route {
        text.push_str("          - name: more\n            match: {path: {prefix: /more}}\n            backends: [{name: s2, type: sample}]\n");
    }
    text
}

async fn reload(g: &Gateway, text: &str) {
    let loaded = config::load_str(text, "test.yaml").unwrap_or_else(|d| panic!("{d:?}"));
    g.running.reload(&loaded.config).await.expect("reloaded");
}

const SAMPLE: &str = "- name: sample\n  type: sample\n";

#[tokio::test]
async fn a_deleted_session_stays_dead_across_a_reload_and_a_live_one_carries_on() {
    let g = common::gateway(&yaml(SAMPLE, "300s", false)).await;
    let url = g.url("/mcp");
    let (live, closed) = (initialize(&url).await, initialize(&url).await);
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    let delete = reqwest::Client::new()
        .delete(&url)
        .header("mcp-session-id", &closed)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 200);

    reload(&g, &yaml(SAMPLE, "120s", true)).await;

    let refused = post_json(&url, &[("mcp-session-id", &closed)], &ping).await;
    assert_eq!(
        refused.error(),
        (404, -32600, common::NO_SESSION.into()),
        "the DELETEd session came back"
    );
    let carried = post_json(&url, &[("mcp-session-id", &live)], &ping).await;
    assert_eq!(carried.status, 200, "{}", carried.text);
    assert_eq!(carried.json()["result"], json!({}));
}

#[tokio::test]
async fn a_legacy_sse_client_keeps_its_stream_across_a_reload() {
    let g = common::gateway(&yaml(SAMPLE, "300s", false)).await;
    let mut stream = Events::open(reqwest::Client::new().get(g.url("/mcp/sse"))).await;
    let (event, endpoint) = stream.next().await;
    assert_eq!(event, "endpoint");

    reload(&g, &yaml(SAMPLE, "120s", true)).await;

    // The POST finds the stream a replica-local map held before the reload, and the reply arrives on it.
    let endpoint = g.url(&endpoint);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    assert_eq!(post_json(&endpoint, &[], &init).await.status, 202);
    assert_eq!(
        stream.next_message().await["result"]["protocolVersion"],
        "2024-11-05"
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    assert_eq!(post_json(&endpoint, &[], &list).await.status, 202);
    let tools = stream.next_message().await;
    assert_eq!(tools["id"], 2);
    assert_eq!(
        tools["result"]["tools"].as_array().unwrap().len(),
        6,
        "{tools}"
    );
}

#[tokio::test]
async fn a_pending_elicitation_is_answered_after_a_reload() {
    // A session-era upstream (Python `mcp` SDK) whose ask_user tool elicits through the gateway.
    let (_upstream, port) = common::py_upstream(&["--era", "legacy"]).await;
    let backends = format!("- name: py\n  type: mcp-http\n  address: http://127.0.0.1:{port}\n");
    let g = common::gateway(&yaml(&backends, "300s", false)).await;
    let url = g.url("/mcp");
    let session = initialize(&url).await;

    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "ask_user", "arguments": {"question": "Where to?"}}});
    let mut answer = Events::open(
        reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session)
            .body(call.to_string()),
    )
    .await;
    let asked = answer.next_message().await;
    assert_eq!(asked["method"], "elicitation/create", "{asked}");
    let gateway_id = asked["id"].clone();

    reload(&g, &yaml(&backends, "120s", true)).await;

    let reply = json!({"jsonrpc": "2.0", "id": gateway_id, "result": {"action": "accept", "content": {"answer": "Tampa"}}});
    let delivered = post_json(&url, &[("mcp-session-id", &session)], &reply).await;
    assert_eq!(delivered.status, 202, "{}", delivered.text);
    let result = answer.next_message().await;
    assert_eq!(result["id"], 7, "{result}");
    assert_eq!(
        result["result"]["content"][0]["text"], "user answered: Tampa",
        "{result}"
    );
}

#[tokio::test]
async fn a_route_the_new_config_drops_loses_its_state_and_comes_back_empty() {
    let g = common::gateway(&yaml(SAMPLE, "300s", true)).await;
    let url = g.url("/more");
    let session = initialize(&url).await;
    reqwest::Client::new()
        .delete(&url)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    assert_eq!(
        post_json(&url, &[("mcp-session-id", &session)], &ping)
            .await
            .error(),
        (404, -32600, common::NO_SESSION.into())
    );
    let before = g.running.route_state("more").expect("the route has state");

    // Without the route its state is gone; with the route back, it starts afresh.
    reload(&g, &yaml(SAMPLE, "300s", false)).await;
    assert!(g.running.route_state("more").is_none());
    reload(&g, &yaml(SAMPLE, "300s", true)).await;
    let after = g.running.route_state("more").expect("the route is back");
    assert!(!std::sync::Arc::ptr_eq(&before, &after));
}
