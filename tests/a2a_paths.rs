//! Paths a normalising host would read as another agent's never leave the gateway. a2a-authz checks the
//! first segment after `/agents/`; the rest used to be forwarded as it came, so `/agents/weather/../planning/`
//! reached the planning agent behind a proxy that resolves dot-segments. The agent here is real (a2a-sdk);
//! a recording stub forwards to it so the test can see that nothing refused reached it. The requests are
//! written on a raw socket: HTTP client libraries resolve dot-segments before sending, as browsers do.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::stub::{Answer, Stub};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `path` verbatim; the answer's status and body.
async fn raw(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": "m1", "role": "user", "parts": [{"kind": "text", "text": "Tampa"}]}}})
    .to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\na2a-version: 0.3\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .expect("answered in 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer[9..12].parse().unwrap();
    (status, answer)
}

#[tokio::test]
async fn dot_segments_and_encoded_separators_are_refused_before_any_agent() {
    let (_agent, base) = common::a2a_agent("venv-a2a03", "weather-agent", &[]).await;
    let front = Stub::http()
        .start(move |_| Answer::Forward(base.clone()))
        .await;
    let yaml = format!(
        "binds:\n- port: 0\n  address: 127.0.0.1\n  listeners:\n  - name: a2a\n    routes:\n    - name: agents\n      match: {{path: {{prefix: /agents}}}}\n      backends:\n      - {{name: weather, address: 'http://{}', agentName: weather-agent}}\n    - name: tools\n      match: {{path: {{prefix: /mcp}}}}\n      backends:\n      - {{name: sample, type: sample}}\n",
        front.addr
    );
    let g = common::gateway(&yaml).await;
    let (status, answer) = raw(g.addr, "POST", "/agents/weather-agent").await;
    assert_eq!(status, 200, "the route works: {answer}");
    let seen = front.requests().len();

    for path in [
        "/agents/weather-agent/../planning/",
        "/agents/weather-agent/%2e%2e/planning/",
        "/agents/weather-agent/%2E./planning",
        "/agents/weather-agent/..%2Fplanning",
        "/agents/weather-agent%2F..%2Fplanning",
        "/agents/weather-agent/..%5cplanning",
        "/agents/./weather-agent",
        "/mcp/../agents/weather-agent",
        "/mcp/%2e%2e/agents",
    ] {
        let (status, answer) = raw(g.addr, "POST", path).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(
            answer.contains("-32600") && answer.contains("path"),
            "{path}: a JSON-RPC invalid request naming the path: {answer}"
        );
    }
    assert_eq!(
        front.requests().len(),
        seen,
        "a refused path reached the agent: {:?}",
        front.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}
