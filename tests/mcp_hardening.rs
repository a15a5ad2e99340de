//! Hardening, end to end over real HTTP: DNS-rebinding protection (Host and Origin checks), the caller's
//! `Authorization` header kept from upstreams unless a backend asks for it, gateway-owned list cursors over
//! an upstream that paginates itself, one slow upstream not holding up another route, the per-backend
//! timeout, tool names on a one-backend route and the bound on a session's notification streams. Hostile
//! upstreams are in `mcp_hostile_upstream.rs`, upstream sessions in `mcp_upstream_sessions.rs`. The upstreams are stubs (`common::stub`: session era, JSON replies) that record every message
//! and its headers, so the tests can check what actually reached them, and the rmcp upstream where only
//! slowness is needed.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::mcp::{SAMPLE, call, request, text_result, tool_def, tools_list, upstream};
use common::rmcp_upstream;
use common::stub::{Answer, Request, Stub};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------------------
// 1. DNS-rebinding protection
// ---------------------------------------------------------------------------------------------------------

/// Asserts a 403 whose body is a JSON-RPC error.
fn assert_forbidden(reply: &common::Reply, case: &str) {
    assert_eq!(
        reply.status, 403,
        "{case}: expected 403, the gateway answered {} {}",
        reply.status, reply.text
    );
    let content_type = reply
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{case}: content-type {content_type:?}, body {}",
        reply.text
    );
    let body = reply.json();
    assert_eq!(body["jsonrpc"], "2.0", "{case}: {body}");
    assert_eq!(body["id"], Value::Null, "{case}: {body}");
    assert_eq!(body["error"]["code"], -32600, "{case}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Forbidden"),
        "{case}: error message {message:?}"
    );
    assert!(body.get("result").is_none(), "{case}: {body}");
}

/// Asserts the request passed the checks and reached the sample tools.
fn assert_allowed(reply: &common::Reply, case: &str) {
    assert_eq!(
        reply.status, 200,
        "{case}: expected 200, the gateway answered {} {}",
        reply.status, reply.text
    );
    let body = reply.json();
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: no tools in {body}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"get_weather_data"),
        "{case}: tools {names:?}"
    );
}

#[tokio::test]
async fn loopback_bind_refuses_rebound_hosts_and_foreign_origins() {
    let gw = common::gateway(&common::route_yaml(SAMPLE)).await;
    let url = gw.url("/mcp");
    let port = gw.addr.port();
    let own_host = format!("127.0.0.1:{port}");
    let evil_host = format!("evil.example:{port}");
    let localhost = format!("localhost:{port}");

    let reply = common::post_json(&url, &[("host", &evil_host)], &tools_list()).await;
    assert_forbidden(&reply, "Host evil.example:PORT");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("evil.example"),
        "the reason names the refused host: {}",
        reply.text
    );

    // Without a port, too.
    let reply = common::post_json(&url, &[("host", "evil.example")], &tools_list()).await;
    assert_forbidden(&reply, "Host evil.example");

    // Names that only start like a loopback address resolve wherever their owner likes.
    for host in [
        format!("127.0.0.1.evil.example:{port}"),
        "127.evil.example".to_string(),
        format!("localhost.evil.example:{port}"),
    ] {
        let reply = common::post_json(
            &url,
            &[("host", &host), ("origin", &format!("http://{host}"))],
            &tools_list(),
        )
        .await;
        assert_forbidden(&reply, &format!("Host {host} with a same-host Origin"));
    }

    let reply = common::post_json(
        &url,
        &[("host", &own_host), ("origin", "http://evil.example")],
        &tools_list(),
    )
    .await;
    assert_forbidden(&reply, "Origin http://evil.example, loopback Host");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("http://evil.example"),
        "the reason names the refused origin: {}",
        reply.text
    );

    let reply = common::post_json(
        &url,
        &[("host", &localhost), ("origin", "http://evil.example")],
        &tools_list(),
    )
    .await;
    assert_forbidden(&reply, "Origin http://evil.example, Host localhost");

    let reply = common::post_json(&url, &[("origin", "null")], &tools_list()).await;
    assert_forbidden(&reply, "Origin null");

    // Not configured here, so refused here (allowed only by the next test's config).
    let reply = common::post_json(
        &url,
        &[("origin", "https://inspector.example")],
        &tools_list(),
    )
    .await;
    assert_forbidden(&reply, "Origin https://inspector.example, not configured");

    // The Host check applies to every method path of the route, GET included.
    let get = reqwest::Client::new()
        .get(&url)
        .header("host", &evil_host)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let get = common::Reply {
        status: get.status().as_u16(),
        headers: get.headers().clone(),
        text: get.text().await.unwrap(),
    };
    assert_forbidden(&get, "GET with Host evil.example");
    assert_eq!(
        get.json()["error"]["message"],
        format!(
            "Forbidden: Host {evil_host} is not a loopback name on a loopback listener (add it to security.allowedHosts)"
        )
    );

    // Allowed: loopback names, a local development origin, no Origin at all.
    let reply =
        common::post_json(&url, &[("origin", "http://localhost:3000")], &tools_list()).await;
    assert_allowed(&reply, "Origin http://localhost:3000");
    let reply = common::post_json(
        &url,
        &[("host", &localhost), ("origin", "http://localhost:3000")],
        &tools_list(),
    )
    .await;
    assert_allowed(&reply, "Host localhost, Origin http://localhost:3000");
    let reply = common::post_json(
        &url,
        &[("origin", &format!("http://127.0.0.1:{port}"))],
        &tools_list(),
    )
    .await;
    assert_allowed(&reply, "same-origin Origin");
    let reply = common::post_json(&url, &[("host", &localhost)], &tools_list()).await;
    assert_allowed(&reply, "Host localhost:PORT");
    let reply = common::post_json(&url, &[], &tools_list()).await;
    assert_allowed(&reply, "no Origin");
}

