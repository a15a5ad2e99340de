//! Pagination with gateway-owned cursors over an upstream that paginates itself: opaque, repeatable, bound to
//! their list, and refused when forged or tampered with.

use serde_json::{Value, json};

use crate::common;
use crate::common::mcp::{request, tool_def, upstream};
use crate::common::stub::{Answer, Request};

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
