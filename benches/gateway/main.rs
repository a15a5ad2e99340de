//! Load benchmark: the same MCP traffic sent direct to an upstream and through the gateway, in one run.
//!
//! `cargo bench --bench gateway -- [--quick] [--no-peers]` prints a table and writes
//! `target/bench/results.json`. The upstream and the load client live in this process; every gateway is
//! the release binary run as its own process (so its RSS and its threads are its own). Peers (FastMCP's
//! proxy, ContextForge) are measured when `benches/install-peers.sh` has installed them.
//!
//! Modules: `upstream` (the fast in-process MCP server), `client` (connections, load, percentiles),
//! `procs` (gateway and peer processes, their configs and RSS), `tokens` (JWTs and the JWKS), `report`
//! (table and JSON), `peers` (FastMCP, ContextForge).

mod client;
mod peers;
mod procs;
mod report;
mod tokens;
mod upstream;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use client::{Era, Target, Timing, count_visible, load, open_sessions, resume, walk_all_pages};
use peers::run_peers;
use procs::{backend, free_port, full_policy, gateway_yaml, route, start_gateway, tree_rss_kib};
use report::{Report, print_header};
use tokens::bearer;
use upstream::{serve_upstream, tool_list, upstream};

const SESSION_VERSION: &str = "2025-11-25";
const STATELESS: &str = "2026-07-28";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let peers = !args.iter().any(|a| a == "--no-peers");
    let timing = if quick {
        Timing {
            warmup: Duration::from_millis(500),
            duration: Duration::from_secs(2),
        }
    } else {
        Timing {
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(10),
        }
    };
    // Two workers for the upstream and the client together, as many as the machine has cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let report = runtime.block_on(run(timing, quick, peers, &out));
    let args = json!({"quick": quick, "peers": peers, "warmup_s": timing.warmup.as_secs_f64(),
                      "duration_s": timing.duration.as_secs_f64()});
    report.write(&out.join("results.json"), &args);
    println!("wrote {}", out.join("results.json").display());
}