/// The conformance suite's `dns-rebinding-protection` case, on a gateway bound to every address (the
/// default bind): a rebinding browser's own name as Host and Origin is refused, a local page is served.
#[tokio::test]
async fn an_all_addresses_bind_refuses_a_rebinding_browser() {
    let yaml = common::route_yaml(SAMPLE).replace("address: 127.0.0.1", "address: 0.0.0.0");
    let gw = common::gateway(&yaml).await;
    let port = gw.addr.port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let reply = common::post_json(
        &url,
        &[
            ("host", "evil.example.com"),
            ("origin", "http://evil.example.com"),
        ],
        &tools_list(),
    )
    .await;
    assert_forbidden(&reply, "rebinding Host and Origin on a 0.0.0.0 bind");
    let localhost = format!("localhost:{port}");
    let reply = common::post_json(
        &url,
        &[
            ("host", &localhost),
            ("origin", &format!("http://{localhost}")),
        ],
        &tools_list(),
    )
    .await;
    assert_allowed(&reply, "localhost Host and Origin on a 0.0.0.0 bind");
    // Agents send no Origin: any Host is served on such a bind.
    let reply = common::post_json(&url, &[("host", "gw.example.com")], &tools_list()).await;
    assert_allowed(&reply, "no Origin, public Host");
}

/// `security.allowedHosts` on an all-addresses bind: a Host not listed is refused even without an Origin
/// (a rebinding page's fetch need not send one), a listed one and its subdomain pattern are served.
#[tokio::test]
async fn allowed_hosts_refuse_other_hosts_on_an_all_addresses_bind() {
    let yaml = format!(
        "{}security:\n  allowedHosts: [gw.example.com, '*.svc.cluster.local']\n",
        common::route_yaml(SAMPLE).replace("address: 127.0.0.1", "address: 0.0.0.0")
    );
    let gw = common::gateway(&yaml).await;
    let url = format!("http://127.0.0.1:{}/mcp", gw.addr.port());
    for host in ["evil.example.com", "127.0.0.1", "svc.cluster.local"] {
        let reply = common::post_json(&url, &[("host", host)], &tools_list()).await;
        assert_forbidden(&reply, host);
    }
    for host in ["gw.example.com", "agw.agents.svc.cluster.local:8080"] {
        let reply = common::post_json(&url, &[("host", host)], &tools_list()).await;
        assert_allowed(&reply, host);
    }
}

