//! Hostile or broken upstreams, end to end over real HTTP: a reply with another request's id, a flood of
//! server-to-client requests, an endless event trickled byte by byte, an error body holding secrets, a
//! catalogue past the caps. Each is a stub (`common::stub`) or a raw socket, since no real server
//! misbehaves on cue; each test says what the gateway must bound or keep to itself.

mod common;

use std::time::{Duration, Instant};

use common::mcp::{call, text_result, tool_def, tools_list, upstream};
use common::stub::Answer;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------------------
// 1. Replies are matched to their request by id
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
    let gw = common::gateway(&common::route_yaml(&upstream.backend("up", None))).await;
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
// 2. Server-to-client requests: bounded per call, dropped when the call ends
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
    let gw = common::gateway(&common::route_yaml(&upstream.backend("up", None))).await;
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
// 3. The route timeout fires while an upstream keeps sending
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
// 4. An upstream's error details stay in the log
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
// 5. What one upstream may list is capped
// ---------------------------------------------------------------------------------------------------------

/// A stub upstream lists 30 tools, each with a 1 KB description: past either cap its discovery fails,
/// its tools are withheld and `/health/upstreams` names the limit. Compiled schemas count too, by their
/// estimated size (`catalogue::schema::cost`).
#[tokio::test]
async fn an_upstream_listing_past_the_caps_is_withheld_and_reported() {
    let upstream = upstream(|r| match r.rpc_method() {
        "tools/list" => {
            let tools: Vec<Value> = (0..30)
                .map(|i| json!({"name": format!("t{i}"), "description": "d".repeat(1024),
                    "inputSchema": {"type": "object", "properties": {"q": {"type": "string", "pattern": format!("^q{i}$")}}}}))
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
        // 30 distinct schemas with a pattern each: ~9 MB once compiled, as estimated.
        (
            "maxUpstreamSchemaBytes: 4194304",
            "limits.maxUpstreamSchemaBytes",
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
