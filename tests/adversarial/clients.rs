//! Hostile clients: slow senders, connection floods, oversized and over-deep bodies, cancellation aimed
//! at another caller's call, path traversal, spoofed forwarding headers. Each is bounded by a limit or
//! refused outright, while the healthy route keeps its latency and memory stays bounded.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::arena::{Arena, Budget, repeat_for};
use crate::common::{self, mcp::call};

/// Reads until the gateway closes the connection (or `within` passes, which fails the test).
async fn until_closed(mut tcp: TcpStream, within: Duration) -> Vec<u8> {
    let mut answer = Vec::new();
    tokio::time::timeout(within, tcp.read_to_end(&mut answer))
        .await
        .expect("the gateway closes the connection in time")
        .ok();
    answer
}

/// The status line of one raw HTTP/1.1 request (sent whole, on a connection of its own).
async fn raw_status(addr: SocketAddr, request: String) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let answer = until_closed(tcp, Duration::from_secs(5)).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn sample_victim() -> &'static str {
    common::mcp::SAMPLE
}

/// 100 connections that each send a request head a byte every 100 ms (slowloris): every one is cut off
/// at `headerReadTimeout` (1 s), however steadily it trickles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris() {
    let arena = Arena::start(sample_victim(), "").await;
    let addr = arena.addr;
    let attack = join_all((0..100).map(|_| async move {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"POST /victim HTTP/1.1\r\n").await.unwrap();
        for _ in 0..100 {
            if tcp.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("a slow head was still read after 10 s");
    }));
    arena
        .withstand(attack, Budget::new(Duration::from_secs(5), 16))
        .await;
}

/// 300 idle connections against `maxConnections: 128`: the gateway serves 128 at once and closes each
/// idle one at `headerReadTimeout`, the rest waiting in the kernel's accept queue meanwhile, so all are
/// gone within a few rounds, and a client already connected keeps being served. (Past what the accept
/// queue holds, the kernel drops connection attempts and the clients' own SYN backoff sets the pace.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_past_the_cap() {
    let arena = Arena::start(sample_victim(), "").await;
    let addr = arena.addr;
    let attack = join_all((0..300).map(|_| async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        until_closed(tcp, Duration::from_secs(15)).await
    }));
    // A new connection of the neighbour's waits its turn in the accept queue like any other.
    let budget = Budget {
        neighbour_max: Duration::from_secs(2),
        ..Budget::new(Duration::from_secs(15), 32)
    };
    let answers = arena.withstand(attack, budget).await;
    assert!(
        answers
            .iter()
            .all(|a| a.is_empty() || a.starts_with(b"HTTP/1.1 408"))
    );
}

/// 48 clients at once: 16 declare a 64 MB body (past `maxBodyBytes`, 1 MiB), 16 stream a chunked body
/// without end, 16 send 200,000-deep JSON. The first get 413 before any body is read, the second are cut
/// off at the limit, the third get 400; nothing is buffered past the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_endless_and_over_deep_bodies() {
    let arena = Arena::start(sample_victim(), "").await;
    let addr = arena.addr;
    let deep = bytes::Bytes::from(format!("{}{}", "[".repeat(200_000), "]".repeat(200_000)));
    let round = || {
        let deep = deep.clone();
        async move {
            let declared = join_all(
                (0..16).map(|_| raw_status(addr, post_head(addr, "content-length: 67108864"))),
            );
            let endless = join_all((0..16).map(|_| endless_chunked_body(addr)));
            let url = format!("http://{addr}/victim");
            let deep = join_all((0..16).map(|_| {
                common::post(&url, &[("content-type", "application/json")], deep.clone())
            }));
            let answers = tokio::join!(declared, endless, deep);
            // A pause between rounds: the attack is on the limits, not a load test of the machine.
            tokio::time::sleep(Duration::from_millis(100)).await;
            answers
        }
    };
    let attack = repeat_for(Duration::from_secs(2), round);
    // 48 bodies at once, each read up to `maxBodyBytes` (1 MiB) at most.
    for (declared, endless, deep) in arena
        .withstand(attack, Budget::new(Duration::from_secs(15), 64))
        .await
    {
        assert!(
            declared.iter().all(|s| s.starts_with("HTTP/1.1 413")),
            "{declared:?}"
        );
        assert!(
            endless.iter().all(|&cut_off| cut_off),
            "an endless body was read to its end"
        );
        assert!(
            deep.iter().all(|r| r.status == 400),
            "{:?}",
            deep.iter().map(|r| r.status).collect::<Vec<_>>()
        );
    }
}

