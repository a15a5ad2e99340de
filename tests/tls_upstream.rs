//! Outbound TLS (`core::http::client`, `backends[].tls`): https MCP upstreams (the rmcp upstream, in this
//! process) and an https A2A agent (a2a-sdk, `tests/peers/a2a_agent.py`), behind a CA made here with rcgen,
//! reached through the gateway.
//!
//! `SSL_CERT_FILE` is read once per process, so that case runs the gateway binary as a child process with
//! the variable set; everything else runs the gateway in this process, which has no `SSL_CERT_FILE`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use common::pki::{self, Ca, client_leaf, new_ca, server_leaf};
use common::rmcp_upstream::{self, Upstream};
use common::{Gateway, gateway, get_json, indent, post_json, route_yaml, tool_names};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A CA made for one test, with its certificate in `ca.pem` in a directory for the test's other files.
struct Pki {
    ca: Ca,
    ca_file: PathBuf,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let ca = new_ca("test CA");
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca.pem).unwrap();
        Pki { ca, ca_file, dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The rmcp test upstream over https, with a certificate for 127.0.0.1 that `ca` signed; with `clients`,
/// it also requires a client certificate that CA signed.
async fn https_upstream(ca: &Ca, clients: Option<&Ca>) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls = pki::server_config(&server_leaf(ca), clients);
    rmcp_upstream::start_on(listener, false, Some(tls))
}

/// A route to one `mcp-http` backend, `secure`, at `https://addr`, with these `tls:` fields (none: no
/// `tls:`).
fn https_route(addr: SocketAddr, tls: &[(&str, &Path)]) -> String {
    let mut yaml = format!(
        "- name: secure\n  type: mcp-http\n  address: https://{addr}\n  mcp:\n    timeout: 5s\n"
    );
    if !tls.is_empty() {
        yaml.push_str("  tls:\n");
        for (key, path) in tls {
            yaml.push_str(&format!("    {key}: {}\n", path.display()));
        }
    }
    route_yaml(&yaml)
}

async fn tools_list(url: &str) -> Vec<String> {
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    tool_names(&post_json(url, &[], &list).await.json())
}

/// tools/list shows the upstream's tools, and a tools/call reaches it and brings its result back.
async fn upstream_answers_through(url: &str, upstream: &Upstream) {
    let expected = tool_names(&json!({"result": {"tools": rmcp_upstream::tools()}}));
    assert_eq!(tools_list(url).await, expected);
    let before = upstream.calls();
    let v = post_json(
        url,
        &[],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}),
    )
    .await
    .json();
    assert_eq!(v["result"]["structuredContent"]["sum"], 5.0, "{v}");
    assert_eq!(v["result"]["content"][0]["text"], "5", "{v}");
    assert_eq!(upstream.calls(), before + 1);
}

/// The route's one upstream as `/health/upstreams` reports it.
async fn health(base: &str) -> Value {
    let v = get_json(&format!("{base}/health/upstreams")).await;
    v["routes"][0]["upstreams"][0]["health"].clone()
}

