//! Load benchmark: the same MCP traffic sent direct to an upstream and through the gateway, in one run.
//!
//! ```text
//! cargo bench --bench gateway -- [--quick] [--no-peers] [--only SECTIONS] [--duration SECS]
//! ```
//!
//! prints a table and writes `target/bench/results.json`. The upstream and the load client live in this
//! process; every gateway is the release binary run as its own process (so its RSS and its threads are its
//! own). Peers (FastMCP's proxy, ContextForge) are measured when `benches/install-peers.sh` has installed
//! them.
//!
//! - `--quick`: 0.5 s warm-up and 2 s measurement per load point, fewer fixed-count samples (otherwise 2 s
//!   and 10 s).
//! - `--no-peers`: leave the peers section out.
//! - `--only call,list,session,memory,discovery,peers`: run only these sections (comma separated; the order of the
//!   run stays the one above). `call` is tools/call direct, through a bare proxy (the floor, see
//!   `floor`), through the gateway and with the full policy set, both eras, c=1 and c=32; `list` the
//!   50×200 catalogue; `session` initialize and resume on the
//!   other replica; `memory` idle RSS and RSS with 10,000 sessions; `discovery` a full
//!   `tools/list` against progressive discovery's search + describe, 10 to 10,000 tools; `peers` FastMCP
//!   and ContextForge. A
//!   section that compares with the direct session-era tools/call measures that row itself when `call`
//!   is not run.
//! - `--duration SECS`: measurement time of each load point (decimals allowed), e.g. to hold load while
//!   `perf record -p PID` samples a gateway; the warm-up stays as above.
//!
//! Modules: `upstream` (the fast in-process MCP server), `floor` (a bare reverse proxy: the floor for
//! added latency), `client` (connections, load, percentiles), `procs` (gateway and peer processes, their
//! configs and RSS), `tokens` (JWTs and the JWKS), `report` (table and JSON), `peers` (FastMCP,
//! ContextForge).

mod client;
mod discovery;
mod floor;
mod peers;
mod procs;
mod report;
mod tokens;
mod upstream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde_json::json;

use client::{
    Era, Stats, Target, Timing, count_visible, load, open_sessions, resume, walk_all_pages,
};
use procs::{
    Proc, backend, free_port, full_policy, gateway_yaml, route, start_gateway, tree_rss_kib,
};
use report::{Report, print_header};
use tokens::bearer;
use upstream::{serve_upstream, tool_list, upstream};

const SESSION_VERSION: &str = "2025-11-25";
const STATELESS: &str = "2026-07-28";
/// Every section, in the order a run takes them.
const SECTIONS: [&str; 6] = ["call", "list", "session", "memory", "discovery", "peers"];

fn usage(problem: &str) -> ! {
    eprintln!(
        "gateway bench: {problem}\nusage: cargo bench --bench gateway -- [--quick] [--no-peers] \
         [--only {}] [--duration SECS]",
        SECTIONS.join(",")
    );
    std::process::exit(2)
}

/// The value of `--name VALUE` or `--name=VALUE`, if given.
fn flag_value(args: &[String], name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == name {
            Some(
                args.get(i + 1)
                    .cloned()
                    .unwrap_or_else(|| usage(&format!("{name} needs a value"))),
            )
        } else {
            a.strip_prefix(&prefix).map(str::to_string)
        }
    })
}

