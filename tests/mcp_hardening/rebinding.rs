//! DNS-rebinding protection: Host and Origin checks on loopback and all-addresses binds, with
//! `security.allowedHosts` and `security.allowedOrigins`.

use serde_json::Value;

use crate::common;
use crate::common::mcp::{SAMPLE, tools_list};

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
        format!(
            "Forbidden: Host {evil_host} is not a loopback name on a loopback listener (add it to security.allowedHosts)"
        )
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

/// `security.allowedHosts` on an all-addresses bind: a Host not listed is refused even without an Origin
/// (a rebinding page's fetch need not send one), a listed one and its subdomain pattern are served.
#[tokio::test]
async fn allowed_hosts_refuse_other_hosts_on_an_all_addresses_bind() {
    let yaml = format!(
        "{}security:\n  allowedHosts: [gw.example.com, '*.svc.cluster.local']\n",
        common::route_yaml(SAMPLE).replace("address: 127.0.0.1", "address: 0.0.0.0")
    );
    let gw = common::gateway(&yaml).await;
    let url = format!("http://127.0.0.1:{}/mcp", gw.addr.port());
    for host in ["evil.example.com", "127.0.0.1", "svc.cluster.local"] {
        let reply = common::post_json(&url, &[("host", host)], &tools_list()).await;
        assert_forbidden(&reply, host);
    }
    for host in ["gw.example.com", "agw.agents.svc.cluster.local:8080"] {
        let reply = common::post_json(&url, &[("host", host)], &tools_list()).await;
        assert_allowed(&reply, host);
    }
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