#[tokio::test]
async fn configured_allowed_origins_are_accepted() {
    let yaml = format!(
        "{}security:\n  allowedOrigins: [\"https://inspector.example\"]\n",
        common::route_yaml(SAMPLE)
    );
    let gw = common::gateway(&yaml).await;
    let url = gw.url("/mcp");

    let reply = common::post_json(
        &url,
        &[("origin", "https://inspector.example")],
        &tools_list(),
    )
    .await;
    assert_allowed(&reply, "configured Origin https://inspector.example");

    // Only that origin: another scheme or a foreign origin is still refused.
    let reply = common::post_json(
        &url,
        &[("origin", "http://inspector.example")],
        &tools_list(),
    )
    .await;
    assert_forbidden(&reply, "Origin http://inspector.example (other scheme)");
    let reply = common::post_json(&url, &[("origin", "http://evil.example")], &tools_list()).await;
    assert_forbidden(&reply, "Origin http://evil.example with allowedOrigins set");

    // A configured origin does not lift the Host check on a loopback bind.
    let evil_host = format!("evil.example:{}", gw.addr.port());
    let reply = common::post_json(
        &url,
        &[
            ("host", &evil_host),
            ("origin", "https://inspector.example"),
        ],
        &tools_list(),
    )
    .await;
    assert_forbidden(&reply, "configured Origin with Host evil.example");
}

// ---------------------------------------------------------------------------------------------------------
// 2. Authorization is not forwarded by default
// ---------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------
// 3. Pagination with gateway-owned cursors
// ---------------------------------------------------------------------------------------------------------

const TOOL_COUNT: usize = 1234;
const PROMPT_COUNT: usize = 600;
const UPSTREAM_PAGE: usize = 100;
const GATEWAY_PAGE: usize = 500;

/// One upstream page of `count` items starting at the upstream's own cursor `p<index>`.
fn upstream_page(r: &Request, key: &str, count: usize, item: impl Fn(usize) -> Value) -> Answer {
    let start = match r.params().get("cursor").and_then(Value::as_str) {
        None => 0,
        Some(c) => match c.strip_prefix('p').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= count => n,
            _ => return r.error(-32602, "bad upstream cursor"),
        },
    };
    let end = (start + UPSTREAM_PAGE).min(count);
    let mut result = json!({ key: (start..end).map(item).collect::<Vec<_>>() });
    if end < count {
        result["nextCursor"] = json!(format!("p{end}"));
    }
    r.result(result)
}

async fn list_page(url: &str, method: &str, cursor: Option<Value>) -> common::Reply {
    let params = match cursor {
        Some(c) => json!({"cursor": c}),
        None => json!({}),
    };
    common::post_json(url, &[], &request(7, method, params)).await
}

fn assert_invalid_cursor(reply: &common::Reply, case: &str) {
    let body = reply.json();
    assert_eq!(
        body["error"]["code"], -32602,
        "{case}: the gateway answered {} {}",
        reply.status, reply.text
    );
    assert_eq!(body["id"], 7, "{case}: {body}");
    assert!(body.get("result").is_none(), "{case}: {body}");
}

