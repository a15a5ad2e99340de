//! MCP Apps through a route with two backends, whose names the gateway prefixes (issue 14, item 6): the
//! npm app `server-basic-vanillajs` (tool `get-time`, interface `ui://get-time/mcp-app.html`) as a real
//! upstream, the rmcp client as the caller, and every answer compared with the same request made to the
//! app directly.

mod common;
mod identity_common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Child, gateway, route_yaml};
use identity_common::{ISSUER, JwksServer, TestKey, sa_claims, with};
use jsonwebtoken::Algorithm;
use rmcp::model::{
    CallToolRequestParams, ClientConfig, ProtocolVersion, ReadResourceRequestParams,
};
use rmcp::service::{RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::{Value, json};

/// The interface `get-time` names, as the app serves it.
const UI: &str = "ui://get-time/mcp-app.html";
const MIME: &str = "text/html;profile=mcp-app";

/// The app over Streamable HTTP (`/mcp`) on a port it picks; it and its port.
async fn app() -> (Child, u16) {
    let bin = common::tool("node/node_modules/.bin/mcp-server-basic-vanillajs");
    let mut command = tokio::process::Command::new(common::node());
    // `listening.mjs` prints the port the app got for PORT=0.
    command
        .current_dir(common::repo().join("tests/peers"))
        .args(["--import", "./listening.mjs"])
        .arg(bin)
        .env("PORT", "0");
    common::spawn_listening(command).await
}

fn backend(name: &str, port: u16) -> String {
    format!(
        "- name: {name}\n  type: mcp-http\n  address: http://127.0.0.1:{port}\n  mcp: {{endpoint: /mcp, timeout: 10s}}\n"
    )
}

fn direct_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/mcp")
}

type Client = RunningService<RoleClient, ClientConfig>;

/// The rmcp client at `url`, with a bearer token if given; session era unless `lifecycle` says otherwise.
async fn client(url: &str, token: Option<&str>, lifecycle: ClientLifecycleMode) -> Client {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    ClientConfig::default()
        .serve_with_lifecycle(
            StreamableHttpClientTransport::from_config(config),
            lifecycle,
        )
        .await
        .unwrap_or_else(|e| panic!("rmcp client starts against {url}: {e:?}"))
}

async fn session_client(url: &str) -> Client {
    client(url, None, ClientLifecycleMode::Initialize).await
}

