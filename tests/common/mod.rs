//! Shared test harness: start a gateway in-process or as a process, start real upstreams (rmcp in-process,
//! Python and Node peers from `.tools/`), and speak raw HTTP to the gateway.
#![allow(dead_code)]

pub mod events;
pub mod guide;
pub mod mcp;
pub mod pki;
pub mod redis;
pub mod rmcp_upstream;
pub mod serve;
pub mod stub;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use agent_gateway::config;
use agent_gateway::gateway::runtime;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

pub struct Gateway {
    pub addr: SocketAddr,
    pub running: runtime::Running,
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.running.shutdown.cancel();
    }
}

/// Starts a gateway in this process from a bare YAML config (use `port: 0`), and waits until its first
/// discovery round finished.
pub async fn gateway(yaml: &str) -> Gateway {
    let loaded = config::load_str(yaml, "test.yaml")
        .unwrap_or_else(|d| panic!("test config invalid: {d:?}"));
    let running = runtime::start(&loaded.config)
        .await
        .expect("gateway starts");
    let addr = running.addresses[0];
    let g = Gateway { addr, running };
    wait_ready(&g.url("/readyz")).await;
    g
}

pub async fn wait_ready(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(url).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never became ready");
}

/// One MCP route at `/mcp` on an ephemeral loopback port with the given backends (YAML list items).
pub fn route_yaml(backends: &str) -> String {
    format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: test\n        routes:\n          - name: tools\n            match:\n              path:\n                prefix: /mcp\n            backends:\n{}",
        indent(backends, 14)
    )
}

pub fn indent(text: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// The message of the 404 that answers a session id the gateway does not (or no longer) accept.
pub const NO_SESSION: &str = "Session not found: start a new session with initialize";

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// An error answer as (HTTP status, JSON-RPC error code, error message), to assert in one go.
    pub fn error(&self) -> (u16, i64, String) {
        let v = self.json();
        let code = v["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("not a JSON-RPC error: HTTP {} {}", self.status, self.text));
        let message = v["error"]["message"].as_str().unwrap_or_default();
        (self.status, code, message.to_string())
    }

    /// The JSON-RPC messages of an SSE body, or the one JSON body.
    pub fn messages(&self) -> Vec<Value> {
        if self
            .headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"))
        {
            self.text
                .split("\n\n")
                .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
                .map(|d| serde_json::from_str(d).unwrap())
                .collect()
        } else {
            vec![self.json()]
        }
    }
}

pub async fn post(url: &str, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> Reply {
    let mut request = reqwest::Client::new().post(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.body(body).send().await.expect("request sent");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap_or_default(),
    }
}

/// A session-era `initialize` (2025-06-18) at `url`; the session id the gateway issued.
pub async fn initialize(url: &str) -> String {
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {"elicitation": {}}, "clientInfo": {"name": "t", "version": "1"}}});
    let reply = post_json(url, &[], &init).await;
    assert_eq!(
        reply.json()["result"]["protocolVersion"],
        "2025-06-18",
        "{}",
        reply.text
    );
    reply.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string()
}

pub async fn post_json(url: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    post(url, &all, body.to_string()).await
}

/// GET `url`, answered with JSON.
pub async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.expect("request sent");
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {text}"))
}

/// The tool names of a tools/list reply.
pub fn tool_names(reply: &Value) -> Vec<String> {
    reply["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("not a tools/list result: {reply}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// Repository root (for `.tools/`, `tests/peers/`, `examples/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool installed by `scripts/install-test-tools.sh`; a missing one fails the test (never a skip).
pub fn tool(relative: &str) -> PathBuf {
    let path = repo().join(".tools").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-tools.sh",
        path.display()
    );
    path
}

pub fn python() -> PathBuf {
    tool("venv/bin/python")
}

pub fn node() -> PathBuf {
    tool("node/node_modules/node/bin/node")
}

/// A real A2A agent from `tests/peers/a2a_agent.py` under `venv` (`venv-a2a`: a2a-sdk 1.x, `venv-a2a03`:
/// 0.3 like KAgent's), and its base URL.
pub async fn a2a_agent(venv: &str, name: &str, extra: &[&str]) -> (Child, String) {
    let mut cmd = tokio::process::Command::new(tool(&format!("{venv}/bin/python")));
    cmd.arg(repo().join("tests/peers/a2a_agent.py"))
        .args(["--name", name])
        .args(extra);
    let (child, port) = spawn_listening(cmd).await;
    (child, format!("http://127.0.0.1:{port}"))
}

/// `tests/peers/py_upstream.py --port 0` with `args`; the child and the port it reported.
pub async fn py_upstream(args: &[&str]) -> (Child, u16) {
    let mut cmd = tokio::process::Command::new(python());
    cmd.current_dir(repo().join("tests/peers"))
        .args(["py_upstream.py", "--port", "0"])
        .args(args);
    spawn_listening(cmd).await
}

/// A child process that is killed when dropped.
pub struct Child(pub tokio::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Starts a peer that prints `LISTENING <port>` once it accepts connections; returns it and the port.
pub async fn spawn_listening(mut command: tokio::process::Command) -> (Child, u16) {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("peer starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("LISTENING ") {
                return port.trim().parse::<u16>().unwrap();
            }
        }
        panic!("peer exited before listening");
    })
    .await
    .expect("peer listens within 60s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (Child(child), port)
}

