//! The A2A interop run: the Python a2a-sdk clients of both versions (1.3 over JSON-RPC and over HTTP+JSON,
//! 0.3 over JSON-RPC) against agents of both versions (a2a-sdk 1.3 serving 1.0 and 0.3, a2a-sdk 1.3
//! serving 1.0 only, a2a-sdk 0.3), each pairing once directly and once through the gateway
//! (`tests/peers/a2a_interop.py`: send, get, stream, cancel, resubscribe, list). No operation may fare
//! worse through the gateway than directly, and through the gateway every pairing works: where the
//! agent speaks only the other protocol version (or, for 0.3 agents, only JSON-RPC), the gateway
//! translates. The table it prints (`cargo test --test a2a_interop -- --nocapture`) is the one recorded
//! in `conformance/A2A.md`.

mod common;

use serde_json::Value;

const OPERATIONS: [&str; 6] = ["send", "get", "stream", "cancel", "resubscribe", "list"];

/// (label, venv, flags)
const CLIENTS: [(&str, &str, &[&str]); 3] = [
    ("a2a-sdk 1.3, JSON-RPC", "venv-a2a", &[]),
    ("a2a-sdk 1.3, HTTP+JSON", "venv-a2a", &["--rest"]),
    ("a2a-sdk 0.3, JSON-RPC", "venv-a2a03", &[]),
];

async fn run(venv: &str, url: &str, flags: &[&str]) -> Value {
    let out = tokio::process::Command::new(common::tool(&format!("{venv}/bin/python")))
        .arg(common::repo().join("tests/peers/a2a_interop.py"))
        .args(["--url", url])
        .args(flags)
        .output()
        .await
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "a2a_interop.py ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A cell of the table: `ok`, `n/a` or `FAIL`.
fn outcome(result: &Value) -> &str {
    match result.as_str().unwrap_or("FAIL") {
        "ok" => "ok",
        "n/a" => "n/a",
        _ => "FAIL",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sdk_pairing_works_through_the_gateway_and_none_fares_worse_than_directly() {
    let (_v1, v1_url) = common::a2a_agent("venv-a2a", "weather", &["--compat"]).await;
    let (_v10, v10_url) = common::a2a_agent("venv-a2a", "modern", &[]).await;
    let (_v03, v03_url) = common::a2a_agent("venv-a2a03", "legacy", &[]).await;
    let yaml = format!(
        "binds:\n- port: 0\n  address: 127.0.0.1\n  listeners:\n  - name: a2a\n    routes:\n    - name: agents\n      match: {{path: {{prefix: /agents}}}}\n      backends:\n      - {{name: weather, address: '{v1_url}', agentName: weather}}\n      - {{name: modern, address: '{v10_url}', agentName: modern}}\n      - {{name: legacy, address: '{v03_url}', agentName: legacy}}\n"
    );
    let gateway = common::gateway(&yaml).await;
    let agents = [
        ("a2a-sdk 1.3 (1.0 + 0.3)", v1_url.clone(), "weather"),
        ("a2a-sdk 1.3 (1.0 only)", v10_url.clone(), "modern"),
        ("a2a-sdk 0.3", v03_url.clone(), "legacy"),
    ];
    let mut runs = Vec::new();
    for (client, venv, flags) in CLIENTS {
        for (agent, direct, name) in &agents {
            let through = gateway.url(&format!("/agents/{name}"));
            runs.push(async move {
                let (d, g) =
                    futures_util::join!(run(venv, direct, flags), run(venv, &through, flags));
                (client, *agent, d, g)
            });
        }
    }
    let results = futures_util::future::join_all(runs).await;
    let mut table = format!(
        "| client | agent | {} |\n|---|---|{}\n",
        OPERATIONS.join(" | "),
        "---|".repeat(OPERATIONS.len())
    );
    let mut worse = Vec::new();
    for (client, agent, direct, through) in &results {
        let cells: Vec<String> = OPERATIONS
            .iter()
            .map(|op| {
                let (d, g) = (outcome(&direct[op]), outcome(&through[op]));
                // Through the gateway every pairing works, translated where the agent lacks the
                // client's version or binding; and nothing that works directly fails through it.
                if g == "FAIL" || (d == "ok" && g != "ok") {
                    worse.push(format!(
                        "{client} -> {agent}, {op}: direct {}, through the gateway {}",
                        direct[op], through[op]
                    ));
                }
                match d == g {
                    true => d.to_string(),
                    false => format!("{d} / gateway {g}"),
                }
            })
            .collect();
        table += &format!("| {client} | {agent} | {} |\n", cells.join(" | "));
        for (op, result) in direct.as_object().unwrap() {
            if outcome(result) == "FAIL" {
                println!("{client} -> {agent}, {op}, directly: {result}");
            }
        }
    }
    println!("{table}");
    assert!(worse.is_empty(), "{}\n{table}", worse.join("\n"));
}