fn eras() -> [(&'static str, ClientLifecycleMode); 2] {
    [
        ("session era", ClientLifecycleMode::Initialize),
        (
            "2026-07-28",
            ClientLifecycleMode::Auto {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                legacy_version: None,
            },
        ),
    ]
}

/// The caller's tools by name.
async fn tools(c: &Client) -> HashMap<String, Value> {
    let listed = c.list_tools(None).await.expect("tools/list");
    listed
        .tools
        .iter()
        .map(|t| (t.name.to_string(), serde_json::to_value(t).unwrap()))
        .collect()
}

/// The caller's resources as `(uri, mimeType)`.
async fn resources(c: &Client) -> Vec<(String, Value)> {
    let listed = c.list_resources(None).await.expect("resources/list");
    let listed = serde_json::to_value(listed).unwrap();
    let all = listed["resources"].as_array().unwrap().iter();
    all.map(|r| {
        (
            r["uri"].as_str().unwrap().to_string(),
            r["mimeType"].clone(),
        )
    })
    .collect()
}

/// The contents of a `resources/read`.
async fn read(c: &Client, uri: &str) -> Result<Value, ServiceError> {
    let read = c.read_resource(ReadResourceRequestParams::new(uri)).await?;
    Ok(serde_json::to_value(read).unwrap()["contents"].clone())
}

/// A `get-time` result, with its time (all that changes from call to call) checked and blanked.
async fn call(c: &Client, name: &str) -> Result<Value, ServiceError> {
    let result = c
        .call_tool(CallToolRequestParams::new(name.to_string()))
        .await?;
    let v = serde_json::to_value(result).unwrap();
    let time = v["structuredContent"]["time"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no time in {v}"));
    assert!(
        time.len() == 24 && time.as_bytes()[10] == b'T' && time.ends_with('Z'),
        "{name}: not an ISO 8601 time: {v}"
    );
    assert_eq!(v["content"], json!([{"type": "text", "text": time}]), "{v}");
    Ok(
        json!({"content": [{"type": "text", "text": "<time>"}], "structuredContent": {"time": "<time>"}, "isError": v["isError"]}),
    )
}

/// An error answer as (JSON-RPC code, message).
fn refusal(error: ServiceError) -> (i32, String) {
    match error {
        ServiceError::McpError(e) => (e.code.0, e.message.to_string()),
        other => panic!("not a JSON-RPC error: {other:?}"),
    }
}

/// The tool the app's own script calls through the host (`app.callServerTool({name: ...})`).
fn called_by_script(html: &str) -> &str {
    let call = "callServerTool({name:\"";
    let start = html.find(call).expect("the app's script calls a tool") + call.len();
    let end = start + html[start..].find('"').unwrap();
    &html[start..end]
}

/// The app and the Python upstream behind one route: the app's tool is listed prefixed with its `_meta.ui`
/// intact, its interface reads at the URI the caller sees as it does directly, and its tool answers under
/// the prefixed name and under the name the app's own script calls, in both eras.
#[tokio::test]
async fn an_mcp_app_works_through_a_prefixed_route() {
    let (_app, app_port) = app().await;
    let (_py, py_port) = common::py_upstream(&["--name", "py"]).await;
    let direct = session_client(&direct_url(app_port)).await;
    let want_tool = tools(&direct).await.remove("get-time").expect("get-time");
    let want_contents = read(&direct, UI).await.expect("direct read");
    assert_eq!(want_contents[0]["mimeType"], MIME, "{want_contents}");
    let html = want_contents[0]["text"].as_str().expect("HTML text");
    let script_calls = called_by_script(html);
    assert_eq!(script_calls, "get-time");
    let want_answer = call(&direct, "get-time").await.expect("direct call");

    let yaml = route_yaml(&(backend("app", app_port) + &backend("py", py_port)))
        .replace("name: tools", "name: app-route")
        + "observability:\n  prometheus: {port: 0, path: /metrics}\n";
    let gw = gateway(&yaml).await;
    for (era, lifecycle) in eras() {
        let routed = client(&gw.url("/mcp"), None, lifecycle).await;
        let version = routed
            .peer_info()
            .expect("peer info")
            .protocol_version
            .clone();
        assert_eq!(
            version == ProtocolVersion::V_2026_07_28,
            era == "2026-07-28",
            "{era}: {version:?}"
        );
        let mut listed = tools(&routed).await;
        assert!(listed.contains_key("py__echo"), "{era}: {listed:?}");
        let mut tool = listed
            .remove("app__get-time")
            .unwrap_or_else(|| panic!("{era}: no app__get-time in {listed:?}"));
        let uri = tool["_meta"]["ui"]["resourceUri"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(uri, UI, "{era}: one backend lists it, so it keeps its URI");
        tool["name"] = json!("get-time");
        assert_eq!(
            tool, want_tool,
            "{era}: all but the name as the app lists it"
        );

        assert!(
            resources(&routed)
                .await
                .contains(&(uri.clone(), json!(MIME))),
            "{era}"
        );
        let contents = read(&routed, &uri).await.expect("read through the gateway");
        assert_eq!(contents, want_contents, "{era}");

        for name in ["app__get-time", script_calls] {
            let answer = call(&routed, name).await;
            assert_eq!(answer.expect(name), want_answer, "{era}: {name}");
        }
        routed.cancel().await.expect("client stops");
    }
    // Calls by either name are counted under the exposed name (the dashboards and alerts key on it).
    let metrics = format!("http://{}/metrics", gw.running.metrics.expect("metrics"));
    let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tool_invocations_total{") && l.contains("route=\"app-route\""))
        .collect();
    let count = |tool: &str| {
        calls
            .iter()
            .filter(|l| l.contains(&format!("tool_name=\"{tool}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    assert_eq!(
        count("app__get-time"),
        4.0,
        "two eras, two names: {calls:?}"
    );
    assert_eq!(count("get-time"), 0.0, "{calls:?}");
}

/// Two instances of the app behind one route both list `ui://get-time/mcp-app.html`: each keeps its
/// interface under a URI qualified with its backend's prefix, which its tool points at, and reads
/// and calls reach the instance they name. The upstream name both offer is ambiguous: unknown.
#[tokio::test]
async fn two_instances_of_one_app_each_keep_their_interface() {
    let (_one, one_port) = app().await;
    let (two, two_port) = app().await;
    let direct = session_client(&direct_url(one_port)).await;
    let want = read(&direct, UI).await.expect("direct read");
    let gw = gateway(&route_yaml(
        &(backend("one", one_port) + &backend("two", two_port)),
    ))
    .await;
    let routed = session_client(&gw.url("/mcp")).await;
    let listed = tools(&routed).await;
    let listed_uris = resources(&routed).await;
    for name in ["one", "two"] {
        let uri = format!("ui://{name}__get-time/mcp-app.html");
        let meta = &listed[&format!("{name}__get-time")]["_meta"];
        assert_eq!(meta["ui"]["resourceUri"], uri.as_str(), "{meta}");
        assert_eq!(meta["ui/resourceUri"], uri.as_str(), "{meta}");
        assert!(
            listed_uris.contains(&(uri.clone(), json!(MIME))),
            "{listed_uris:?}"
        );
        let mut contents = read(&routed, &uri).await.expect("qualified read");
        assert_eq!(contents[0]["uri"], uri.as_str());
        contents[0]["uri"] = json!(UI);
        assert_eq!(contents, want, "{name}");
    }
    // The upstream URI is neither instance's: not found, as a URI nobody lists.
    assert!(
        !listed_uris.iter().any(|(uri, _)| uri == UI),
        "{listed_uris:?}"
    );
    let nobody = refusal(read(&routed, "ui://nobody/x.html").await.unwrap_err());
    assert_eq!(refusal(read(&routed, UI).await.unwrap_err()), nobody);

    let ambiguous = refusal(call(&routed, "get-time").await.unwrap_err());
    let unknown = refusal(call(&routed, "no-such-tool").await.unwrap_err());
    assert_eq!(
        ambiguous,
        (unknown.0, unknown.1.replace("no-such-tool", "get-time"))
    );
    assert_eq!(ambiguous.1, "Unknown tool: get-time");

    // With `two` gone, what names `one` still answers and what names `two` fails: each went to its own.
    drop(two);
    tokio::time::sleep(Duration::from_millis(500)).await;
    read(&routed, "ui://one__get-time/mcp-app.html")
        .await
        .expect("one's interface");
    call(&routed, "one__get-time").await.expect("one's tool");
    let gone = read(&routed, "ui://two__get-time/mcp-app.html").await;
    assert!(gone.is_err(), "two's interface answered: {gone:?}");
    let gone = call(&routed, "two__get-time").await;
    assert!(gone.is_err(), "two's tool answered: {gone:?}");
}

/// `mcp-authz` speaks of exposed names: a caller denied `app__get-time` is refused `get-time` too (even by
/// a rule that names `get-time`), in the words it gets for a tool that does not exist; a caller allowed
/// `app__*` gets the app's answer under either name.
#[tokio::test]
async fn an_unprefixed_call_is_authorized_under_the_exposed_name() {
    const DENIED: &str = "system:serviceaccount:apps:denied";
    const ALLOWED: &str = "system:serviceaccount:apps:allowed";
    let (_app, app_port) = app().await;
    let (_py, py_port) = common::py_upstream(&["--name", "py"]).await;
    let want = call(&session_client(&direct_url(app_port)).await, "get-time")
        .await
        .expect("direct call");
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let jwks = JwksServer::start(&[&key]).await;
    let yaml = route_yaml(&(backend("app", app_port) + &backend("py", py_port))).replace(
        "            backends:",
        &format!(
            "            policies:
              - type: jwt-authn
                jwt: {{issuer: {ISSUER}, audiences: [agent-gateway], jwksUri: {}}}
              - type: mcp-authz
                mcp:
                  rules:
                    - {{principal: \"{DENIED}\", allowedTools: [py__*, get-time], allowedResources: ['*']}}
                    - {{principal: \"{ALLOWED}\", allowedTools: [app__*], allowedResources: ['*']}}
            backends:",
            jwks.url()
        ),
    );
    let gw = gateway(&yaml).await;
    let as_principal = |sub: &str| {
        let token = key.sign(&with(sa_claims(), json!({ "sub": sub })));
        let url = gw.url("/mcp");
        async move { client(&url, Some(&token), ClientLifecycleMode::Initialize).await }
    };

    let denied = as_principal(DENIED).await;
    let listed = tools(&denied).await;
    assert!(
        listed.contains_key("py__echo") && !listed.contains_key("app__get-time"),
        "{listed:?}"
    );
    let unknown = refusal(call(&denied, "no-such-tool").await.unwrap_err());
    for name in ["app__get-time", "get-time"] {
        let refused = refusal(call(&denied, name).await.unwrap_err());
        assert_eq!(
            refused,
            (unknown.0, unknown.1.replace("no-such-tool", name))
        );
    }

    let allowed = as_principal(ALLOWED).await;
    for name in ["app__get-time", "get-time"] {
        assert_eq!(call(&allowed, name).await.expect(name), want, "{name}");
    }
}
