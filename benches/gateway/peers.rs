//! Peers, installed by benches/install-peers.sh; each fronts the session-era upstream and is driven by the
//! same client as the gateway rows (session era: initialize once per connection, then tools/call).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::client::{Era, load};
use crate::procs::{Proc, free_port, tree_rss_kib, wait_port};
use crate::{Bench, call_target};

pub async fn run(b: &mut Bench) {
    fastmcp(b).await;
}

/// FastMCP's proxy (`create_proxy(URL)` under uvicorn, one process): benches/peers/fastmcp_proxy.py.
async fn fastmcp(b: &mut Bench) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".tools/venv-bench/bin/python");
    if !python.exists() {
        b.report.note(
            "fastmcp",
            json!("not installed: run benches/install-peers.sh"),
        );
        return;
    }
    let port = free_port();
    let mut cmd = Command::new(&python);
    cmd.arg(root.join("benches/peers/fastmcp_proxy.py"))
        .arg(format!("http://{}/mcp", b.session_up))
        .arg(port.to_string());
    let mut proc = Proc::spawn("fastmcp-proxy", &mut cmd, &b.dir);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_port(&mut proc, addr).await;
    b.report
        .note("fastmcp_idle_rss_kib", json!(tree_rss_kib(proc.child.id())));
    for c in [1, 32] {
        let direct = b.direct_session(c).await;
        let target = call_target(addr, "/mcp", Era::Session, vec![]);
        let stats = load(&target, c, b.timing).await;
        b.report.add(
            "tools/call session",
            "fastmcp proxy",
            c,
            stats,
            Some(&direct),
        );
    }
    b.report.note(
        "fastmcp_rss_after_load_kib",
        json!(tree_rss_kib(proc.child.id())),
    );
}
