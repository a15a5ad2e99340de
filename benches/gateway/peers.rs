//! Peers, installed by benches/install-peers.sh; each fronts the session-era upstream.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use http::{HeaderName, HeaderValue};
use serde_json::json;

use crate::client::{Era, Stats, Target, Timing, load};
use crate::procs::{Proc, free_port, tree_rss_kib, wait_port};
use crate::report::Report;

pub async fn run_peers(
    report: &mut Report,
    target: &impl Fn(SocketAddr, &str, Era, Vec<(HeaderName, HeaderValue)>) -> Target,
    upstream: SocketAddr,
    direct: impl Fn(usize) -> Option<Stats>,
    timing: Timing,
    dir: &Path,
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".tools/venv-bench/bin/python");
    if !python.exists() {
        report.note(
            "fastmcp",
            json!("not installed: run benches/install-peers.sh"),
        );
        return;
    }
    let port = free_port();
    let mut cmd = Command::new(&python);
    cmd.arg(root.join("benches/peers/fastmcp_proxy.py"))
        .arg(format!("http://{upstream}/mcp"))
        .arg(port.to_string());
    let mut proc = Proc::spawn("fastmcp-proxy", &mut cmd, dir);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_port(&mut proc, addr).await;
    report.note("fastmcp_idle_rss_kib", json!(tree_rss_kib(proc.child.id())));
    for c in [1, 32] {
        let stats = load(&target(addr, "/mcp", Era::Session, vec![]), c, timing).await;
        report.add(
            "tools/call session",
            "fastmcp proxy",
            c,
            stats,
            direct(c).as_ref(),
        );
    }
    report.note(
        "fastmcp_rss_after_load_kib",
        json!(tree_rss_kib(proc.child.id())),
    );
}