/// The upstream could not be used: its tools are withheld, and the health report says why.
async fn withheld_with_error(gw: &Gateway, upstream: &Upstream) -> String {
    assert_eq!(tools_list(&gw.url("/mcp")).await, Vec::<String>::new());
    let h = health(&gw.url("")).await;
    assert_eq!(h["up"], false, "{h}");
    assert_eq!(upstream.calls(), 0);
    h["last_error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn an_https_upstream_is_reached_with_its_ca_in_tls_ca_file() {
    let pki = Pki::new();
    let upstream = https_upstream(&pki.ca, None).await;
    let gw = gateway(&https_route(upstream.addr, &[("caFile", &pki.ca_file)])).await;
    upstream_answers_through(&gw.url("/mcp"), &upstream).await;
    assert_eq!(health(&gw.url("")).await["up"], true);
}

#[tokio::test]
async fn ssl_cert_file_names_the_trusted_roots_of_the_gateway_process() {
    let pki = Pki::new();
    let upstream = https_upstream(&pki.ca, None).await;
    // No `tls:` on the backend: only the process's roots can make this upstream trusted.
    let config = pki.write("gateway.yaml", &https_route(upstream.addr, &[]));
    let ca_text = pki.ca_file.to_str().unwrap();
    let (_gateway, addr) =
        common::gateway_process(&config, &[("SSL_CERT_FILE", ca_text)], &["SSL_CERT_DIR"]).await;
    upstream_answers_through(&format!("http://{addr}/mcp"), &upstream).await;

    // The same config without the variable: the system's roots do not know this CA.
    let (_gateway, addr) =
        common::gateway_process(&config, &[], &["SSL_CERT_FILE", "SSL_CERT_DIR"]).await;
    assert_eq!(
        tools_list(&format!("http://{addr}/mcp")).await,
        Vec::<String>::new()
    );
    let h = health(&format!("http://{addr}")).await;
    assert!(
        h["last_error"].as_str().unwrap().contains("UnknownIssuer"),
        "{h}"
    );
}

#[tokio::test]
async fn an_upstream_signed_by_an_unknown_ca_is_withheld_with_a_certificate_error() {
    let pki = Pki::new();
    // The backend trusts another CA than the one that signed the upstream's certificate.
    let other = pki.write("other-ca.pem", &new_ca("another CA").pem);
    let upstream = https_upstream(&pki.ca, None).await;
    let gw = gateway(&https_route(upstream.addr, &[("caFile", &other)])).await;
    let error = withheld_with_error(&gw, &upstream).await;
    assert!(
        error.contains("invalid peer certificate") && error.contains("UnknownIssuer"),
        "{error}"
    );
}

#[tokio::test]
async fn an_upstream_that_requires_a_client_certificate_gets_the_configured_one() {
    let pki = Pki::new();
    let leaf = client_leaf(&pki.ca, "agent-gateway", None);
    let cert = pki.write("client.pem", &leaf.cert);
    let key = pki.write("client.key", &leaf.key);
    let ca = &pki.ca;
    let upstream = https_upstream(ca, Some(ca)).await;

    let tls = [
        ("caFile", pki.ca_file.as_path()),
        ("certFile", &cert),
        ("keyFile", &key),
    ];
    let with_cert = gateway(&https_route(upstream.addr, &tls)).await;
    upstream_answers_through(&with_cert.url("/mcp"), &upstream).await;

    let upstream = https_upstream(ca, Some(ca)).await;
    let without = gateway(&https_route(upstream.addr, &tls[..1])).await;
    let error = withheld_with_error(&without, &upstream).await;
    assert!(error.contains("CertificateRequired"), "{error}");
}

#[tokio::test]
async fn an_unreadable_ca_file_stops_the_route_naming_the_backend_and_the_file() {
    let nowhere: SocketAddr = ([127, 0, 0, 1], 9).into();
    let text = https_route(nowhere, &[("caFile", Path::new("/nonexistent/ca.pem"))]);
    let loaded = agent_gateway::config::load_str(&text, "t.yaml").unwrap();
    let error = agent_gateway::gateway::runtime::start(&loaded.config)
        .await
        .err()
        .expect("the gateway refuses to start");
    assert!(
        error.contains("backend secure")
            && error.contains("CA bundle /nonexistent/ca.pem: cannot read the file"),
        "{error}"
    );
}

// ---- A2A ----

/// The real A2A agent (`tests/peers/a2a_agent.py`, a2a-sdk 0.3) serving https with a certificate for
/// 127.0.0.1 that `pki`'s CA signed; its base URL.
async fn https_agent(pki: &Pki, name: &str) -> (common::Child, String) {
    let leaf = server_leaf(&pki.ca);
    let cert = pki.write("agent.pem", &leaf.cert);
    let key = pki.write("agent.key", &leaf.key);
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let (agent, base) =
        common::a2a_agent("venv-a2a03", name, &["--tls-cert", cert, "--tls-key", key]).await;
    (agent, base.replace("http://", "https://"))
}

#[tokio::test]
async fn an_https_agent_is_relayed_to_with_its_ca_in_tls_ca_file() {
    let pki = Pki::new();
    let (_agent, agent) = https_agent(&pki, "Secure Agent").await;
    let backend = format!(
        "- name: secure-agent\n  address: {agent}\n  agentName: secure\n  tls:\n    caFile: {}\n",
        pki.ca_file.display()
    );
    let yaml = format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: a2a\n        routes:\n          - name: agents\n            match:\n              path:\n                prefix: /agents\n            backends:\n{}",
        indent(&backend, 14)
    );
    let gw = gateway(&yaml).await;

    // The card, fetched over https and rewritten to point at the gateway.
    let card = get_json(&gw.url("/agents/secure/.well-known/agent-card.json")).await;
    assert_eq!(card["name"], "Secure Agent", "{card}");
    assert_eq!(card["url"], gw.url("/agents/secure/"), "{card}");

    let send = json!({"jsonrpc": "2.0", "id": 7, "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": "m-1", "role": "user", "parts": [{"kind": "text", "text": "hello over tls"}]}}});
    let reply = post_json(&gw.url("/agents/secure"), &[], &send).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let v = reply.json();
    assert_eq!(v["id"], 7, "{v}");
    assert_eq!(
        v["result"]["parts"][0]["text"], "hello back: hello over tls",
        "{v}"
    );
}