#[tokio::test]
async fn list_pages_use_gateway_owned_cursors_over_upstream_pagination() {
    let upstream = upstream(|r| match r.rpc_method() {
        "tools/list" => upstream_page(r, "tools", TOOL_COUNT, |i| tool_def(&format!("t{i:04}"))),
        "prompts/list" => upstream_page(
            r,
            "prompts",
            PROMPT_COUNT,
            |i| json!({"name": format!("p{i:04}")}),
        ),
        _ => r.not_found(),
    })
    .await;
    let gw = common::gateway(&common::route_yaml(&upstream.backend("many", None))).await;
    let url = gw.url("/mcp");

    // Discovery followed the upstream's own cursors to the end.
    let upstream_cursors: Vec<Value> = upstream
        .rpc("tools/list")
        .iter()
        .map(|r| r.params().get("cursor").cloned().unwrap_or(Value::Null))
        .collect();
    let mut expected = vec![Value::Null];
    expected.extend((1..13).map(|p| json!(format!("p{}", p * UPSTREAM_PAGE))));
    assert_eq!(
        upstream_cursors, expected,
        "discovery's upstream tools/list calls"
    );

    // Through the gateway: pages of 500 with an opaque cursor, every tool once, in order.
    let mut names: Vec<String> = Vec::new();
    let mut page_sizes = Vec::new();
    let mut cursors: Vec<String> = Vec::new();
    let mut cursor: Option<Value> = None;
    loop {
        let reply = list_page(&url, "tools/list", cursor.clone()).await;
        let body = reply.json();
        let tools = body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("no tools page: {} {}", reply.status, reply.text));
        page_sizes.push(tools.len());
        for t in tools {
            assert_eq!(t["inputSchema"], json!({"type": "object"}), "{t}");
            names.push(t["name"].as_str().unwrap().to_string());
        }
        match body["result"].get("nextCursor") {
            None | Some(Value::Null) => break,
            Some(Value::String(next)) => {
                cursors.push(next.clone());
                cursor = Some(json!(next));
            }
            Some(other) => panic!("nextCursor is not a string: {other}"),
        }
        assert!(
            page_sizes.len() < 10,
            "the gateway keeps paging: {page_sizes:?}"
        );
    }
    assert_eq!(
        page_sizes,
        [GATEWAY_PAGE, GATEWAY_PAGE, TOOL_COUNT - 2 * GATEWAY_PAGE]
    );
    let expected: Vec<String> = (0..TOOL_COUNT).map(|i| format!("t{i:04}")).collect();
    assert_eq!(names, expected, "every tool exactly once, in order");
    for c in &cursors {
        assert!(
            c.len() > 16
                && c.parse::<u64>().is_err()
                && !(c.starts_with('p') && c[1..].parse::<u64>().is_ok()),
            "the cursor is opaque, not an offset or the upstream's cursor: {c}"
        );
    }
    assert_ne!(cursors[0], cursors[1]);

    // A cursor can be followed again (it is a position, not a one-time token).
    let again = list_page(&url, "tools/list", Some(json!(cursors[1])))
        .await
        .json();
    assert_eq!(again["result"]["tools"][0]["name"], "t1000", "{again}");

    // Forged, tampered or mistyped cursors are refused with -32602.
    assert_invalid_cursor(
        &list_page(&url, "tools/list", Some(json!("abc"))).await,
        "forged cursor abc",
    );
    assert_invalid_cursor(
        &list_page(&url, "tools/list", Some(json!("p500"))).await,
        "the upstream's own cursor",
    );
    // One character in the middle changed: the ciphertext no longer authenticates.
    let mut tampered: Vec<char> = cursors[0].chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    assert_invalid_cursor(
        &list_page(&url, "tools/list", Some(json!(tampered))).await,
        "tampered cursor",
    );
    assert_invalid_cursor(
        &list_page(&url, "tools/list", Some(json!(500))).await,
        "numeric cursor",
    );

    // A cursor of another list is refused on tools/list (and the other way round).
    let prompts = list_page(&url, "prompts/list", None).await;
    let prompts_body = prompts.json();
    assert_eq!(
        prompts_body["result"]["prompts"].as_array().map(Vec::len),
        Some(GATEWAY_PAGE),
        "first prompts page: {} {}",
        prompts.status,
        prompts.text
    );
    let prompt_cursor = prompts_body["result"]["nextCursor"]
        .as_str()
        .unwrap_or_else(|| panic!("prompts/list gave no cursor: {prompts_body}"))
        .to_string();
    let rest = list_page(&url, "prompts/list", Some(json!(prompt_cursor)))
        .await
        .json();
    assert_eq!(
        rest["result"]["prompts"].as_array().map(Vec::len),
        Some(PROMPT_COUNT - GATEWAY_PAGE),
        "the prompts cursor is genuine on prompts/list: {rest}"
    );
    assert_eq!(rest["result"]["prompts"][0]["name"], "p0500");
    assert_invalid_cursor(
        &list_page(&url, "tools/list", Some(json!(prompt_cursor))).await,
        "a prompts/list cursor on tools/list",
    );
    assert_invalid_cursor(
        &list_page(&url, "prompts/list", Some(json!(cursors[0]))).await,
        "a tools/list cursor on prompts/list",
    );
}

