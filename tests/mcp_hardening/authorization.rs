//! The caller's `Authorization` header is not forwarded to an upstream by default, and is forwarded as it came
//! when the backend asks for it (`forwardAuthorization`).

use serde_json::json;

use crate::common;
use crate::common::mcp::{call, text_result, tool_def, upstream};
use crate::common::stub::{Request, Stub};

async fn echo_upstream() -> Stub {
    upstream(|r| match r.rpc_method() {
        "tools/list" => r.result(json!({"tools": [tool_def("echo")]})),
        "tools/call" => r.result(text_result("echoed")),
        _ => r.not_found(),
    })
    .await
}

/// Calls `echo` through the gateway with the caller's bearer token and returns the one `tools/call` the
/// upstream received.
async fn call_with_token(gw: &common::Gateway, upstream: &Stub) -> Request {
    let reply = common::post_json(
        &gw.url("/mcp"),
        &[("authorization", "Bearer secret-token")],
        &call("auth-1", "echo", json!({})),
    )
    .await;
    let body = reply.json();
    assert_eq!(
        body["result"]["content"][0]["text"], "echoed",
        "the call went through: {} {}",
        reply.status, reply.text
    );
    let calls = upstream.rpc("tools/call");
    assert_eq!(calls.len(), 1, "one tools/call reached the upstream");
    calls.into_iter().next().unwrap()
}

#[tokio::test]
async fn caller_authorization_is_not_forwarded_by_default() {
    let upstream = echo_upstream().await;
    let gw = common::gateway(&common::route_yaml(
        &upstream.backend("rec", Some("{headers: {x-upstream-key: k1}}")),
    ))
    .await;

    let seen = call_with_token(&gw, &upstream).await;
    assert_eq!(seen.params()["name"], "echo");
    assert!(
        seen.headers.get("authorization").is_none(),
        "the upstream saw Authorization {:?}",
        seen.headers.get("authorization")
    );
    assert_eq!(
        seen.headers
            .get("x-upstream-key")
            .map(|v| v.to_str().unwrap()),
        Some("k1"),
        "the configured header reaches the upstream; it saw {:?}",
        seen.headers
    );
    // No request at all (initialize, notifications, lists, the call, any GET or DELETE) carried the caller's
    // token.
    for request in upstream.requests() {
        let what = format!(
            "{} {} {}",
            request.method,
            request.path,
            request.rpc_method()
        );
        assert!(
            request.headers.get("authorization").is_none(),
            "{what} carried Authorization {:?}",
            request.headers.get("authorization")
        );
        assert_eq!(
            request.header("x-upstream-key"),
            Some("k1"),
            "{what} lacks the configured header"
        );
    }
}

#[tokio::test]
async fn caller_authorization_is_forwarded_when_the_backend_asks() {
    let upstream = echo_upstream().await;
    let gw = common::gateway(&common::route_yaml(
        &upstream.backend("rec", Some("{forwardAuthorization: true}")),
    ))
    .await;

    let seen = call_with_token(&gw, &upstream).await;
    let values: Vec<&str> = seen
        .headers
        .get_all("authorization")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        values,
        ["Bearer secret-token"],
        "exactly the caller's header"
    );
    // The gateway's own discovery has no caller, so it carries no token.
    let lists = upstream.rpc("tools/list");
    assert!(!lists.is_empty(), "discovery listed the tools");
    for list in lists {
        assert!(
            list.headers.get("authorization").is_none(),
            "discovery carried Authorization {:?}",
            list.headers.get("authorization")
        );
    }
}
