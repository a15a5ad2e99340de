//! The MCP core end to end over real HTTP: the guide's bare curl call, both protocol eras, schema
//! rejection, malformed input, sealed sessions, prefixing, output checks and upstream failure.

mod common;

use common::{NO_SESSION, gateway, initialize, post_json, rmcp_upstream, route_yaml};
use serde_json::{Value, json};

fn sample_backend() -> &'static str {
    "- name: weather-tools\n  type: sample\n"
}

#[tokio::test]
async fn the_guides_bare_tools_call_works_verbatim() {
    let gw = gateway(&route_yaml(sample_backend())).await;
    let body = json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "get_weather_data", "arguments": {"city": "Tampa, FL"}}, "id": 1});
    let reply = post_json(&gw.url("/mcp"), &[], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v = reply.json();
    assert_eq!(v["id"], 1);
    assert_eq!(v["result"]["structuredContent"]["city"], "Tampa, FL");
    assert!(
        v["result"]["structuredContent"]["days"]
            .as_array()
            .unwrap()
            .len()
            == 7
    );
}

#[tokio::test]
async fn tools_list_keeps_the_guides_names_with_one_backend() {
    let gw = gateway(&route_yaml(sample_backend())).await;
    let v = post_json(
        &gw.url("/mcp"),
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json();
    let mut names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "execute_code",
            "generate_analysis_code",
            "get_activity_preferences",
            "get_weather_data",
            "store_activity_plan",
            "store_user_preferences"
        ]
    );
}

#[tokio::test]
async fn schema_violations_are_rejected_before_the_upstream_is_called() {
    let up = rmcp_upstream::start(false, 0).await;
    let gw = gateway(&route_yaml(&rmcp_upstream::backend_yaml("rust", up.addr))).await;
    let bad = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "", "extra": 1}}});
    let v = post_json(&gw.url("/mcp"), &[], &bad).await.json();
    assert_eq!(v["error"]["code"], -32602, "{v}");
    let paths: Vec<&str> = v["error"]["data"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/text") && paths.contains(&""),
        "every failing path is reported: {v}"
    );
    assert_eq!(up.calls(), 0, "the upstream must not be called");

    let good = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}});
    let v = post_json(&gw.url("/mcp"), &[], &good).await.json();
    assert_eq!(v["result"]["structuredContent"]["sum"], 5.0, "{v}");
    assert_eq!(v["id"], 8);
    assert_eq!(up.calls(), 1);
}

#[tokio::test]
async fn malformed_input_gets_precise_errors_and_statuses() {
    let gw = gateway(&route_yaml(sample_backend())).await;
    let url = gw.url("/mcp");
    let cases: Vec<(&str, String, u16, i64)> = vec![
        ("parse error", "{not json".into(), 400, -32700),
        (
            "batch",
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#.into(),
            400,
            -32600,
        ),
        (
            "no jsonrpc",
            r#"{"id":1,"method":"ping"}"#.into(),
            400,
            -32600,
        ),
        (
            "params not object",
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#.into(),
            400,
            -32602,
        ),
        (
            "too deep",
            format!("{}{}", "[".repeat(100), "]".repeat(100)),
            400,
            -32600,
        ),
        (
            "too large",
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
                "x".repeat(5 * 1024 * 1024)
            ),
            413,
            -32600,
        ),
    ];
    for (what, body, status, code) in cases {
        let reply = common::post(&url, &[("content-type", "application/json")], body).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_eq!(reply.json()["error"]["code"], code, "{what}");
    }
    // The media type is compared whole; parameters and case do not matter.
    for content_type in ["text/plain", "application/jsonfoo", "application/json-seq"] {
        let reply = common::post(&url, &[("content-type", content_type)], "{}").await;
        assert_eq!(
            reply.error(),
            (
                415,
                -32600,
                "Invalid Request: Content-Type must be application/json".into()
            ),
            "{content_type}"
        );
    }
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let reply = common::post(&url, &[("content-type", content_type)], ping).await;
        assert_eq!(reply.status, 200, "{content_type}: {}", reply.text);
    }
    let v = post_json(
        &url,
        &[],
        &json!({"jsonrpc": "2.0", "id": 3, "method": "no/such"}),
    )
    .await;
    assert_eq!(
        (v.status, v.json()["error"]["code"].as_i64()),
        (200, Some(-32601))
    );
    // What the caller sent comes back quoted, not a megabyte long.
    let long = "m".repeat(1024 * 1024);
    let v = post_json(
        &url,
        &[],
        &json!({"jsonrpc": "2.0", "id": 3, "method": long}),
    )
    .await;
    let message = v.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("Method not found: mmm")
            && message.ends_with('…')
            && message.len() < 300,
        "{} bytes: {message:.80}",
        message.len()
    );
    let v = post_json(
        &url,
        &[],
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "nope"}}),
    )
    .await
    .json();
    assert_eq!(v["error"]["code"], -32602);
    // The gateway still serves after all of that.
    assert_eq!(
        post_json(
            &url,
            &[],
            &json!({"jsonrpc": "2.0", "id": 5, "method": "ping"})
        )
        .await
        .json()["result"],
        json!({})
    );
}

