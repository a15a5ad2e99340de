//! Change notifications end to end: the Python `mcp` 2.x SDK upstream (`py_upstream.py --notify`) announces
//! tool-list changes and resource updates, and the gateway relays them to raw HTTP clients in both eras.
//!
//! Every scenario runs against the upstream in each era it can be limited to (`--era legacy`: session era
//! only, `--era modern`: 2026-07-28 only, `--era both`: the SDK's default, which the gateway reaches at
//! 2026-07-28 because `server/discover` answers). The gateway's refresh interval is its 300 s default, so a
//! new tool showing up within the deadline proves the announcement path (the upstream's GET stream or
//! `subscriptions/listen` stream), not a periodic re-list.

mod common;

use std::time::Duration;

use common::{Child, Gateway, gateway, post_json, route_yaml, tool_names};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio::time::Instant;

const DEADLINE: Duration = Duration::from_secs(15);
const SESSION_VERSION: &str = "2025-11-25";
const MODERN: &str = "2026-07-28";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// Logs of the in-process gateway, shown with `RUST_LOG=agent_gateway=debug cargo test ... -- --nocapture`.
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Starts `py_upstream.py --notify --era ERA` over Streamable HTTP; returns it and its port.
async fn py_upstream(era: &str) -> (Child, u16) {
    let mut cmd = Command::new(common::python());
    cmd.current_dir(common::repo().join("tests/peers"))
        .arg("py_upstream.py")
        .args(["--port", "0", "--notify", "--era", era])
        .args(["--name", &format!("py-notify-{era}")]);
    common::spawn_listening(cmd).await
}

/// The gateway in front of a fresh `py_upstream --era ERA`.
async fn setup(era: &str) -> (Child, Gateway) {
    init_logs();
    let (upstream, port) = py_upstream(era).await;
    let backend = format!(
        "- name: py\n  type: mcp-http\n  address: http://127.0.0.1:{port}\n  mcp:\n    endpoint: /mcp\n    timeout: 10s\n"
    );
    let gw = gateway(&route_yaml(&backend)).await;
    (upstream, gw)
}

/// The one reply to request `id` in a POST answer (JSON or SSE); panics with the whole answer otherwise.
fn reply_to(reply: &common::Reply, id: u64) -> Value {
    assert_eq!(
        reply.status, 200,
        "HTTP {} for request {id}: {}",
        reply.status, reply.text
    );
    reply
        .messages()
        .into_iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no reply to request {id} in: {}", reply.text))
}

/// A session-era caller of the gateway (raw HTTP).
struct SessionClient {
    url: String,
    session: String,
    next_id: u64,
}

impl SessionClient {
    async fn connect(url: String) -> SessionClient {
        let reply = post_json(
            &url,
            &[("accept", ACCEPT_BOTH)],
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": SESSION_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "mcp_notifications", "version": "1.0.0"},
            }}),
        )
        .await;
        let init = reply_to(&reply, 0);
        assert_eq!(
            init["result"]["protocolVersion"], SESSION_VERSION,
            "initialize: {init}"
        );
        let session = reply
            .headers
            .get("mcp-session-id")
            .unwrap_or_else(|| panic!("initialize gave no Mcp-Session-Id: {init}"))
            .to_str()
            .unwrap()
            .to_string();
        let client = SessionClient {
            url,
            session,
            next_id: 1,
        };
        let reply = post_json(
            &client.url,
            &client.headers(),
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await;
        assert_eq!(
            reply.status, 202,
            "notifications/initialized: {}",
            reply.text
        );
        client
    }

    fn headers(&self) -> Vec<(&str, &str)> {
        vec![
            ("accept", ACCEPT_BOTH),
            ("mcp-session-id", self.session.as_str()),
            ("mcp-protocol-version", SESSION_VERSION),
        ]
    }

    /// Sends a request; returns the whole JSON-RPC reply.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let reply = post_json(
            &self.url,
            &self.headers(),
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        )
        .await;
        reply_to(&reply, id)
    }

    /// Calls a tool and asserts it succeeded.
    async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let reply = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await;
        assert!(
            reply["result"]["isError"] == false,
            "tools/call {tool}: {reply}"
        );
        reply
    }

    async fn tool_names(&mut self) -> Vec<String> {
        let reply = self.request("tools/list", json!({})).await;
        tool_names(&reply)
    }

    /// Opens the session's GET notification stream.
    async fn get_stream(&self) -> SseStream {
        let response = reqwest::Client::new()
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", SESSION_VERSION)
            .send()
            .await
            .expect("GET stream request sent");
        SseStream::open(response, "GET stream").await
    }
}

/// An SSE response read incrementally.
struct SseStream {
    what: &'static str,
    response: reqwest::Response,
    buffer: String,
    /// Every event received so far (including keepalive comments), for failure messages.
    log: Vec<String>,
}

