//! The 2026-07-28 rules of a stateless server as the conformance suite checks them. Errors (SEP-2575,
//! `server-stateless`): which JSON-RPC code and which HTTP status answer a removed method, a header that
//! disagrees with the body, an unknown version, and a client capability the request did not declare.
//! Caching hints (SEP-2549, `caching`): a relayed `resources/read` result carries them.

mod common;

use common::stub::{Era, Stub};
use common::{Reply, gateway, post_json, route_yaml};
use serde_json::{Value, json};

const STATELESS: &str = "2026-07-28";

fn meta(version: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

/// POSTs `method` on the 2026-07-28 wire: `_meta` at `body_version`, the version header at
/// `header_version`, `Mcp-Method` and, when `name` is given, `Mcp-Name`.
async fn post_2026(
    url: &str,
    method: &str,
    mut params: Value,
    body_version: &str,
    header_version: &str,
    name: Option<&str>,
) -> Reply {
    params["_meta"] = meta(body_version);
    let body = json!({"jsonrpc": "2.0", "id": 500, "method": method, "params": params});
    let mut headers = vec![
        ("mcp-protocol-version", header_version),
        ("mcp-method", method),
        ("accept", "application/json, text/event-stream"),
    ];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    post_json(url, &headers, &body).await
}

fn sample_route() -> String {
    route_yaml("- name: sample\n  type: sample\n")
}

#[tokio::test]
async fn methods_removed_from_the_2026_wire_are_404_method_not_found() {
    let gw = gateway(&sample_route()).await;
    let url = gw.url("/mcp");
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
    ] {
        let reply = post_2026(&url, method, json!({}), STATELESS, STATELESS, None).await;
        let (status, code, _) = reply.error();
        assert_eq!((status, code), (404, -32601), "{method}: {}", reply.text);
        assert_eq!(
            reply.json()["id"],
            500,
            "{method}: the error answers its id"
        );
    }
}

#[tokio::test]
async fn the_session_era_keeps_the_methods_the_2026_wire_removed() {
    let gw = gateway(&sample_route()).await;
    let url = gw.url("/mcp");
    let session = common::initialize(&url).await;
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    for (method, params) in [
        ("ping", json!({})),
        ("logging/setLevel", json!({"level": "info"})),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params});
        let reply = post_json(&url, &headers, &body).await;
        assert_eq!(reply.status, 200, "{method}: {}", reply.text);
        assert_eq!(reply.json()["result"], json!({}), "{method}");
    }
}

#[tokio::test]
async fn a_header_that_disagrees_with_the_body_is_a_mismatch_even_for_an_unknown_version() {
    let gw = gateway(&sample_route()).await;
    let reply = post_2026(
        &gw.url("/mcp"),
        "server/discover",
        json!({}),
        "v999.0.0",
        STATELESS,
        None,
    )
    .await;
    let (status, code, _) = reply.error();
    assert_eq!((status, code), (400, -32020), "{}", reply.text);
}

#[tokio::test]
async fn an_unsupported_version_names_the_requested_and_the_supported_versions() {
    let gw = gateway(&sample_route()).await;
    let url = gw.url("/mcp");
    let assert_names_both = |reply: &Reply, requested: &str| {
        let (status, code, _) = reply.error();
        assert_eq!((status, code), (400, -32022), "{}", reply.text);
        let data = &reply.json()["error"]["data"];
        assert_eq!(data["requested"], requested, "{}", reply.text);
        let supported = data["supported"].as_array().expect("data.supported");
        assert!(supported.contains(&json!(STATELESS)), "{}", reply.text);
        assert!(supported.contains(&json!("2025-11-25")), "{}", reply.text);
    };

    // In `_meta` and the header alike (the 2026-07-28 wire).
    let reply = post_2026(
        &url,
        "server/discover",
        json!({}),
        "v999.0.0",
        "v999.0.0",
        None,
    )
    .await;
    assert_names_both(&reply, "v999.0.0");

    // In the header only (a client that never learned the 2026 wire).
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let reply = post_json(&url, &[("mcp-protocol-version", "1999-01-01")], &body).await;
    assert_names_both(&reply, "1999-01-01");
}

/// A stub: the test needs an upstream that refuses a call with -32021 on cue, which no SDK's tool does
/// unless written to.
async fn upstream_missing_capability() -> Stub {
    Stub::mcp(Era::Stateless)
        .start(|r| match r.rpc_method() {
            "tools/list" => r.result(json!({"tools": [
                {"name": "test_missing_capability", "inputSchema": {"type": "object"}}
            ]})),
            "tools/call" => common::stub::Answer::json(&json!({
                "jsonrpc": "2.0",
                "id": r.json["id"],
                "error": {
                    "code": -32021,
                    "message": "Missing required client capability: sampling",
                    "data": {"requiredCapabilities": {"sampling": {}}},
                },
            })),
            _ => r.not_found(),
        })
        .await
}