/// The gateway binary serving the config file `config` (which may bind `port: 0`), with `env` set and
/// `remove` unset in its environment. Returns it and its first listening address, read from its
/// `listening` log line, once `/readyz` answers 200.
pub async fn gateway_process(
    config: &std::path::Path,
    env: &[(&str, &str)],
    remove: &[&str],
) -> (Child, SocketAddr) {
    let (child, addr, _) = gateway_process_logged(config, env, remove).await;
    (child, addr)
}

/// A gateway process's JSON log events as they arrive, for tests that wait on what it says.
#[derive(Clone, Default)]
pub struct Log {
    events: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    added: std::sync::Arc<tokio::sync::Notify>,
}

impl Log {
    fn push(&self, event: Value) {
        self.events.lock().unwrap().push(event);
        self.added.notify_waiters();
    }

    /// The first event whose message contains `text`, if it was logged already.
    pub fn find(&self, text: &str) -> Option<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .find(|e| e["message"].as_str().is_some_and(|m| m.contains(text)))
            .cloned()
    }

    /// The first event whose message contains `text`, waiting up to `within` for it.
    pub async fn wait_for(&self, text: &str, within: Duration) -> Value {
        let waiting = async {
            loop {
                // Registered before looking, so an event logged in between still wakes us.
                let added = self.added.notified();
                tokio::pin!(added);
                added.as_mut().enable();
                if let Some(event) = self.find(text) {
                    return event;
                }
                added.await;
            }
        };
        tokio::time::timeout(within, waiting)
            .await
            .unwrap_or_else(|_| panic!("the gateway did not log {text:?} within {within:?}"))
    }
}

/// As [`gateway_process`], with the gateway's log events from `listening` on.
pub async fn gateway_process_logged(
    config: &std::path::Path,
    env: &[(&str, &str)],
    remove: &[&str],
) -> (Child, SocketAddr, Log) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent-gateway"));
    command
        .args(["run", "--log-format", "json", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .stdout(Stdio::null());
    for name in remove {
        command.env_remove(name);
    }
    spawn_gateway(command).await
}

/// Starts the gateway binary as `command` says (a subcommand that serves, with `--log-format json`; its
/// stdout as the caller set it up) and returns it, its first listening address, read from its `listening`
/// log line, and its log events from then on, once `/readyz` answers 200.
pub async fn spawn_gateway(mut command: tokio::process::Command) -> (Child, SocketAddr, Log) {
    command.stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = command.spawn().expect("the gateway starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            eprintln!("gateway: {line}");
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if event["message"] == "listening" {
                return event["address"]
                    .as_str()
                    .unwrap()
                    .parse::<SocketAddr>()
                    .unwrap();
            }
        }
        panic!("the gateway exited before listening");
    })
    .await
    .expect("the gateway listens within 60s");
    // Keep its log visible with the test's output, and its pipe drained.
    let log = Log::default();
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("gateway: {line}");
            if let Ok(event) = serde_json::from_str::<Value>(&line) {
                sink.push(event);
            }
        }
    });
    wait_ready(&format!("http://{addr}/readyz")).await;
    (Child(child), addr, log)
}

/// A loopback address where connections are refused, for as long as the returned socket lives: the socket
/// holds the port (bound, so nobody else can take it) but does not listen, so the kernel refuses every
/// connection to it at once. For "nobody answers there" without the race of a port that was free a moment
/// ago.
pub fn refusing_addr() -> (tokio::net::TcpSocket, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

/// A port that was free a moment ago. Only for programs that must be told their port and cannot report
/// one they chose (`redis-server`: `--port 0` turns TCP off). Everything else binds port 0 and says where it listens: an in-process gateway in
/// `Running::addresses`, the binary in its `listening` and `serving metrics` log lines, the peers in `LISTENING <port>`.
///
/// The race it accepts: the port is released before the program binds it, so another process may take
/// it in between; the program then fails to start and the test fails saying so. The kernel hands out
/// ephemeral ports in sequence, so an immediate reuse is rare.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