#[tokio::test]
async fn sealed_sessions_refuse_tampering_and_foreign_routes() {
    let yaml = route_yaml(sample_backend());
    let gw = gateway(&yaml).await;
    let url = gw.url("/mcp");
    let sid = initialize(&url).await;
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    assert_eq!(
        post_json(&url, &[("mcp-session-id", &sid)], &ping)
            .await
            .status,
        200
    );
    let mut tampered = sid.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), "junk", &"A".repeat(9000)] {
        let reply = post_json(&url, &[("mcp-session-id", bad)], &ping).await;
        assert_eq!(reply.error(), (404, -32600, NO_SESSION.into()), "{bad:.20}");
    }
    // A session of one gateway is foreign to another with a different key.
    let other = gateway(&yaml).await;
    assert_eq!(
        post_json(&other.url("/mcp"), &[("mcp-session-id", &sid)], &ping)
            .await
            .error(),
        (404, -32600, NO_SESSION.into())
    );
    // DELETE ends it.
    let deleted = reqwest::Client::new()
        .delete(&url)
        .header("mcp-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(
        post_json(&url, &[("mcp-session-id", &sid)], &ping)
            .await
            .error(),
        (404, -32600, NO_SESSION.into())
    );
}

#[tokio::test]
async fn stateless_requests_check_headers_against_the_body() {
    let gw = gateway(&route_yaml(sample_backend())).await;
    let url = gw.url("/mcp");
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_weather_data", "arguments": {"city": "Oslo"}, "_meta": meta}});
    let good = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "get_weather_data"),
    ];
    let reply = post_json(&url, &good, &call).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["result"]["resultType"], "complete");

    let wrong_name = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "execute_code"),
    ];
    let reply = post_json(&url, &wrong_name, &call).await;
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].as_i64()),
        (400, Some(-32020))
    );
    let wrong_method = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
        ("mcp-name", "get_weather_data"),
    ];
    assert_eq!(
        post_json(&url, &wrong_method, &call).await.json()["error"]["code"],
        -32020
    );

    let future = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}});
    let reply = post_json(
        &url,
        &[
            ("mcp-protocol-version", "2099-01-01"),
            ("mcp-method", "tools/list"),
        ],
        &future,
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].as_i64()),
        (400, Some(-32022))
    );

    let discover =
        json!({"jsonrpc": "2.0", "id": 3, "method": "server/discover", "params": {"_meta": meta}});
    let v = post_json(
        &url,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "server/discover"),
        ],
        &discover,
    )
    .await
    .json();
    assert!(
        v["result"]["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );

    let unknown =
        json!({"jsonrpc": "2.0", "id": 4, "method": "no/such", "params": {"_meta": meta}});
    let reply = post_json(
        &url,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "no/such"),
        ],
        &unknown,
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].as_i64()),
        (404, Some(-32601))
    );
}

#[tokio::test]
async fn several_backends_are_prefixed_and_routed() {
    let up = rmcp_upstream::start(true, 0).await;
    let backends = format!(
        "{}{}",
        sample_backend(),
        rmcp_upstream::backend_yaml("rust", up.addr)
    );
    let gw = gateway(&route_yaml(&backends)).await;
    let url = gw.url("/mcp");
    let v = post_json(
        &url,
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json();
    let names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"weather-tools__get_weather_data") && names.contains(&"rust__echo"),
        "{names:?}"
    );
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "rust__echo", "arguments": {"text": "hi"}}});
    let v = post_json(&url, &[], &call).await.json();
    assert_eq!(v["result"]["content"][0]["text"], "hi", "{v}");
    assert_eq!(up.calls(), 1);
}

#[tokio::test]
async fn output_schema_violations_are_reported_or_enforced() {
    let up = rmcp_upstream::start(false, 0).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "liar", "arguments": {}}});
    let report = gateway(&route_yaml(&rmcp_upstream::backend_yaml("rust", up.addr))).await;
    let v = post_json(&report.url("/mcp"), &[], &call).await.json();
    assert_eq!(
        v["result"]["structuredContent"]["total"], "nope",
        "report mode passes the result through: {v}"
    );
    let enforce_yaml = route_yaml(&rmcp_upstream::backend_yaml("rust", up.addr)).replace(
        "            backends:\n",
        "            mcp:\n              outputSchema: enforce\n            backends:\n",
    );
    let enforce = gateway(&enforce_yaml).await;
    let v = post_json(&enforce.url("/mcp"), &[], &call).await.json();
    assert_eq!(v["error"]["code"], -32603, "{v}");
    assert!(
        v["error"]["data"]["violations"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );
}

#[tokio::test]
async fn a_dead_upstream_fails_its_calls_fast_and_recovers() {
    let up = rmcp_upstream::start(false, 0).await;
    let port = up.addr.port();
    let gw = gateway(&route_yaml(&rmcp_upstream::backend_yaml("rust", up.addr))).await;
    let url = gw.url("/mcp");
    let sid = initialize(&url).await;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "a"}}});
    assert_eq!(
        post_json(&url, &[("mcp-session-id", &sid)], &call)
            .await
            .json()["result"]["content"][0]["text"],
        "a"
    );
    up.stop().await;
    let v = post_json(&url, &[("mcp-session-id", &sid)], &call)
        .await
        .json();
    assert_eq!(v["error"]["code"], -32002, "{v}");
    assert!(
        v["error"]["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("connection"),
        "{v}"
    );
    // Same port, new process state: the old upstream session is gone (404) and the gateway opens a new one.
    let _up = rmcp_upstream::start(false, port).await;
    let v = post_json(&url, &[("mcp-session-id", &sid)], &call)
        .await
        .json();
    assert_eq!(v["result"]["content"][0]["text"], "a", "{v}");
}

#[tokio::test]
async fn unknown_methods_and_routes_do_not_disturb_the_gateway() {
    let gw = gateway(&route_yaml(sample_backend())).await;
    let reply = post_json(&gw.url("/elsewhere"), &[], &json!({})).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        json!({"error": "no route matches /elsewhere"}),
        "not a JSON-RPC answer: no MCP route took it"
    );
    let health: Value = reqwest::get(gw.url("/health/upstreams"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["routes"][0]["tools"], 6);
    assert_eq!(health["routes"][0]["upstreams"][0]["health"]["up"], true);
}
