//! Hardening, end to end over real HTTP: DNS-rebinding protection (Host and Origin checks), the caller's
//! `Authorization` header kept from upstreams unless a backend asks for it, gateway-owned list cursors over
//! an upstream that paginates itself, one slow upstream not holding up another route, and the per-backend
//! timeout. The upstreams are stubs (`common::stub`: session era, JSON replies) that record every message
//! and its headers, so the tests can check what actually reached them, and the rmcp upstream where only
//! slowness is needed.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::rmcp_upstream;
use common::stub::{Answer, Era, Request, Stub};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------------------
// A recording upstream
// ---------------------------------------------------------------------------------------------------------

/// A session-era stub upstream (`common::stub`) offering tools and prompts, with `script` for everything
/// but the handshake. A stub because these tests read what reached the upstream (every message with its
/// headers, the cursors discovery sent) or need it to page its lists or never answer, which no real peer
/// does on cue.
async fn upstream(script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Stub {
    Stub::mcp(Era::Session)
        .capabilities(json!({"tools": {}, "prompts": {}}))
        .start(script)
        .await
}

fn text_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

fn tool_def(name: &str) -> Value {
    json!({"name": name, "inputSchema": {"type": "object"}})
}

fn request(id: impl Into<Value>, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id.into(), "method": method, "params": params})
}