fn main() {
    // Unknown arguments are ignored: `cargo bench` passes `--bench` to every bench binary.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "--floor-proxy") {
        floor::main(&args[2..]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let mut sections: Vec<&'static str> = match flag_value(&args, "--only") {
        None => SECTIONS.to_vec(),
        Some(list) => {
            let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
            if let Some(bad) = wanted.iter().find(|w| !SECTIONS.contains(w)) {
                usage(&format!("unknown section {bad:?}"));
            }
            SECTIONS
                .into_iter()
                .filter(|s| wanted.contains(s))
                .collect()
        }
    };
    if args.iter().any(|a| a == "--no-peers") {
        sections.retain(|s| *s != "peers");
    }
    let mut timing = if quick {
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
    if let Some(secs) = flag_value(&args, "--duration") {
        timing.duration = secs
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or_else(|| usage(&format!("--duration {secs:?} is not a positive number")));
    }
    // Two workers for the upstream and the client together, as many as the machine has cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let report = runtime.block_on(run(timing, quick, &sections, &out));
    let args = json!({"quick": quick, "peers": sections.contains(&"peers"), "sections": sections,
                      "warmup_s": timing.warmup.as_secs_f64(),
                      "duration_s": timing.duration.as_secs_f64()});
    report.write(&out.join("results.json"), &args);
    println!("wrote {}", out.join("results.json").display());
}

/// The measured request: tools/call of the upstream's one tool, `echo`.
fn call_target(
    addr: SocketAddr,
    path: &str,
    era: Era,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Target {
    Target {
        addr,
        path: path.into(),
        era,
        method: "tools/call",
        params: json!({"name": "echo", "arguments": {"city": "Tampa, FL"}}),
        headers,
    }
}

/// What the sections share: the two one-tool upstreams, the replicas, and the direct baseline.
struct Bench {
    timing: Timing,
    quick: bool,
    dir: PathBuf,
    report: Report,
    /// The session-era and the 2026-07-28 upstream, each with the one tool `echo`.
    session_up: SocketAddr,
    stateless_up: SocketAddr,
    /// Gateways A and B (same routes, same session key), started when a section first needs them.
    replicas: Option<[(Proc, SocketAddr); 2]>,
    /// Direct session-era tools/call, by concurrency: the baseline of the session and peer rows.
    direct_session: Vec<(usize, Stats)>,
}

impl Bench {
    /// The addresses of gateways A and B, which serve `/plain-*` and `/full-*` for both eras.
    async fn replicas(&mut self) -> (SocketAddr, SocketAddr) {
        if self.replicas.is_none() {
            let (session_up, stateless_up) = (self.session_up, self.stateless_up);
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
            let dir = &self.dir;
            let a = start_gateway("gateway-a", &gateway_yaml(port_a, &routes), dir).await;
            let b = start_gateway("gateway-b", &gateway_yaml(port_b, &routes), dir).await;
            self.replicas = Some([a, b]);
        }
        let [(_, a), (_, b)] = self.replicas.as_ref().unwrap();
        (*a, *b)
    }

    /// Direct session-era tools/call at concurrency `c`: the one `call` measured, or measured now (and
    /// reported as its own row) when that section did not run.
    async fn direct_session(&mut self, c: usize) -> Stats {
        if let Some((_, s)) = self.direct_session.iter().find(|(cc, _)| *cc == c) {
            return s.clone();
        }
        let target = call_target(self.session_up, "/mcp", Era::Session, vec![]);
        let direct = load(&target, c, self.timing).await;
        self.report
            .add("tools/call session", "direct", c, direct.clone(), None);
        self.direct_session.push((c, direct.clone()));
        direct
    }
}

async fn run(timing: Timing, quick: bool, sections: &[&str], dir: &Path) -> Report {
    let echo = || tool_list(std::iter::once("echo".to_string()));
    let mut b = Bench {
        timing,
        quick,
        dir: dir.to_path_buf(),
        report: Report::new(),
        session_up: serve_upstream(upstream(false, echo())).await,
        stateless_up: serve_upstream(upstream(true, echo())).await,
        replicas: None,
        direct_session: Vec::new(),
    };
    print_header();
    for section in sections {
        match *section {
            "call" => calls(&mut b).await,
            "list" => catalogue(&mut b).await,
            "session" => sessions(&mut b).await,
            "memory" => memory(&mut b).await,
            "discovery" => discovery::run(&mut b).await,
            "peers" => peers::run(&mut b).await,
            _ => unreachable!("sections are checked in main"),
        }
    }
    b.report
}

/// (1) and (2): tools/call pass-through, plain and with the full policy set.
async fn calls(b: &mut Bench) {
    let (addr_a, _) = b.replicas().await;
    let timing = b.timing;
    let floor_port = free_port();
    let mut floor = Proc::spawn(
        "floor-proxy",
        std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--floor-proxy")
            .arg(floor_port.to_string())
            .arg(b.session_up.to_string())
            .arg(b.stateless_up.to_string()),
        &b.dir,
    );
    let floor_addr: SocketAddr = ([127, 0, 0, 1], floor_port).into();
    procs::wait_port(&mut floor, floor_addr).await;
    for (era, era_name, plain_path, full_path, up) in [
        (
            Era::Session,
            "session",
            "/plain-session",
            "/full-session",
            b.session_up,
        ),
        (
            Era::Stateless,
            "2026-07-28",
            "/plain-stateless",
            "/full-stateless",
            b.stateless_up,
        ),
    ] {
        for c in [1, 32] {
            let direct = load(&call_target(up, "/mcp", era, vec![]), c, timing).await;
            let scenario = format!("tools/call {era_name}");
            let bare = call_target(floor_addr, &format!("/{era_name}"), era, vec![]);
            let bare = load(&bare, c, timing).await;
            let plain = call_target(addr_a, plain_path, era, vec![]);
            let gw_plain = load(&plain, c, timing).await;
            let full = call_target(addr_a, full_path, era, vec![bearer()]);
            let gw_full = load(&full, c, timing).await;
            let report = &mut b.report;
            report.add(&scenario, "direct", c, direct.clone(), None);
            report.add(&scenario, "bare proxy (floor)", c, bare, Some(&direct));
            report.add(&scenario, "gateway", c, gw_plain, Some(&direct));
            report.add(&scenario, "gateway+policy", c, gw_full, Some(&direct));
            if era == Era::Session {
                b.direct_session.push((c, direct));
            }
        }
    }
}

/// (3) tools/list: 50 upstream listeners × 200 tools behind one route, filtered per identity.
async fn catalogue(b: &mut Bench) {
    let timing = b.timing;
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
    let policies = full_policy(b.stateless_up, allowed);
    let yaml = gateway_yaml(free_port(), &route("catalogue", &policies, &backends));
    let (gw_cat, addr_cat) = start_gateway("gateway-catalogue", &yaml, &b.dir).await;
    let list = |addr, path: &str, headers| Target {
        method: "tools/list",
        params: json!({}),
        ..call_target(addr, path, Era::Stateless, headers)
    };
    let report = &mut b.report;
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
        if b.quick { 50 } else { 300 },
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

/// (4) Session creation, and a session's first call on the replica that did not create it.
async fn sessions(b: &mut Bench) {
    let (addr_a, addr_b) = b.replicas().await;
    let (timing, session_up) = (b.timing, b.session_up);
    for c in [1, 32] {
        let init = |addr, path: &str| Target {
            method: "initialize",
            params: json!({"protocolVersion": SESSION_VERSION, "capabilities": {},
                           "clientInfo": {"name": "bench", "version": "1"}}),
            ..call_target(addr, path, Era::Initialize, vec![])
        };
        let direct = load(&init(session_up, "/mcp"), c, timing).await;
        let via = load(&init(addr_a, "/plain-session"), c, timing).await;
        let report = &mut b.report;
        report.add(
            "initialize (session era)",
            "direct",
            c,
            direct.clone(),
            None,
        );
        report.add("initialize (session era)", "gateway", c, via, Some(&direct));
    }
    let n = if b.quick { 300 } else { 2000 };
    let [first_a, first_b, warm_b] = resume(
        &call_target(addr_a, "/plain-session", Era::Session, vec![]),
        addr_b,
        n,
    )
    .await;
    let base = Some(b.direct_session(1).await);
    let report = &mut b.report;
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
}

/// (5) Memory: a fresh gateway, idle, then with 10,000 sessions each initialized and used once.
async fn memory(b: &mut Bench) {
    let yaml = gateway_yaml(
        free_port(),
        &route("plain-session", "", &backend("up", b.session_up)),
    );
    let (gw_mem, addr_mem) = start_gateway("gateway-memory", &yaml, &b.dir).await;
    let report = &mut b.report;
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.note("gateway_idle_rss_kib", json!(gw_mem.rss_kib()));
    let t = call_target(addr_mem, "/plain-session", Era::Session, vec![]);
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
    if let Some([(gw_a, _), _]) = &b.replicas {
        report.note("gateway_a_rss_after_load_kib", json!(gw_a.rss_kib()));
    }
}
