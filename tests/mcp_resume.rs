//! Session resume across gateway processes: a session sealed by one gateway process is served by another
//! process sharing `security.sessionKey`, and refused (404) by one with a different key.

mod common;

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{post_json, rmcp_upstream};
use serde_json::json;

fn config(key: &str, backends: &str) -> String {
    format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: test\n        routes:\n          - name: tools\n            match:\n              path:\n                prefix: /mcp\n            backends:\n{}security:\n  sessionKey: {key}\n",
        common::indent(backends, 14)
    )
}

/// A gateway process and where it listens.
struct Process {
    _child: common::Child,
    addr: SocketAddr,
    _file: tempfile::NamedTempFile,
}

impl Process {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

async fn spawn_gateway(key: &str, backends: &str) -> Process {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(file.path(), config(key, backends)).unwrap();
    let (child, addr) = common::gateway_process(file.path(), &[], &[]).await;
    Process {
        _child: child,
        addr,
        _file: file,
    }
}

fn key(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

#[tokio::test]
async fn a_session_moves_between_processes_sharing_the_key() {
    let up = rmcp_upstream::start(false, 0).await;
    let backends = rmcp_upstream::backend_yaml("rust", up.addr);
    let shared = key(1);
    let a = spawn_gateway(&shared, &backends).await;
    let b = spawn_gateway(&shared, &backends).await;
    let c = spawn_gateway(&key(2), &backends).await;

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "resume-test", "version": "1"}}});
    let reply = post_json(&a.url("/mcp"), &[], &init).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let v = reply.messages().remove(0);
    assert_eq!(v["result"]["protocolVersion"], "2025-11-25", "{v}");
    let sid = reply
        .headers
        .get("mcp-session-id")
        .unwrap_or_else(|| panic!("no mcp-session-id from A: {:?}", reply.headers))
        .to_str()
        .unwrap()
        .to_string();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let reply = post_json(&a.url("/mcp"), &[("mcp-session-id", &sid)], &initialized).await;
    assert_eq!(
        (reply.status, reply.text.as_str()),
        (202, ""),
        "a notification is accepted with 202 and no body"
    );

    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "resumed"}}});
    let reply = post_json(
        &b.url("/mcp"),
        &[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        &call,
    )
    .await;
    assert_eq!(reply.status, 200, "gateway B: {}", reply.text);
    let v = reply.messages().remove(0);
    assert_eq!(v["id"], 2, "{v}");
    assert_eq!(v["result"]["content"][0]["text"], "resumed", "{v}");
    assert_eq!(up.calls(), 1);

    let reply = post_json(
        &c.url("/mcp"),
        &[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        &call,
    )
    .await;
    assert_eq!(
        reply.error(),
        (404, -32600, common::NO_SESSION.into()),
        "gateway C (other key)"
    );
    assert_eq!(
        up.calls(),
        1,
        "a refused session never reaches the upstream"
    );
}
