//! The command line as a newcomer uses it: `quickstart --auth` prints a token that works, `catalogue --as`
//! explains what a principal sees, `validate` exits non-zero on a broken config, and a port that is taken
//! is named with the setting that changes it.

mod common;

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_agent-gateway");

#[tokio::test]
async fn quickstart_auth_prints_a_working_token() {
    let mut command = Command::new(BIN);
    command
        .args([
            "quickstart",
            "--auth",
            "--port",
            "0",
            "--log-format",
            "json",
        ])
        .stdout(Stdio::piped());
    let (mut child, addr, _log) = common::spawn_gateway(command).await;
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let url = format!("http://{addr}/mcp");
    let token = tokio::time::timeout(Duration::from_secs(30), async {
        let mut named = false;
        while let Some(line) = lines.next_line().await.unwrap() {
            // The banner names the port the system picked, not the `--port 0` it was given.
            named |= line.contains(&format!("is running on {url} "));
            if let Some(rest) = line.split("Bearer ").nth(1) {
                assert!(named, "the banner did not name {url} before the token");
                return rest.trim_end_matches(['\'', ' ', '\\']).to_string();
            }
        }
        panic!("quickstart printed no token");
    })
    .await
    .unwrap();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let anonymous = common::post_json(&url, &[], &list).await;
    assert_eq!(
        anonymous.error(),
        (401, -32600, "Unauthorized: no bearer token".into())
    );
    let auth = format!("Bearer {token}");
    let v = common::post_json(&url, &[("authorization", &auth)], &list)
        .await
        .json();
    let names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["get_weather_data", "generate_analysis_code", "execute_code"]
    );
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_weather_data", "arguments": {"city": "Tampa, FL"}}});
    let v = common::post_json(&url, &[("authorization", &auth)], &call)
        .await
        .json();
    assert_eq!(v["result"]["structuredContent"]["city"], "Tampa, FL", "{v}");
    let denied = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "store_activity_plan", "arguments": {"city": "x", "plan": "y"}}});
    assert_eq!(
        common::post_json(&url, &[("authorization", &auth)], &denied)
            .await
            .json()["error"]["message"],
        "Unknown tool: store_activity_plan"
    );
}

/// Runs the binary with `args` to its end (at most 30 s); returns its exit code and stderr.
async fn run_to_end(args: &[&str]) -> (Option<i32>, String) {
    let child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the gateway exits when its port is taken")
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_taken_port_is_named_with_the_setting_that_changes_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();

    let (code, stderr) = run_to_end(&["quickstart", "--port", &port.to_string()]).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot start: port {port} is not available (cannot listen on 127.0.0.1:{port}: "
        )) && stderr.contains("choose another with --port N, e.g. quickstart --port"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    let config = format!(
        "binds:\n  - port: {port}\n    address: 127.0.0.1\n    listeners:\n      - name: l\n        routes:\n          - name: tools\n            match: {{path: {{prefix: /mcp}}}}\n            backends:\n              - {{name: s, type: sample}}\n"
    );
    std::fs::write(&file, config).unwrap();
    let (code, stderr) = run_to_end(&["run", "--config", file.to_str().unwrap()]).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:2:5: binds[0].port: port {port} is not available",
            file.display()
        )) && stderr.contains("or set binds[0].port to a free port"),
        "{stderr}"
    );
    drop(taken);
}

#[tokio::test]
async fn catalogue_as_explains_what_a_principal_sees() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    let config = "binds:\n  - port: 1\n    address: 127.0.0.1\n    listeners:\n      - name: l\n        routes:\n          - name: tools\n            match: {path: {prefix: /mcp}}\n            policies:\n              - type: mcp-authz\n                mcp:\n                  rules:\n                    - principal: weather\n                      allowedTools: [get_*]\n            backends:\n              - {name: s, type: sample}\n";
    std::fs::write(&file, config).unwrap();
    let run = |principal: &str| {
        let out = std::process::Command::new(BIN)
            .args([
                "catalogue",
                "--config",
                file.to_str().unwrap(),
                "--as",
                principal,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let weather = run("weather");
    assert!(weather.contains("visible to weather (2 of 6)"), "{weather}");
    assert!(
        weather.contains("    get_weather_data\n")
            && weather.contains("execute_code: not in allowedTools of the rule for weather"),
        "{weather}"
    );
    let stranger = run("stranger");
    assert!(
        stranger.contains("visible to stranger (0 of 6)") && stranger.contains("deny by default"),
        "{stranger}"
    );
}

#[tokio::test]
async fn validate_exits_by_result() {
    let ok = std::process::Command::new(BIN)
        .args(["validate", "examples/eks/config.yaml"])
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert!(ok.status.success());
    assert!(
        String::from_utf8_lossy(&ok.stdout)
            .contains("valid (1 bind, 2 listeners, 2 routes, 3 backends)")
    );
    let bad = std::process::Command::new(BIN)
        .args(["validate", "tests/fixtures/config/bad.yaml"])
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
}