impl SseStream {
    async fn open(response: reqwest::Response, what: &'static str) -> SseStream {
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        if status != 200 || !content_type.starts_with("text/event-stream") {
            let body = response.text().await.unwrap_or_default();
            panic!("{what}: HTTP {status}, content-type {content_type:?}: {body}");
        }
        SseStream {
            what,
            response,
            buffer: String::new(),
            log: Vec::new(),
        }
    }

    /// The next JSON-RPC message before `deadline` (keepalive comments are skipped), or None at the deadline.
    /// Panics if the stream ends.
    async fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let normalised = self.buffer.replace("\r\n", "\n");
            if let Some(end) = normalised.find("\n\n") {
                let event = normalised[..end].to_string();
                self.buffer = normalised[end + 2..].to_string();
                self.log.push(event.clone());
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                if data.is_empty() {
                    continue; // a comment (keepalive) or an event without data
                }
                let data = data.join("\n");
                let message = serde_json::from_str(&data).unwrap_or_else(|e| {
                    panic!("{}: event data is not JSON ({e}): {data}", self.what)
                });
                return Some(message);
            }
            let chunk = match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return None,
                Ok(chunk) => chunk.unwrap_or_else(|e| panic!("{}: read failed: {e}", self.what)),
            };
            match chunk {
                Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                None => panic!(
                    "{}: the gateway ended the stream; events so far: {:?}",
                    self.what, self.log
                ),
            }
        }
    }

    /// Waits until a message satisfying `want` arrives; panics at the deadline with everything received.
    async fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        want: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_message(deadline).await {
                Some(message) if want(&message) => return message,
                Some(_) => continue,
                None => panic!(
                    "{}: no {what} within {timeout:?}; events received: {:?}",
                    self.what, self.log
                ),
            }
        }
    }

    /// Asserts that no message satisfying `unwanted` arrives within `window`.
    async fn expect_none(
        &mut self,
        what: &str,
        window: Duration,
        unwanted: impl Fn(&Value) -> bool,
    ) {
        let deadline = Instant::now() + window;
        while let Some(message) = self.next_message(deadline).await {
            assert!(
                !unwanted(&message),
                "{}: unexpected {what} within {window:?}: {message}",
                self.what
            );
        }
    }
}

fn is_method(message: &Value, method: &str) -> bool {
    message["method"] == method
}

/// Waits (up to the deadline) until `tools/list` through the gateway names `tool`. Fails if the first listing
/// after the announcement lacks it (the gateway must re-list before telling callers to), and says whether it
/// showed up later.
async fn assert_listed_after_announcement(client: &mut SessionClient, tool: &str) {
    let first = client.tool_names().await;
    if first.iter().any(|n| n == tool) {
        return;
    }
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let names = client.tool_names().await;
        if names.iter().any(|n| n == tool) {
            panic!(
                "list_changed reached the caller before the catalogue had {tool:?}: the first tools/list after it \
                 gave {first:?}; {tool:?} only appeared later"
            );
        }
    }
    panic!(
        "tools/list through the gateway never listed {tool:?} within {DEADLINE:?}; first listing: {first:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Test A: tool list changes, session-era caller (GET stream)

async fn list_changed_on_session_get_stream(era: &str) {
    let (_up, gw) = setup(era).await;
    let mut client = SessionClient::connect(gw.url("/mcp")).await;
    let before = client.tool_names().await;
    assert!(
        before.iter().any(|n| n == "add_tool") && !before.iter().any(|n| n == "fresh"),
        "{era}: unexpected initial tool list {before:?}"
    );
    let mut stream = client.get_stream().await;
    client.call("add_tool", json!({"name": "fresh"})).await;
    stream
        .expect("notifications/tools/list_changed", DEADLINE, |m| {
            is_method(m, "notifications/tools/list_changed")
        })
        .await;
    assert_listed_after_announcement(&mut client, "fresh").await;
    // The new tool is callable through the gateway.
    let reply = client.call("fresh", json!({"text": "hi"})).await;
    assert_eq!(
        reply["result"]["content"][0]["text"], "fresh: hi",
        "{era}: {reply}"
    );
}

#[tokio::test]
async fn list_changed_reaches_session_get_stream_legacy_upstream() {
    list_changed_on_session_get_stream("legacy").await;
}

#[tokio::test]
async fn list_changed_reaches_session_get_stream_modern_upstream() {
    list_changed_on_session_get_stream("modern").await;
}

#[tokio::test]
async fn list_changed_reaches_session_get_stream_dual_era_upstream() {
    list_changed_on_session_get_stream("both").await;
}

// ---------------------------------------------------------------------------------------------------------
// Test A': tool list changes, stateless 2026-07-28 caller (`subscriptions/listen`)

fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

async fn list_changed_on_listen_stream(era: &str) {
    let (_up, gw) = setup(era).await;
    let url = gw.url("/mcp");
    let listen_id = 41;
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT_BOTH)
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "subscriptions/listen")
        .body(
            json!({"jsonrpc": "2.0", "id": listen_id, "method": "subscriptions/listen", "params": {
                "notifications": {"toolsListChanged": true},
                "_meta": modern_meta(),
            }})
            .to_string(),
        )
        .send()
        .await
        .expect("subscriptions/listen sent");
    let mut stream = SseStream::open(response, "subscriptions/listen stream").await;

    let deadline = Instant::now() + DEADLINE;
    let ack = stream
        .next_message(deadline)
        .await
        .unwrap_or_else(|| panic!("{era}: no frame on the listen stream within {DEADLINE:?}"));
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{era}: first frame: {ack}"
    );
    assert_eq!(
        ack["params"]["notifications"]["toolsListChanged"], true,
        "{era}: {ack}"
    );
    assert_eq!(
        ack["params"]["_meta"][SUBSCRIPTION_ID], listen_id,
        "{era}: ack not stamped with the listen request id: {ack}"
    );

    // A stateless 2026-07-28 tools/call through the gateway adds the tool.
    let call = post_json(
        &url,
        &[
            ("accept", ACCEPT_BOTH),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "add_tool"),
        ],
        &json!({"jsonrpc": "2.0", "id": 42, "method": "tools/call", "params": {
            "name": "add_tool", "arguments": {"name": "fresh"}, "_meta": modern_meta(),
        }}),
    )
    .await;
    let call = reply_to(&call, 42);
    assert!(
        call["result"]["isError"] == false,
        "{era}: add_tool: {call}"
    );

    let changed = stream
        .expect("notifications/tools/list_changed", DEADLINE, |m| {
            is_method(m, "notifications/tools/list_changed")
        })
        .await;
    assert_eq!(
        changed["params"]["_meta"][SUBSCRIPTION_ID], listen_id,
        "{era}: list_changed not stamped with the listen request id: {changed}"
    );

    // And a stateless tools/list now has it.
    let list = post_json(
        &url,
        &[
            ("accept", ACCEPT_BOTH),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/list"),
        ],
        &json!({"jsonrpc": "2.0", "id": 43, "method": "tools/list", "params": {"_meta": modern_meta()}}),
    )
    .await;
    let names = tool_names(&reply_to(&list, 43));
    assert!(
        names.iter().any(|n| n == "fresh"),
        "{era}: tools/list after list_changed: {names:?}"
    );
}

