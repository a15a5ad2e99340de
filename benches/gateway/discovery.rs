//! (5) Progressive discovery (`mcp.discovery: progressive`) against the whole `tools/list`: the bytes and
//! time an agent spends to find and read the definitions it needs, for 10, 1,000 and 10,000 visible tools,
//! and the latency of `search_tools` over 10,000 tools. One gateway, two routes over one upstream whose
//! tools have varied names and descriptions (a search over identical ones would measure nothing).

use std::net::SocketAddr;
use std::time::Instant;

use serde_json::{Value, json};

use crate::client::{Conn, Era, Target};
use crate::procs::{backend, free_port, gateway_yaml, start_gateway};
use crate::upstream::{serve_upstream, upstream};
use crate::{Bench, call_target};

const VERBS: [&str; 8] = [
    "get", "list", "create", "update", "delete", "search", "export", "sync",
];
const NOUNS: [&str; 10] = [
    "invoice",
    "customer",
    "ticket",
    "forecast",
    "report",
    "order",
    "user",
    "repository",
    "alert",
    "payment",
];
const WORDS: [&str; 12] = [
    "billing",
    "weather",
    "support",
    "analytics",
    "inventory",
    "identity",
    "git",
    "monitoring",
    "finance",
    "shipping",
    "calendar",
    "email",
];

/// `n` tools named and described from a small vocabulary, with a schema of a realistic size.
fn varied_tools(n: usize) -> String {
    let tools: Vec<Value> = (0..n)
        .map(|i| {
            let (verb, noun, word) = (VERBS[i % 8], NOUNS[(i / 8) % 10], WORDS[(i / 80) % 12]);
            json!({
                "name": format!("{verb}_{noun}_{i}"),
                "description": format!("{verb} a {noun} in the {word} system; returns the {noun} as JSON. Tool number {i}."),
                "inputSchema": {"type": "object", "properties": {
                    "id": {"type": "string", "description": format!("The {noun} id.")},
                    "fields": {"type": "array", "items": {"type": "string"}, "description": "Fields to return."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100}
                }, "required": ["id"]}
            })
        })
        .collect();
    json!({ "tools": tools }).to_string()
}

async fn session(addr: SocketAddr, path: &str) -> Conn {
    let target = Target {
        method: "tools/list",
        params: json!({}),
        ..call_target(addr, path, Era::Stateless, vec![])
    };
    Conn::open(&target).await.unwrap()
}

/// Every page of `tools/list`: bytes received.
async fn list_all(conn: &mut Conn) -> usize {
    let (mut bytes, mut cursor) = (0, Value::Null);
    loop {
        let params = if cursor.is_null() {
            json!({})
        } else {
            json!({"cursor": cursor})
        };
        let (_, body) = conn.post("tools/list", Some(params)).await.unwrap();
        bytes += body.len();
        let v: Value = serde_json::from_str(&body).unwrap();
        cursor = v["result"]["nextCursor"].clone();
        if cursor.is_null() {
            return bytes;
        }
    }
}

/// What an agent does with progressive discovery: list (two tools), search, describe the top three.
async fn search_and_describe(conn: &mut Conn, query: &str) -> usize {
    let (_, listed) = conn.post("tools/list", Some(json!({}))).await.unwrap();
    let (_, found) = conn
        .post(
            "tools/call",
            Some(json!({"name": "search_tools", "arguments": {"query": query, "limit": 10}})),
        )
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&found).unwrap();
    let names: Vec<Value> = v["result"]["structuredContent"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|t| t["name"].clone())
        .collect();
    assert!(!names.is_empty(), "the search found nothing: {found}");
    let (_, described) = conn
        .post(
            "tools/call",
            Some(json!({"name": "describe_tools", "arguments": {"names": names}})),
        )
        .await
        .unwrap();
    listed.len() + found.len() + described.len()
}

fn median<T: Ord + Copy>(mut samples: Vec<T>) -> T {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(micros: u128) -> f64 {
    micros as f64 / 1000.0
}

pub async fn run(b: &mut Bench) {
    let reps = if b.quick { 5 } else { 25 };
    for n in [10, 1_000, 10_000] {
        let up = serve_upstream(upstream(true, varied_tools(n))).await;
        let routes: String = ["full", "progressive"]
            .iter()
            .map(|mode| {
                format!(
                    "
          - name: {mode}
            match: {{path: {{prefix: /{mode}}}}}
            mcp: {{discovery: {mode}}}
            backends:{}",
                    backend("up", up)
                )
            })
            .collect();
        let yaml = format!(
            "limits: {{maxUpstreamTools: 20000}}\n{}",
            gateway_yaml(free_port(), &routes)
        );
        let (gw, addr) = start_gateway(&format!("gateway-discovery-{n}"), &yaml, &b.dir).await;
        let (mut full, mut progressive) = (
            session(addr, "/full").await,
            session(addr, "/progressive").await,
        );
        let (mut full_us, mut prog_us, mut full_bytes, mut prog_bytes) =
            (vec![], vec![], vec![], vec![]);
        for i in 0..reps {
            let t = Instant::now();
            full_bytes.push(list_all(&mut full).await);
            full_us.push(t.elapsed().as_micros());
            let query = format!("{} {} {}", VERBS[i % 8], NOUNS[i % 10], WORDS[i % 12]);
            let t = Instant::now();
            prog_bytes.push(search_and_describe(&mut progressive, &query).await);
            prog_us.push(t.elapsed().as_micros());
        }
        // Medians over the repetitions (the queries vary, and with them what search and describe return).
        let (full_ms, prog_ms) = (ms(median(full_us)), ms(median(prog_us)));
        let (full_bytes, prog_bytes) = (median(full_bytes), median(prog_bytes));
        b.report.note(
            &format!("discovery_{n}_tools"),
            json!({"full_list_bytes": full_bytes, "full_list_ms": full_ms,
                   "search_describe_bytes": prog_bytes, "search_describe_ms": prog_ms,
                   "bytes_ratio": full_bytes as f64 / prog_bytes as f64}),
        );
        if n == 10_000 {
            let mut search_us = Vec::new();
            for i in 0..(reps * 20) {
                let query = format!(
                    "{} {} {}",
                    VERBS[i % 8],
                    NOUNS[(i / 3) % 10],
                    WORDS[(i / 7) % 12]
                );
                let t = Instant::now();
                progressive
                    .post(
                        "tools/call",
                        Some(json!({"name": "search_tools", "arguments": {"query": query}})),
                    )
                    .await
                    .unwrap();
                search_us.push(t.elapsed().as_micros());
            }
            search_us.sort_unstable();
            let p99 = ms(search_us[search_us.len() * 99 / 100]);
            b.report.note(
                "search_tools_10000_tools_ms",
                json!({"p50": ms(median(search_us.clone())), "p99": p99, "samples": search_us.len()}),
            );
        }
        drop(gw);
    }
}