fn post_head(addr: SocketAddr, framing: &str) -> String {
    format!(
        "POST /victim HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n{framing}\r\n\r\n"
    )
}

/// Writes a chunked body until the gateway stops reading it (64 MB if it never does); whether it stopped.
async fn endless_chunked_body(addr: SocketAddr) -> bool {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(post_head(addr, "transfer-encoding: chunked").as_bytes())
        .await
        .unwrap();
    let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
    for _ in 0..1024 {
        if tcp.write_all(chunk.as_bytes()).await.is_err() {
            return true;
        }
    }
    false
}

/// A caller's slow call (real Python SDK upstream) while 200 other anonymous callers send
/// `notifications/cancelled` for the same JSON-RPC id: the call is theirs to cancel only, so it
/// completes with its result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_aimed_at_another_callers_call() {
    let mut cmd = tokio::process::Command::new(common::python());
    cmd.current_dir(common::repo().join("tests/peers"))
        .args(["py_upstream.py", "--port", "0"]);
    let (_upstream, port) = common::spawn_listening(cmd).await;
    let victim = format!(
        "- name: py\n  type: mcp-http\n  address: http://127.0.0.1:{port}\n  mcp: {{endpoint: /mcp}}\n"
    );
    let arena = Arena::start(&victim, "").await;
    let url = arena.url("/victim");
    let headers = [("accept", "application/json, text/event-stream")];
    let slow_call = call(7, "slow", json!({"seconds": 1.5, "steps": 3}));
    let slow = common::post_json(&url, &headers, &slow_call);
    let cancels = join_all((0..200).map(|n| {
        let url = url.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(5 * n)).await;
            let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": 7, "reason": "not yours"}});
            common::post_json(&url, &headers, &cancel).await.status
        }
    }));
    let (reply, statuses) = arena
        .withstand(
            async { tokio::join!(slow, cancels) },
            Budget::new(Duration::from_secs(10), 32),
        )
        .await;
    assert!(statuses.iter().all(|&s| s == 202), "{statuses:?}");
    let answer = reply.messages().pop().expect("the slow call's answer");
    assert_eq!(answer["id"], 7, "{answer}");
    assert!(
        answer.get("result").is_some(),
        "another caller cancelled this call: {answer}"
    );
}

/// 2,000 requests whose paths climb out of the route (`..`, `%2e%2e`, `..%2f`, `%2E%2E%5C`): every one
/// refused with 400 before any routing or upstream sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal() {
    let arena = Arena::start(sample_victim(), "").await;
    let addr = arena.addr;
    let climbs = [
        "/victim/../healthy",
        "/victim/%2e%2e/healthy",
        "/victim/..%2fhealthy",
        "/victim/%2E%2E%5Chealthy",
    ];
    let attack = join_all((0..2000).map(|i| {
        let path = climbs[i % climbs.len()];
        let body = call(1, "ok", json!({})).to_string();
        raw_status(addr, format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
    }));
    let statuses = arena
        .withstand(attack, Budget::new(Duration::from_secs(20), 32))
        .await;
    assert!(
        statuses.iter().all(|s| s.starts_with("HTTP/1.1 400")),
        "{:?}",
        &statuses[..4]
    );
}

/// 500 agent-card fetches (real a2a-sdk agent) with `X-Forwarded-Host`/`-Proto` and `Forwarded`
/// naming another host, from a peer that is not a trusted proxy: no card names that host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_forwarding_headers() {
    let (_agent, base) = common::a2a_agent("venv-a2a", "weather-agent", &[]).await;
    let victim = format!("- {{name: weather, address: '{base}', agentName: weather-agent}}\n");
    let arena = Arena::start(&victim, "").await;
    let url = arena.url("/victim/weather-agent/.well-known/agent-card.json");
    let client = reqwest::Client::new();
    let attack = join_all((0..500).map(|_| {
        let request = client
            .get(&url)
            .header("x-forwarded-host", "evil.example")
            .header("x-forwarded-proto", "https")
            .header("forwarded", "host=evil.example;proto=https");
        async move { request.send().await.unwrap().text().await.unwrap() }
    }));
    let cards = arena
        .withstand(attack, Budget::new(Duration::from_secs(20), 32))
        .await;
    for card in cards {
        assert!(
            card.contains("weather-agent") && !card.contains("evil.example"),
            "{card:.300}"
        );
    }
}