fn call(id: impl Into<Value>, tool: &str, arguments: Value) -> Value {
    request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

const SAMPLE: &str = "- name: sample\n  type: sample\n";

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
        format!("Forbidden: Host {evil_host} is not a loopback name on a loopback listener")
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
// 6. Replies are matched to their request by id
// ---------------------------------------------------------------------------------------------------------

/// An upstream that answers a call's stream with a reply to some other request first. A stub: no real
/// server sends a stray reply on cue.
#[tokio::test]
async fn a_reply_with_another_id_is_never_taken_for_the_callers() {
    let upstream = upstream(|r| match r.rpc_method() {
        "tools/list" => r.result(json!({"tools": [tool_def("t"), tool_def("stray")]})),
        "tools/call" if r.params()["name"] == "t" => {
            let stray = json!({"jsonrpc": "2.0", "id": "not-yours", "result": text_result("someone else's")});
            let own = json!({"jsonrpc": "2.0", "id": r.json["id"], "result": text_result("yours")});
            Answer::status(
                200,
                "text/event-stream",
                format!("data: {stray}\n\ndata: {own}\n\n"),
            )
        }
        // As a whole JSON body, a reply with another id is all there is: an error, not someone's result.
        "tools/call" => Answer::json(
            &json!({"jsonrpc": "2.0", "id": 424242, "result": text_result("someone else's")}),
        ),
        _ => r.not_found(),
    })
    .await;
    let backend = format!(
        "- name: up\n  type: mcp-http\n  address: http://{}\n  mcp:\n    endpoint: /mcp\n",
        upstream.addr
    );
    let gw = common::gateway(&common::route_yaml(&backend)).await;
    let url = gw.url("/mcp");

    let reply = common::post_json(&url, &[], &call(5, "t", json!({}))).await;
    let answer = reply.messages().pop().unwrap();
    assert_eq!(answer["id"], 5, "{answer}");
    assert_eq!(answer["result"]["content"][0]["text"], "yours", "{answer}");

    let reply = common::post_json(&url, &[], &call(6, "stray", json!({}))).await;
    let answer = reply.messages().pop().unwrap();
    assert_eq!(answer["id"], 6, "{answer}");
    assert!(answer.get("result").is_none(), "{answer}");
    assert!(
        !answer.to_string().contains("someone else's"),
        "another request's result reached the caller: {answer}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// 7. Tool names on a one-backend route: as the upstream wrote them, except an empty one
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
    let backend = format!(
        "- name: up\n  type: mcp-http\n  address: http://{}\n  mcp:\n    endpoint: /mcp\n",
        upstream.addr
    );
    let gw = common::gateway(&common::route_yaml(&backend)).await;
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
// 8. An upstream that is down: its tools are unavailable, not unknown
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
// 9. Server-to-client requests: bounded per call, dropped when the call ends
// ---------------------------------------------------------------------------------------------------------

/// An upstream that sends 40 `roots/list` requests on a call's stream and then answers the call. A stub:
/// no real server floods its caller on cue.
#[tokio::test]
async fn a_calls_unanswered_requests_are_bounded_and_released_when_it_ends() {
    let upstream = upstream(|r| match r.rpc_method() {
        "tools/list" => r.result(json!({"tools": [tool_def("flood")]})),
        "tools/call" => {
            let mut events = String::new();
            for i in 0..40 {
                let ask = json!({"jsonrpc": "2.0", "id": format!("r{i}"), "method": "roots/list"});
                events.push_str(&format!("data: {ask}\n\n"));
            }
            let own = json!({"jsonrpc": "2.0", "id": r.json["id"], "result": text_result("done")});
            events.push_str(&format!("data: {own}\n\n"));
            Answer::status(200, "text/event-stream", events)
        }
        // The gateway's answers to the upstream's requests.
        "" => Answer::empty(202),
        _ => r.not_found(),
    })
    .await;
    let backend = format!(
        "- name: up\n  type: mcp-http\n  address: http://{}\n  mcp:\n    endpoint: /mcp\n",
        upstream.addr
    );
    let gw = common::gateway(&common::route_yaml(&backend)).await;
    let url = gw.url("/mcp");
    let session = common::initialize(&url).await;
    let reply = common::post_json(
        &url,
        &[
            ("mcp-session-id", &session),
            ("accept", "application/json, text/event-stream"),
        ],
        &call(9, "flood", json!({})),
    )
    .await;
    let messages = reply.messages();
    let relayed = messages
        .iter()
        .filter(|m| m["method"] == "roots/list")
        .count();
    assert_eq!(relayed, 32, "the per-call bound: {}", reply.text);
    assert_eq!(
        messages.last().unwrap()["result"]["content"][0]["text"],
        "done"
    );
    // Every request of the upstream is answered: 8 refused at the bound, 32 released when the call ended
    // (they were kept for 10 minutes before).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answers: Vec<Value> = upstream
            .requests()
            .iter()
            .filter(|r| r.json.get("id").is_some() && r.json.get("error").is_some())
            .map(|r| r.json.clone())
            .collect();
        if answers.len() == 40 {
            let refused = answers
                .iter()
                .filter(|a| {
                    a["error"]["message"] == "this call has too many requests waiting for replies"
                })
                .count();
            assert_eq!(refused, 8, "{answers:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 40 requests answered: {answers:?}",
            answers.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// 10. The route timeout fires while an upstream keeps sending
// ---------------------------------------------------------------------------------------------------------

/// A hostile upstream on a raw socket: it answers the handshake and tools/list, then answers a
/// tools/call with an event stream that trickles 100-byte pieces of one endless event every
/// millisecond. No SDK does that on purpose; a broken or malicious server can.
async fn dripping_upstream() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    // One request: its head, then content-length bytes of body.
                    let mut chunk = [0u8; 4096];
                    let (head_end, length) = loop {
                        let text = String::from_utf8_lossy(&buffer).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text[..end]
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            if buffer.len() >= end + 4 + length {
                                break (end + 4, length);
                            }
                        }
                        match tcp.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let body: Value = serde_json::from_slice(&buffer[head_end..head_end + length])
                        .unwrap_or(Value::Null);
                    buffer.drain(..head_end + length);
                    let reply = |v: Value, extra: &str| {
                        let text = v.to_string();
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{text}",
                            text.len()
                        )
                    };
                    let id = body["id"].clone();
                    let answer = match body["method"].as_str() {
                        Some("initialize") => reply(
                            json!({"jsonrpc": "2.0", "id": id, "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "drip", "version": "1"}}}),
                            "mcp-session-id: drip-1\r\n",
                        ),
                        Some("tools/list") => reply(
                            json!({"jsonrpc": "2.0", "id": id, "result": {"tools": [tool_def("drip")]}}),
                            "",
                        ),
                        Some("tools/call") => {
                            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                            if tcp.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let piece = format!("64\r\ndata: {}\r\n", "x".repeat(100 - 6));
                            loop {
                                if tcp.write_all(piece.as_bytes()).await.is_err() {
                                    return;
                                }
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                        Some(m) if m.starts_with("notifications/") => {
                            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_string()
                        }
                        _ => reply(
                            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}}),
                            "",
                        ),
                    };
                    if tcp.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn the_backend_timeout_fires_while_an_event_trickles_in() {
    let addr = dripping_upstream().await;
    let backend = format!(
        "- name: drip\n  type: mcp-http\n  address: http://{addr}\n  mcp:\n    endpoint: /mcp\n    timeout: 1s\n"
    );
    let gw = common::gateway(&common::route_yaml(&backend)).await;
    let started = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(15),
        common::post_json(&gw.url("/mcp"), &[], &call(1, "drip", json!({}))),
    )
    .await
    .expect("answered while the upstream kept sending");
    let elapsed = started.elapsed();
    assert_eq!(reply.json()["error"]["code"], -32001, "{}", reply.text);
    assert!(
        elapsed < Duration::from_secs(4),
        "a 1 s timeout answered after {elapsed:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// 11. An upstream's error details stay in the log
// ---------------------------------------------------------------------------------------------------------

/// A stub: the point is a 500 whose body holds something secret.
#[tokio::test]
async fn an_upstreams_error_body_never_reaches_the_caller() {
    let secret = "password=hunter2 at db.internal:5432";
    let upstream = upstream(move |r| match r.rpc_method() {
        "tools/list" => r.result(json!({"tools": [tool_def("leaky")]})),
        "tools/call" => Answer::status(
            500,
            "text/plain",
            format!("{secret}\n{}", "trace ".repeat(700)),
        ),
        _ => r.not_found(),
    })
    .await;
    let gw = common::gateway(&common::route_yaml(&upstream.backend("leaky", None))).await;
    let reply = common::post_json(&gw.url("/mcp"), &[], &call(1, "leaky", json!({}))).await;
    let error = &reply.json()["error"];
    assert_eq!(error["code"], -32002, "{}", reply.text);
    assert_eq!(error["data"]["reason"], "HTTP 500", "{}", reply.text);
    assert!(
        !reply.text.contains("hunter2")
            && !reply.text.contains("trace")
            && !reply.text.contains("127.0.0.1"),
        "{}",
        reply.text
    );
}

// ---------------------------------------------------------------------------------------------------------
// 12. Anonymous callers without a session share no upstream session
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
    let deletes = || {
        upstream
            .requests()
            .iter()
            .filter(|r| r.method == http::Method::DELETE)
            .count()
    };
    let (initializes, deleted) = (upstream.count("initialize"), deletes());
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while deletes() - deleted < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 3 one-call upstream sessions were closed",
            deletes() - deleted
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// 13. What one upstream may list is capped
// ---------------------------------------------------------------------------------------------------------

/// A stub upstream lists 30 tools, each with a 1 KB description: past either cap its discovery fails,
/// its tools are withheld and `/health/upstreams` names the limit.
#[tokio::test]
async fn an_upstream_listing_past_the_caps_is_withheld_and_reported() {
    let upstream = upstream(|r| match r.rpc_method() {
        "tools/list" => {
            let tools: Vec<Value> = (0..30)
                .map(|i| json!({"name": format!("t{i}"), "description": "d".repeat(1024), "inputSchema": {"type": "object"}}))
                .collect();
            r.result(json!({ "tools": tools }))
        }
        _ => r.not_found(),
    })
    .await;
    for (limits, named) in [
        ("maxUpstreamTools: 20", "limits.maxUpstreamTools"),
        (
            "maxUpstreamCatalogueBytes: 16384",
            "limits.maxUpstreamCatalogueBytes",
        ),
    ] {
        let yaml = format!(
            "{}limits: {{{limits}}}\n",
            common::route_yaml(&upstream.backend("big", None))
        );
        let gw = common::gateway(&yaml).await;
        let health = common::get_json(&gw.url("/health/upstreams")).await;
        let upstream_health = &health["routes"][0]["upstreams"][0]["health"];
        assert!(
            upstream_health.to_string().contains(named),
            "{limits}: {health}"
        );
        let listed = common::post_json(&gw.url("/mcp"), &[], &tools_list())
            .await
            .json();
        assert!(common::tool_names(&listed).is_empty(), "{limits}: {listed}");
    }
    // Within the caps the same upstream is served whole.
    let yaml = format!(
        "{}limits: {{maxUpstreamTools: 30, maxUpstreamCatalogueBytes: 65536}}\n",
        common::route_yaml(&upstream.backend("big", None))
    );
    let gw = common::gateway(&yaml).await;
    let listed = common::post_json(&gw.url("/mcp"), &[], &tools_list())
        .await
        .json();
    assert_eq!(common::tool_names(&listed).len(), 30);
}

// ---------------------------------------------------------------------------------------------------------
// 14. A session holds a bounded number of notification streams
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

// ---------------------------------------------------------------------------------------------------------
// 15. Upstream sessions opened at initialize end with their downstream session
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
    let deletes = || {
        upstream
            .requests()
            .iter()
            .filter(|r| r.method == http::Method::DELETE)
            .count()
    };
    let before = deletes();
    common::initialize(&url).await;
    common::initialize(&url).await;
    assert_eq!(
        deletes(),
        before,
        "nothing is closed while the sessions live"
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // The next initialize closes the expired ones (no timer runs for that).
    let live = common::initialize(&url).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while deletes() - before < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 2 expired upstream sessions were closed",
            deletes() - before
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A client's DELETE closes its upstream session at once, and only once.
    let deleted = reqwest::Client::new()
        .delete(&url)
        .header("mcp-session-id", &live)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(deletes() - before, 3);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    common::initialize(&url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deletes() - before, 3, "a closed session was closed again");
}