#[tokio::test]
async fn an_upstreams_missing_capability_error_is_400_on_the_2026_wire_and_200_in_a_session() {
    let upstream = upstream_missing_capability().await;
    let gw = gateway(&route_yaml(&upstream.backend("fixture", None))).await;
    let url = gw.url("/mcp");
    let params = json!({"name": "test_missing_capability", "arguments": {}});

    let reply = post_2026(
        &url,
        "tools/call",
        params.clone(),
        STATELESS,
        STATELESS,
        Some("test_missing_capability"),
    )
    .await;
    let (status, code, _) = reply.error();
    assert_eq!((status, code), (400, -32021), "{}", reply.text);
    assert_eq!(
        reply.json()["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}}),
        "relayed as the upstream said it"
    );

    let session = common::initialize(&url).await;
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params});
    let reply = post_json(&url, &[("mcp-session-id", session.as_str())], &body).await;
    let (status, code, _) = reply.error();
    assert_eq!((status, code), (200, -32021), "{}", reply.text);
}

/// A stub: the test needs a session-era upstream's `resources/read` result (which has no caching hints)
/// and to see it reached the gateway; the TypeScript fixture does the same end to end in
/// conformance/run.sh.
async fn session_era_upstream_with_a_resource() -> Stub {
    Stub::mcp(Era::Session)
        .capabilities(json!({"resources": {}}))
        .start(|r| match r.rpc_method() {
            "resources/list" => r.result(json!({"resources": [
                {"uri": "test://static-text", "name": "static-text"}
            ]})),
            "resources/read" => r.result(json!({"contents": [
                {"uri": "test://static-text", "mimeType": "text/plain", "text": "hello"}
            ]})),
            _ => r.not_found(),
        })
        .await
}

#[tokio::test]
async fn a_read_relayed_to_the_2026_wire_carries_caching_hints_the_upstream_did_not_give() {
    let upstream = session_era_upstream_with_a_resource().await;
    let gw = gateway(&route_yaml(&upstream.backend("fixture", None))).await;
    let url = gw.url("/mcp");
    let params = json!({"uri": "test://static-text"});

    let reply = post_2026(
        &url,
        "resources/read",
        params.clone(),
        STATELESS,
        STATELESS,
        Some("test://static-text"),
    )
    .await;
    let result = &reply.messages()[0]["result"];
    assert_eq!(result["contents"][0]["text"], "hello", "{}", reply.text);
    assert_eq!(
        (
            &result["ttlMs"],
            &result["cacheScope"],
            &result["resultType"]
        ),
        (&json!(0), &json!("private"), &json!("complete")),
        "no caching for a result the upstream gave no hints for: {}",
        reply.text
    );

    let session = common::initialize(&url).await;
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": params});
    let reply = post_json(&url, &[("mcp-session-id", session.as_str())], &body).await;
    let result = &reply.messages()[0]["result"];
    assert_eq!(result["contents"][0]["text"], "hello", "{}", reply.text);
    assert!(
        result.get("ttlMs").is_none() && result.get("cacheScope").is_none(),
        "a session-era caller gets the upstream's result as it was: {}",
        reply.text
    );
}

/// A stub: the test reads the `initialize` requests that reached the upstream, which no real server shows.
async fn session_era_upstream_recording_initialize() -> Stub {
    Stub::mcp(Era::Session)
        .start(|r| match r.rpc_method() {
            "tools/list" => r.result(json!({"tools": [
                {"name": "test_missing_capability", "inputSchema": {"type": "object"}}
            ]})),
            "tools/call" => r.result(json!({"content": [{"type": "text", "text": "ran"}]})),
            _ => r.not_found(),
        })
        .await
}

/// A session-era upstream can check a client's capabilities only at `initialize`: the gateway must declare
/// there what the caller declared (a 2026-07-28 caller: what its `_meta` declares that lets the upstream
/// ask it questions; here nothing), or the upstream relies on capabilities nobody has and the caller gets
/// the gateway's refusal instead of the upstream's -32021.
#[tokio::test]
async fn a_session_era_upstream_is_told_the_callers_own_capabilities() {
    let upstream = session_era_upstream_recording_initialize().await;
    let gw = gateway(&route_yaml(&upstream.backend("fixture", None))).await;
    let url = gw.url("/mcp");
    let before = upstream.count("initialize");

    let params = json!({"name": "test_missing_capability", "arguments": {}});
    let name = Some("test_missing_capability");
    let reply = post_2026(&url, "tools/call", params, STATELESS, STATELESS, name).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    common::initialize(&url).await;

    let declared: Vec<Value> = upstream.rpc("initialize")[before..]
        .iter()
        .map(|r| r.params()["capabilities"].clone())
        .collect();
    assert_eq!(
        declared,
        [json!({}), json!({"elicitation": {}})],
        "the 2026-07-28 caller's, then the session caller's"
    );
}