// ---------------------------------------------------------------------------------------------------------
// 4. A slow upstream does not hold up other routes
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn slow_upstream_does_not_hold_up_another_route() {
    // The rmcp upstream, each call of which takes 2 s.
    let slow = rmcp_upstream::start_slow(Duration::from_secs(2)).await;
    let yaml = format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: test\n        routes:\n          - name: slow\n            match: {{path: {{prefix: /a}}}}\n            backends:\n{}          - name: fast\n            match: {{path: {{prefix: /b}}}}\n            backends:\n{}",
        common::indent(&rmcp_upstream::backend_yaml("slow", slow.addr), 14),
        common::indent(SAMPLE, 14)
    );
    let gw = common::gateway(&yaml).await;
    let order = Arc::new(AtomicUsize::new(0));

    let slow_call = {
        let (url, order) = (gw.url("/a"), order.clone());
        tokio::spawn(async move {
            let reply = common::post_json(
                &url,
                &[],
                &call("slow-1", "echo", json!({"text": "finally"})),
            )
            .await;
            let done = order.fetch_add(1, Ordering::SeqCst);
            (done, reply)
        })
    };
    slow.wait_for_calls(1).await;
    assert!(!slow_call.is_finished(), "the slow call is in flight");

    let fast_calls = (0..20).map(|i| {
        let (url, order) = (gw.url("/b"), order.clone());
        async move {
            let reply = common::post_json(
                &url,
                &[],
                &call(
                    format!("fast-{i}"),
                    "get_weather_data",
                    json!({"city": "Tampa, FL", "days": 1}),
                ),
            )
            .await;
            let done = order.fetch_add(1, Ordering::SeqCst);
            (done, reply)
        }
    });
    let fast = futures_util::future::join_all(fast_calls).await;
    assert!(
        !slow_call.is_finished(),
        "the slow call is still in flight after all 20 calls on /b"
    );
    let (slow_done, slow_reply) = slow_call.await.unwrap();

    for (i, (done, reply)) in fast.iter().enumerate() {
        let body = reply.json();
        assert_eq!(body["id"], format!("fast-{i}"), "{body}");
        assert!(
            body["result"]["content"].is_array() && body["result"]["isError"] != true,
            "call {i} on /b: {} {}",
            reply.status,
            reply.text
        );
        assert!(
            *done < slow_done,
            "call {i} on /b finished at position {done}, after the slow call ({slow_done})"
        );
    }
    assert_eq!(slow_done, 20, "the slow call finished last");
    let body = slow_reply.json();
    assert_eq!(body["id"], "slow-1");
    assert_eq!(body["result"]["content"][0]["text"], "finally", "{body}");
}

// ---------------------------------------------------------------------------------------------------------
// 5. The backend timeout
// ---------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------
// 6. Tool names on a one-backend route: as the upstream wrote them, except an empty one
// ---------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------
// 7. A session holds a bounded number of notification streams
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_session_opens_at_most_four_notification_streams() {
    let gw = common::gateway(&common::route_yaml(SAMPLE)).await;
    let url = gw.url("/mcp");
    let session = common::initialize(&url).await;
    let open = || {
        reqwest::Client::new()
            .get(&url)
            .header("mcp-session-id", &session)
            .header("accept", "text/event-stream")
            .send()
    };
    let mut streams = Vec::new();
    for _ in 0..4 {
        let stream = open().await.unwrap();
        assert_eq!(stream.status(), 200);
        streams.push(stream);
    }
    let refused = open().await.unwrap();
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4 notification streams open"),
        "{body}"
    );
    // Closing one gives its place back.
    drop(streams.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let again = open().await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
