//! Real MCP peers through the gateway: the Python `mcp` 2.x SDK (upstream over Streamable HTTP and stdio,
//! client in both eras), the TypeScript `server-everything`, the rmcp client in both eras and the MCP
//! Inspector CLI. Nothing here is mocked; a missing peer fails the test (`common::tool`).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Gateway, gateway, post_json, rmcp_upstream, route_yaml};
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::{Value, json};
use tokio::process::Command;

fn sample_backend() -> &'static str {
    "- name: weather-tools\n  type: sample\n"
}

fn peers_dir() -> PathBuf {
    common::repo().join("tests/peers")
}

fn http_backend(name: &str, port: u16) -> String {
    format!(
        "- name: {name}\n  type: mcp-http\n  address: http://127.0.0.1:{port}\n  mcp:\n    endpoint: /mcp\n    timeout: 10s\n"
    )
}

/// PATH with Node 22 first (the npm bins are `#!/usr/bin/env node` scripts).
fn node_path() -> String {
    let node_dir = common::node().parent().unwrap().to_path_buf();
    format!(
        "{}:{}",
        node_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Starts `py_upstream.py` over Streamable HTTP; returns it and its port.
async fn py_upstream(name: &str) -> (common::Child, u16) {
    let mut cmd = Command::new(common::python());
    cmd.current_dir(peers_dir())
        .arg("py_upstream.py")
        .args(["--port", "0", "--name", name]);
    common::spawn_listening(cmd).await
}

/// Runs `py_client.py` with the given arguments; returns its one JSON line (panics with stderr on failure).
async fn py_client(url: &str, args: &[&str]) -> Value {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(common::python())
            .current_dir(peers_dir())
            .arg("py_client.py")
            .args(["--url", url])
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("py_client finishes within 60s")
    .expect("py_client runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "py_client {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("py_client printed no JSON ({e}): {stdout}\nstderr: {stderr}"))
}

fn names(tools: &Value) -> Vec<String> {
    tools
        .as_array()
        .unwrap_or_else(|| panic!("not a tool list: {tools}"))
        .iter()
        .map(|t| {
            t.as_str()
                .or_else(|| t["name"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

fn tools_call(id: u64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

#[tokio::test]
async fn python_client_through_gateway_to_python_upstream_in_both_eras() {
    let (_up, port) = py_upstream("peers-http").await;
    let gw = gateway(&route_yaml(&http_backend("py", port))).await;
    let url = gw.url("/mcp");
    for (mode, version) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
        let v = py_client(
            &url,
            &[
                "--mode",
                mode,
                "--list",
                "--call",
                "add",
                "--args",
                r#"{"a":1,"b":2}"#,
            ],
        )
        .await;
        assert_eq!(v["protocolVersion"], version, "{mode}: {v}");
        let mut tools = names(&v["tools"]);
        tools.sort();
        assert_eq!(
            tools,
            ["add", "ask_user", "echo", "fail", "sample_llm", "slow"],
            "{mode}: {v}"
        );
        assert_eq!(v["call"]["isError"], false, "{mode}: {v}");
        assert_eq!(
            v["call"]["structuredContent"]["sum"].as_f64(),
            Some(3.0),
            "{mode}: {v}"
        );

        let v = py_client(
            &url,
            &[
                "--mode",
                mode,
                "--call",
                "echo",
                "--args",
                r#"{"text":"hello peers"}"#,
            ],
        )
        .await;
        assert_eq!(v["call"]["isError"], false, "{mode}: {v}");
        assert_eq!(
            v["call"]["content"][0]["text"], "hello peers",
            "{mode}: {v}"
        );
    }
}

#[tokio::test]
async fn python_stdio_upstream_is_restarted_after_it_dies() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let unique = format!("agw-stdio-{}-{nanos}", std::process::id());
    let backend = format!(
        "- name: pystdio\n  type: mcp-stdio\n  mcp:\n    command: {}\n    args: [{}, --transport, stdio, --name, {unique}]\n",
        common::python().display(),
        peers_dir().join("py_upstream.py").display(),
    );
    let gw = gateway(&route_yaml(&backend)).await;
    let url = gw.url("/mcp");
    // Anonymous callers without a session cannot be told apart: each request gets a process of its own,
    // stopped when it ends. Two at once: discovery's process and one each.
    let slow = tools_call(1, "slow", json!({"seconds": 2, "steps": 2}));
    let calls =
        futures_util::future::join(post_json(&url, &[], &slow), post_json(&url, &[], &slow));
    let count = async {
        let mut most = 0;
        for _ in 0..100 {
            most = most.max(pgrep(&unique).await.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        most
    };
    let ((a, b), most) = tokio::join!(calls, count);
    for reply in [a, b] {
        assert_eq!(
            reply.messages().pop().unwrap()["result"]["isError"],
            false,
            "{}",
            reply.text
        );
    }
    assert_eq!(most, 3, "discovery's process and one per anonymous request");
    let deadline = Instant::now() + Duration::from_secs(10);
    while pgrep(&unique).await.len() > 1 {
        assert!(
            Instant::now() < deadline,
            "the requests' processes outlived them"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A second caller (a session of its own) gets a process of its own.
    let init = json!({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let reply = post_json(&url, &[], &init).await;
    let session = reply.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let v = post_json(
        &url,
        &[("mcp-session-id", &session)],
        &tools_call(3, "echo", json!({"text": "mine"})),
    )
    .await
    .json();
    assert_eq!(v["result"]["content"][0]["text"], "mine", "{v}");
    assert_eq!(
        pgrep(&unique).await.len(),
        2,
        "the session has its own process"
    );
    let pids = pgrep(&unique).await;
    for pid in &pids {
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    // The session's process is restarted (an anonymous request would get a fresh one anyway).
    let call = tools_call(2, "echo", json!({"text": "after"}));
    loop {
        let reply = post_json(&url, &[("mcp-session-id", &session)], &call).await;
        let last = if reply.status == 200 {
            let v = reply.json();
            if v["result"]["content"][0]["text"] == "after" {
                break;
            }
            v
        } else {
            json!({"status": reply.status, "body": reply.text})
        };
        assert!(
            Instant::now() < deadline,
            "the gateway did not restart the stdio upstream within 30s; last reply: {last}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let now = pgrep(&unique).await;
    assert!(
        !now.is_empty() && now.iter().all(|p| !pids.contains(p)),
        "the killed processes were replaced: before {pids:?}, now {now:?}"
    );
    drop(gw);
}

async fn pgrep(pattern: &str) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .await
        .expect("pgrep runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// server-everything (TypeScript SDK) over Streamable HTTP on `port` (0: one it picks); it and its port.
async fn everything(port: u16) -> (common::Child, u16) {
    let bin = common::tool("node/node_modules/.bin/mcp-server-everything");
    // `listening.mjs` makes it print the port it got for PORT=0, as the other peers do.
    let mut command = Command::new(common::node());
    command
        .current_dir(peers_dir())
        .args(["--import", "./listening.mjs"])
        .arg(&bin)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .env("PATH", node_path());
    common::spawn_listening(command).await
}

/// server-everything restarts and forgets every session, and answers an unknown one with HTTP 400 (not
/// the 404 the spec asks for): the gateway opens new upstream sessions, for its callers and for its own
/// discovery, instead of failing each call from then on (found by the soak test, docs/reliability.md).
#[tokio::test]
async fn a_restarted_typescript_upstream_gets_new_sessions_though_it_answers_400() {
    let (first, port) = everything(0).await;
    let yaml = route_yaml(&http_backend("everything", port)).replace(
        "            backends:",
        "            mcp: {refreshInterval: 1s}\n            backends:",
    );
    let gw = gateway(&yaml).await;
    let url = gw.url("/mcp");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let reply = post_json(&url, &[], &init).await;
    let session = reply.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let echo = |id: u64| tools_call(id, "echo", json!({"message": "again"}));
    let v = post_json(&url, &[("mcp-session-id", &session)], &echo(1))
        .await
        .json();
    assert_eq!(v["result"]["content"][0]["text"], "Echo: again", "{v}");

    drop(first);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_second, again) = everything(port).await;
    assert_eq!(again, port);
    // The caller's session carries on; anonymous calls and the catalogue too. Discovery (every second)
    // may have seen the upstream down and withheld its tools ("upstream unavailable") until its next
    // round: the session's calls succeed again within a bound, where a session stuck on the forgotten
    // upstream session would fail for good.
    let deadline = Instant::now() + Duration::from_secs(15);
    let v = loop {
        let v = post_json(&url, &[("mcp-session-id", &session)], &echo(2))
            .await
            .json();
        if v["result"].is_object() || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(v["result"]["content"][0]["text"], "Echo: again", "{v}");
    let v = post_json(&url, &[], &echo(3)).await.json();
    assert_eq!(v["result"]["content"][0]["text"], "Echo: again", "{v}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let health = common::get_json(&gw.url("/health/upstreams")).await;
    assert_eq!(
        health["routes"][0]["upstreams"][0]["health"]["up"], true,
        "{health}"
    );
}

#[tokio::test]
async fn server_everything_behind_the_gateway() {
    let (_everything, port) = everything(0).await;
    let gw = gateway(&route_yaml(&http_backend("everything", port))).await;
    let url = gw.url("/mcp");
    let v = post_json(
        &url,
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json();
    let tools = names(&v["result"]["tools"]);
    assert!(
        tools.iter().any(|t| t == "echo") && tools.len() > 3,
        "{tools:?} / {v}"
    );
    let v = post_json(&url, &[], &tools_call(2, "echo", json!({"message": "hi"})))
        .await
        .json();
    assert_eq!(v["result"]["content"][0]["text"], "Echo: hi", "{v}");

    // And the Python client, whose auto mode meets the gateway (not the upstream) for discovery.
    let v = py_client(
        &url,
        &["--list", "--call", "echo", "--args", r#"{"message":"py"}"#],
    )
    .await;
    assert!(names(&v["tools"]).contains(&"echo".to_string()), "{v}");
    assert_eq!(v["call"]["content"][0]["text"], "Echo: py", "{v}");
}

async fn rmcp_client(
    url: &str,
    mode: ClientLifecycleMode,
) -> RunningService<RoleClient, ClientConfig> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_string()),
    );
    ClientConfig::default()
        .serve_with_lifecycle(transport, mode)
        .await
        .unwrap_or_else(|e| panic!("rmcp client starts against {url}: {e:?}"))
}

fn modes() -> Vec<(&'static str, ClientLifecycleMode)> {
    vec![
        ("initialize", ClientLifecycleMode::Initialize),
        (
            "auto",
            ClientLifecycleMode::Auto {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                legacy_version: Some(ProtocolVersion::V_2025_11_25),
            },
        ),
    ]
}

fn check_version(what: &str, mode: &str, client: &RunningService<RoleClient, ClientConfig>) {
    let info = client
        .peer_info()
        .unwrap_or_else(|| panic!("{what}/{mode}: no peer info"));
    if mode == "auto" {
        assert_eq!(
            info.protocol_version,
            ProtocolVersion::V_2026_07_28,
            "{what}/{mode}"
        );
    } else {
        assert!(
            info.protocol_version.has_initialize(),
            "{what}/{mode}: a handshake-era version, got {:?}",
            info.protocol_version
        );
    }
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn rmcp_client_in_both_eras_to_the_sample_backend() {
    let gw = gateway(&route_yaml(sample_backend())).await;
    let url = gw.url("/mcp");
    for (mode, lifecycle) in modes() {
        let client = rmcp_client(&url, lifecycle).await;
        check_version("sample", mode, &client);
        let tools = client
            .list_tools(None)
            .await
            .unwrap_or_else(|e| panic!("{mode}: list_tools: {e:?}"));
        let mut names: Vec<String> = tools.tools.iter().map(|t| t.name.to_string()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "execute_code",
                "generate_analysis_code",
                "get_activity_preferences",
                "get_weather_data",
                "store_activity_plan",
                "store_user_preferences"
            ],
            "{mode}"
        );
        let result = client
            .call_tool(
                CallToolRequestParams::new("get_weather_data")
                    .with_arguments(object(json!({"city": "Tampa"}))),
            )
            .await
            .unwrap_or_else(|e| panic!("{mode}: call_tool: {e:?}"));
        let v = serde_json::to_value(&result).unwrap();
        assert_eq!(v["structuredContent"]["city"], "Tampa", "{mode}: {v}");
        assert_eq!(
            v["structuredContent"]["days"].as_array().map(Vec::len),
            Some(7),
            "{mode}: {v}"
        );
        client.cancel().await.expect("client stops");
    }
}

#[tokio::test]
async fn rmcp_client_in_both_eras_to_the_rmcp_upstream() {
    let up = rmcp_upstream::start(false, 0).await;
    let gw = gateway(&route_yaml(&rmcp_upstream::backend_yaml("rust", up.addr))).await;
    let url = gw.url("/mcp");
    for (mode, lifecycle) in modes() {
        let client = rmcp_client(&url, lifecycle).await;
        check_version("rmcp", mode, &client);
        let tools = client
            .list_tools(None)
            .await
            .unwrap_or_else(|e| panic!("{mode}: list_tools: {e:?}"));
        let mut names: Vec<String> = tools.tools.iter().map(|t| t.name.to_string()).collect();
        names.sort();
        assert_eq!(names, ["add", "echo", "liar"], "{mode}");
        let result = client
            .call_tool(
                CallToolRequestParams::new("add").with_arguments(object(json!({"a": 2, "b": 3}))),
            )
            .await
            .unwrap_or_else(|e| panic!("{mode}: call_tool add: {e:?}"));
        let v = serde_json::to_value(&result).unwrap();
        assert_eq!(
            v["structuredContent"]["sum"].as_f64(),
            Some(5.0),
            "{mode}: {v}"
        );
        let result = client
            .call_tool(
                CallToolRequestParams::new("echo").with_arguments(object(json!({"text": mode}))),
            )
            .await
            .unwrap_or_else(|e| panic!("{mode}: call_tool echo: {e:?}"));
        let v = serde_json::to_value(&result).unwrap();
        assert_eq!(v["content"][0]["text"], mode, "{mode}: {v}");
        client.cancel().await.expect("client stops");
    }
    assert_eq!(up.calls(), 4);
}

async fn inspector(gw: &Gateway, args: &[&str]) -> Value {
    let bin = common::tool("node/node_modules/.bin/mcp-inspector");
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        Command::new(common::node())
            .arg(&bin)
            .arg("--cli")
            .arg(gw.url("/mcp"))
            .args(["--transport", "http"])
            .args(args)
            .env("PATH", node_path())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("inspector finishes within 90s")
    .expect("inspector runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "inspector {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let start = stdout
        .find('{')
        .unwrap_or_else(|| panic!("no JSON: {stdout}\n{stderr}"));
    serde_json::from_str(&stdout[start..])
        .unwrap_or_else(|e| panic!("inspector output not JSON ({e}): {stdout}\nstderr: {stderr}"))
}

#[tokio::test]
async fn inspector_cli_lists_and_calls_through_the_gateway() {
    let gw = gateway(&route_yaml(sample_backend())).await;
    let v = inspector(&gw, &["--method", "tools/list"]).await;
    let tools = names(&v["tools"]);
    assert!(
        tools.contains(&"get_weather_data".to_string()) && tools.len() == 6,
        "{v}"
    );
    let v = inspector(
        &gw,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "get_weather_data",
            "--tool-arg",
            "city=Tampa",
        ],
    )
    .await;
    assert_ne!(v["isError"], true, "{v}");
    assert_eq!(v["structuredContent"]["city"], "Tampa", "{v}");
    let text = v["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("Tampa"), "{v}");
}

#[tokio::test]
async fn progress_notifications_are_relayed_in_both_eras() {
    let (_up, port) = py_upstream("peers-progress").await;
    let gw = gateway(&route_yaml(&http_backend("py", port))).await;
    let url = gw.url("/mcp");
    for mode in ["auto", "legacy"] {
        let v = py_client(
            &url,
            &[
                "--mode",
                mode,
                "--call",
                "slow",
                "--args",
                r#"{"seconds":0.6,"steps":3}"#,
            ],
        )
        .await;
        assert_eq!(v["call"]["isError"], false, "{mode}: {v}");
        let progress = v["progress"].as_array().unwrap();
        assert_eq!(progress.len(), 3, "{mode}: three progress steps: {v}");
        let values: Vec<f64> = progress
            .iter()
            .map(|p| p["progress"].as_f64().unwrap())
            .collect();
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{mode}: {v}");
    }
}