#[tokio::test]
async fn list_changed_reaches_listen_stream_legacy_upstream() {
    list_changed_on_listen_stream("legacy").await;
}

#[tokio::test]
async fn list_changed_reaches_listen_stream_modern_upstream() {
    list_changed_on_listen_stream("modern").await;
}

// ---------------------------------------------------------------------------------------------------------
// Test B: resource updates, session-era caller (resources/subscribe, GET stream)

/// Two subscriptions on one backend: a session-era upstream serves one GET stream per session (a second
/// gets 409 from the SDKs), so the gateway follows it once for both.
async fn resource_updates_on_session_get_stream(era: &str) {
    const URI: &str = "memo://readme";
    const OTHER: &str = "memo://notes/1";
    let (_up, gw) = setup(era).await;
    let mut client = SessionClient::connect(gw.url("/mcp")).await;
    let mut stream = client.get_stream().await;
    let is_update = |m: &Value| is_method(m, "notifications/resources/updated");

    let reply = client
        .request("resources/subscribe", json!({"uri": URI}))
        .await;
    assert_eq!(
        reply["result"],
        json!({}),
        "{era}: resources/subscribe: {reply}"
    );

    let reply = client
        .request("resources/subscribe", json!({"uri": OTHER}))
        .await;
    assert_eq!(reply["result"], json!({}), "{era}: {reply}");

    for uri in [URI, OTHER] {
        client.call("touch", json!({"uri": uri})).await;
        let update = stream
            .expect("notifications/resources/updated", DEADLINE, is_update)
            .await;
        assert_eq!(update["params"]["uri"], uri, "{era}: {update}");
    }

    let reply = client
        .request("resources/unsubscribe", json!({"uri": URI}))
        .await;
    assert_eq!(
        reply["result"],
        json!({}),
        "{era}: resources/unsubscribe: {reply}"
    );
    client.call("touch", json!({"uri": URI})).await;
    stream
        .expect_none(
            "notifications/resources/updated after resources/unsubscribe",
            Duration::from_secs(2),
            is_update,
        )
        .await;
}

#[tokio::test]
async fn resource_updates_reach_session_get_stream_legacy_upstream() {
    resource_updates_on_session_get_stream("legacy").await;
}

#[tokio::test]
async fn resource_updates_reach_session_get_stream_modern_upstream() {
    resource_updates_on_session_get_stream("modern").await;
}