async fn run(timing: Timing, quick: bool, peers: bool, dir: &Path) -> Report {
    let mut report = Report::new();
    let echo = || tool_list(std::iter::once("echo".to_string()));
    let session_up = serve_upstream(upstream(false, echo())).await;
    let stateless_up = serve_upstream(upstream(true, echo())).await;

    let plain = format!(
        "{}{}",
        route("plain-session", "", &backend("up", session_up)),
        route("plain-stateless", "", &backend("up", stateless_up))
    );
    let policy = full_policy(stateless_up, "echo");
    let full = format!(
        "{}{}",
        route("full-session", &policy, &backend("up", session_up)),
        route("full-stateless", &policy, &backend("up", stateless_up))
    );
    let (port_a, port_b) = (free_port(), free_port());
    let routes = format!("{plain}{full}");
    let (gw_a, addr_a) = start_gateway("gateway-a", &gateway_yaml(port_a, &routes), dir).await;
    let (_gw_b, addr_b) = start_gateway("gateway-b", &gateway_yaml(port_b, &routes), dir).await;

    let call = json!({"name": "echo", "arguments": {"city": "Tampa, FL"}});
    let target = |addr, path: &str, era, headers: Vec<_>| Target {
        addr,
        path: path.into(),
        era,
        method: "tools/call",
        params: call.clone(),
        headers,
    };
    print_header();

    // (1) and (2): tools/call pass-through, plain and with the full policy set.
    let mut direct_rows = Vec::new();
    for (era, era_name, plain_path, full_path, up) in [
        (
            Era::Session,
            "session",
            "/plain-session",
            "/full-session",
            session_up,
        ),
        (
            Era::Stateless,
            "2026-07-28",
            "/plain-stateless",
            "/full-stateless",
            stateless_up,
        ),
    ] {
        for c in [1, 32] {
            let direct = load(&target(up, "/mcp", era, vec![]), c, timing).await;
            let scenario = format!("tools/call {era_name}");
            let gw_plain = load(&target(addr_a, plain_path, era, vec![]), c, timing).await;
            let gw_full = load(&target(addr_a, full_path, era, vec![bearer()]), c, timing).await;
            report.add(&scenario, "direct", c, direct.clone(), None);
            report.add(&scenario, "gateway", c, gw_plain, Some(&direct));
            report.add(&scenario, "gateway+policy", c, gw_full, Some(&direct));
            direct_rows.push((era, c, direct));
        }
    }
    let direct_session = |c| {
        direct_rows
            .iter()
            .find(|(e, cc, _)| *e == Era::Session && *cc == c)
            .map(|r| r.2.clone())
    };

    // (3) tools/list: 50 upstream listeners × 200 tools behind one route, filtered per identity.
    {
        let mut backends = String::new();
        let mut direct_addr = None;
        for u in 0..50 {
            let names = (0..200).map(|t| format!("tool_{t:03}"));
            let addr = serve_upstream(upstream(true, tool_list(names))).await;
            direct_addr.get_or_insert(addr);
            backends.push_str(&backend(&format!("up{u:02}"), addr));
        }
        // Half the catalogue is visible: 20 whole upstreams plus half of 10 more (5,000 of 10,000 tools).
        let allowed = "'up0*', 'up1*', 'up2?__tool_0*'";
        let policies = full_policy(stateless_up, allowed);
        let yaml = gateway_yaml(free_port(), &route("catalogue", &policies, &backends));
        let (gw_cat, addr_cat) = start_gateway("gateway-catalogue", &yaml, dir).await;
        let list = |addr, path: &str, headers| Target {
            method: "tools/list",
            params: json!({}),
            ..target(addr, path, Era::Stateless, headers)
        };
        let visible = count_visible(&list(addr_cat, "/catalogue", vec![bearer()])).await;
        report.note("catalogue_visible_tools_for_identity", json!(visible));
        for c in [1, 32] {
            let direct = load(&list(direct_addr.unwrap(), "/mcp", vec![]), c, timing).await;
            let via = load(&list(addr_cat, "/catalogue", vec![bearer()]), c, timing).await;
            report.add(
                "tools/list 1 upstream×200 (direct)",
                "direct",
                c,
                direct,
                None,
            );
            report.add(
                "tools/list 50×200, first page",
                "gateway+policy",
                c,
                via,
                None,
            );
        }
        let walks = walk_all_pages(
            &list(addr_cat, "/catalogue", vec![bearer()]),
            if quick { 50 } else { 300 },
        )
        .await;
        report.add(
            "tools/list 50×200, all pages",
            "gateway+policy",
            1,
            walks,
            None,
        );
        report.note(
            "catalogue_gateway_rss_kib",
            json!(tree_rss_kib(gw_cat.child.id())),
        );
    }

    // (4) Session creation, and a session's first call on the replica that did not create it.
    for c in [1, 32] {
        let init = |addr, path: &str| Target {
            method: "initialize",
            params: json!({"protocolVersion": SESSION_VERSION, "capabilities": {},
                           "clientInfo": {"name": "bench", "version": "1"}}),
            ..target(addr, path, Era::Initialize, vec![])
        };
        let direct = load(&init(session_up, "/mcp"), c, timing).await;
        let via = load(&init(addr_a, "/plain-session"), c, timing).await;
        report.add(
            "initialize (session era)",
            "direct",
            c,
            direct.clone(),
            None,
        );
        report.add("initialize (session era)", "gateway", c, via, Some(&direct));
    }
    let n = if quick { 300 } else { 2000 };
    let [first_a, first_b, warm_b] = resume(
        &target(addr_a, "/plain-session", Era::Session, vec![]),
        addr_b,
        n,
    )
    .await;
    let base = direct_session(1);
    report.add(
        "first call, same replica",
        "gateway A",
        1,
        first_a,
        base.as_ref(),
    );
    report.add(
        "first call, other replica",
        "gateway B",
        1,
        first_b,
        base.as_ref(),
    );
    report.add(
        "next call, other replica",
        "gateway B",
        1,
        warm_b,
        base.as_ref(),
    );

    // (5) Memory: a fresh gateway, idle, then with 10,000 sessions each initialized and used once.
    {
        let yaml = gateway_yaml(
            free_port(),
            &route("plain-session", "", &backend("up", session_up)),
        );
        let (gw_mem, addr_mem) = start_gateway("gateway-memory", &yaml, dir).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        report.note("gateway_idle_rss_kib", json!(gw_mem.rss_kib()));
        let t = target(addr_mem, "/plain-session", Era::Session, vec![]);
        let warm = open_sessions(&t, 100).await;
        let after_100 = gw_mem.rss_kib();
        let opened = open_sessions(&t, 10_000).await;
        let after = gw_mem.rss_kib();
        report.note("gateway_rss_after_100_sessions_kib", json!(after_100));
        report.note("gateway_rss_after_10100_sessions_kib", json!(after));
        report.note("sessions_opened_ok", json!(warm + opened));
        report.note(
            "bytes_per_session_between_100_and_10100",
            json!((after.saturating_sub(after_100) * 1024) as f64 / opened.max(1) as f64),
        );
        report.note("gateway_a_rss_after_load_kib", json!(gw_a.rss_kib()));
    }

    if peers {
        run_peers(
            &mut report,
            &target,
            session_up,
            direct_session,
            timing,
            dir,
        )
        .await;
    }
    report
}
