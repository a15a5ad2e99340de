//! Graceful shutdown of the gateway binary: SIGTERM stops accepting at once, calls in flight (plain and
//! streamed) finish, a notification stream ends cleanly, a call slower than the grace period is cut, and
//! the process exits 0 with a log that says which of these happened.

mod common;

use std::net::SocketAddr;
use std::process::ExitStatus;
use std::time::Duration;

use common::rmcp_upstream;
use serde_json::{Value, json};
use tokio::time::Instant;

const SESSION_VERSION: &str = "2025-11-25";

/// The gateway binary with `shutdown.gracePeriod: grace` in front of `upstream`.
struct Process {
    child: common::Child,
    addr: SocketAddr,
    log: common::Log,
    _config: tempfile::TempDir,
}

impl Process {
    async fn start(upstream: SocketAddr, grace: &str) -> Process {
        // The backend's own timeout is longer than any call here, so only the drain can end one.
        let backend = format!(
            "- name: slow\n  type: mcp-http\n  address: http://{upstream}\n  mcp:\n    endpoint: /mcp\n    timeout: 60s\n"
        );
        let yaml = format!(
            "{}shutdown:\n  gracePeriod: {grace}\n",
            common::route_yaml(&backend)
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway.yaml");
        std::fs::write(&file, yaml).unwrap();
        let (child, addr, log) = common::gateway_process_logged(&file, &[], &[]).await;
        Process {
            child,
            addr,
            log,
            _config: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// SIGTERM, as Kubernetes sends it; returns when it was sent.
    async fn terminate(&self) -> Instant {
        let pid = self.child.0.id().expect("the gateway runs").to_string();
        let status = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {pid}");
        Instant::now()
    }

    /// After SIGTERM at `sent`: exits 0 sooner than `within` and logs that it drained. Returns that line.
    async fn exits_drained(&mut self, sent: Instant, within: Duration) -> Value {
        let status = self.exit(within).await;
        assert_eq!(status.code(), Some(0), "{status}");
        assert!(sent.elapsed() < within, "{:?}", sent.elapsed());
        self.log.wait_for("drained", Duration::from_secs(5)).await
    }

    /// The exit status, which must come within `within`.
    async fn exit(&mut self, within: Duration) -> ExitStatus {
        tokio::time::timeout(within, self.child.0.wait())
            .await
            .unwrap_or_else(|_| panic!("the gateway did not exit within {within:?}"))
            .unwrap()
    }
}

/// A call that takes 30s upstream, sent through `gateway` and in flight there when this returns. Its task
/// returns what the client got.
async fn slow_call(
    gateway: &Process,
    upstream: &rmcp_upstream::Upstream,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let url = gateway.url();
    let call = tokio::spawn(async move {
        reqwest::Client::new()
            .post(&url)
            .json(&echo(1, "slow", json!({})))
            .send()
            .await
    });
    upstream.wait_for_calls(1).await;
    call
}

/// A session-era session's GET notification stream (initialize, then GET with its Mcp-Session-Id).
async fn notification_stream(url: &str) -> reqwest::Response {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": SESSION_VERSION, "capabilities": {}, "clientInfo": {"name": "shutdown-test", "version": "1"}}});
    let initialized = common::post_json(url, &[], &init).await;
    let session = initialized.headers["mcp-session-id"].to_str().unwrap();
    let stream = reqwest::Client::new()
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", SESSION_VERSION)
        .send()
        .await
        .expect("the GET stream opens");
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    stream
}

/// Reads `stream` (keepalives, if any) until its body ends, which must be within `within` and clean: a
/// reset or a chunked body cut off would be an error here.
async fn ends_cleanly(stream: &mut reqwest::Response, within: Duration) {
    let ended = tokio::time::timeout(within, async {
        loop {
            match stream.chunk().await {
                Ok(Some(_keepalive)) => continue,
                ended => return ended,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the stream did not end within {within:?}"));
    assert!(
        matches!(ended, Ok(None)),
        "the stream ends cleanly: {ended:?}"
    );
}

fn echo(id: u64, text: &str, meta: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": text}, "_meta": meta}})
}

#[tokio::test]
async fn sigterm_lets_calls_in_flight_finish_refuses_new_connections_and_exits_0() {
    let upstream = rmcp_upstream::start_slow(Duration::from_secs(2)).await;
    let mut gateway = Process::start(upstream.addr, "20s").await;
    // One call answered as JSON, one as an event stream (it asks for progress, and the upstream sends some
    // before its result): both are requests in flight.
    let plain = tokio::spawn({
        let url = gateway.url();
        async move { common::post_json(&url, &[], &echo(1, "plain", json!({}))).await }
    });
    let streamed = tokio::spawn({
        let url = gateway.url();
        async move {
            let accept = [("accept", "application/json, text/event-stream")];
            let call = echo(2, "streamed", json!({"progressToken": "p"}));
            common::post_json(&url, &accept, &call).await
        }
    });
    upstream.wait_for_calls(2).await;

    let sent = gateway.terminate().await;
    let stopping = gateway
        .log
        .wait_for("shutting down", Duration::from_secs(10))
        .await;
    assert_eq!(stopping["grace_period_secs"], 20.0, "{stopping}");
    assert_eq!(stopping["requests"], 2, "{stopping}");
    assert!(
        stopping["message"].as_str().unwrap().contains("get 20s"),
        "the log states the configured grace period: {stopping}"
    );
    let refused = tokio::net::TcpStream::connect(gateway.addr).await;
    assert_eq!(
        refused.map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "a new connection after SIGTERM is refused"
    );

    let plain = plain.await.unwrap();
    assert_eq!(plain.status, 200, "{}", plain.text);
    assert_eq!(plain.json()["result"]["content"][0]["text"], "plain");
    let messages = streamed.await.unwrap().messages();
    assert_eq!(
        messages.first().unwrap()["method"],
        "notifications/progress",
        "{messages:?}"
    );
    let last = messages.last().unwrap();
    assert_eq!(last["id"], 2, "{messages:?}");
    assert_eq!(last["result"]["content"][0]["text"], "streamed", "{last}");

    // Once drained, well before the 20s grace period.
    let drained = gateway.exits_drained(sent, Duration::from_secs(15)).await;
    assert_eq!(drained["requests"], 2, "{drained}");
}

#[tokio::test]
async fn a_call_slower_than_the_grace_period_is_cut_and_the_gateway_still_exits_0() {
    let upstream = rmcp_upstream::start_slow(Duration::from_secs(30)).await;
    let mut gateway = Process::start(upstream.addr, "1s").await;
    let call = slow_call(&gateway, &upstream).await;

    let sent = gateway.terminate().await;
    let status = gateway.exit(Duration::from_secs(10)).await;
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "exits shortly after the 1s grace period, not after the call's 30s: {took:?}"
    );
    let cut = gateway
        .log
        .wait_for("expired", Duration::from_secs(5))
        .await;
    assert_eq!(cut["level"], "WARN", "{cut}");
    assert_eq!(cut["cut"], 1, "{cut}");
    assert!(
        cut["message"].as_str().unwrap().contains("1s"),
        "the warning names the grace period: {cut}"
    );
    assert!(gateway.log.find("drained").is_none());
    // The caller gets no result: its connection closed under it.
    let answer = call.await.unwrap();
    assert!(answer.is_err(), "{answer:?}");
}

#[tokio::test]
async fn an_open_notification_stream_ends_cleanly_and_the_gateway_exits_without_waiting() {
    let upstream = rmcp_upstream::start(false, 0).await;
    let mut gateway = Process::start(upstream.addr, "20s").await;
    let mut stream = notification_stream(&gateway.url()).await;

    let sent = gateway.terminate().await;
    ends_cleanly(&mut stream, Duration::from_secs(10)).await;
    // An open stream does not hold the gateway for its 20s grace period.
    let drained = gateway.exits_drained(sent, Duration::from_secs(10)).await;
    assert_eq!(drained["streams"], 1, "{drained}");
}

#[tokio::test]
async fn a_second_signal_during_the_drain_exits_at_once() {
    let upstream = rmcp_upstream::start_slow(Duration::from_secs(30)).await;
    let mut gateway = Process::start(upstream.addr, "20s").await;
    let _call = slow_call(&gateway, &upstream).await;
    gateway.terminate().await;
    gateway
        .log
        .wait_for("shutting down", Duration::from_secs(10))
        .await;
    let sent = gateway.terminate().await;
    let status = gateway.exit(Duration::from_secs(10)).await;
    // 128 + 15, as a shell reports a process killed by SIGTERM: the call was cut on request.
    assert_eq!(status.code(), Some(143), "{status}");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    let second = gateway
        .log
        .wait_for("second signal", Duration::from_secs(5))
        .await;
    assert_eq!(second["requests"], 1, "{second}");
}

/// In-process gateways (tests) stop when dropped, without a drain: their streams end cleanly at once.
#[tokio::test]
async fn a_gateway_dropped_in_process_ends_its_streams_at_once() {
    let upstream = rmcp_upstream::start(false, 0).await;
    let gw = common::gateway(&common::route_yaml(&rmcp_upstream::backend_yaml(
        "rust",
        upstream.addr,
    )))
    .await;
    let url = gw.url("/mcp");
    let mut stream = notification_stream(&url).await;
    drop(gw);
    ends_cleanly(&mut stream, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_reload_changes_the_grace_period() {
    let yaml = common::route_yaml("- name: sample\n  type: sample\n");
    let gw = common::gateway(&yaml).await;
    assert_eq!(gw.running.grace_period(), Duration::from_secs(25));
    let changed = format!("{yaml}shutdown:\n  gracePeriod: 3s\n");
    let loaded = agent_gateway::config::load_str(&changed, "test.yaml").unwrap();
    gw.running.reload(&loaded.config).await.unwrap();
    assert_eq!(gw.running.grace_period(), Duration::from_secs(3));
}
