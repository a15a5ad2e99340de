//! Peers, installed by benches/install-peers.sh; each fronts the session-era upstream and is driven by the
//! same client as the gateway rows (session era: initialize once per connection, then tools/call).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use http::{HeaderValue, header::AUTHORIZATION};
use serde_json::{Value, json};

use crate::client::{Era, Target, load, truncate};
use crate::procs::{Proc, free_port, tree_pss_kib, tree_rss_kib, tree_size, wait_http, wait_port};
use crate::{Bench, call_target};

pub async fn run(b: &mut Bench) {
    fastmcp(b).await;
    contextforge(b).await;
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// FastMCP's proxy (`create_proxy(URL)` under uvicorn, one process): benches/peers/fastmcp_proxy.py.
async fn fastmcp(b: &mut Bench) {
    let python = root().join(".tools/venv-bench/bin/python");
    if !python.exists() {
        b.report.note(
            "fastmcp",
            json!("not installed: run benches/install-peers.sh"),
        );
        return;
    }
    let port = free_port();
    let mut cmd = Command::new(&python);
    cmd.arg(root().join("benches/peers/fastmcp_proxy.py"))
        .arg(format!("http://{}/mcp", b.session_up))
        .arg(port.to_string());
    let mut proc = Proc::spawn("fastmcp-proxy", &mut cmd, &b.dir);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_port(&mut proc, addr).await;
    note_memory(b, "fastmcp_idle", proc.child.id());
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
    note_memory(b, "fastmcp_after_load", proc.child.id());
}

/// Notes `{key}_rss_kib` (VmRSS summed over the process tree, as the issue counts it) and `{key}_pss_kib`
/// (pages shared between forked workers counted once).
fn note_memory(b: &mut Bench, key: &str, pid: u32) {
    b.report
        .note(&format!("{key}_rss_kib"), json!(tree_rss_kib(pid)));
    b.report
        .note(&format!("{key}_pss_kib"), json!(tree_pss_kib(pid)));
}

/// Waits until the process tree of `pid` has kept its size for 2 s (30 s at most), so that every
/// worker and the process pools each worker starts are up before idle memory is read.
async fn settle(pid: u32) {
    let started = Instant::now();
    let (mut size, mut since) = (tree_size(pid), Instant::now());
    while since.elapsed() < Duration::from_secs(2) && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = tree_size(pid);
        if now != size {
            (size, since) = (now, Instant::now());
        }
    }
}

/// The platform admin that ContextForge bootstraps at first start, and whose token drives the run.
const CF_ADMIN: &str = "admin@example.com";

/// IBM ContextForge (`mcp-contextforge-gateway` 1.1.0, .tools/venv-contextforge), set up as its docs
/// recommend for production, except for the database (SQLite, as issue 6 asks, not PostgreSQL):
///
/// - secrets from its own generator (`python -m mcpgateway.scripts.init_secrets --output .env`), read by
///   ContextForge from `.env` in its working directory, target/bench/contextforge/ (new each run);
/// - gunicorn with uvicorn workers, as its `run-gunicorn.sh` launches it: benches/peers/contextforge_gunicorn.py,
///   2 × CPU + 1 = 5 workers here, the app preloaded, access log off;
/// - the environment in [`cf_env`]: production, SQLite, rate limiting off (`RATE_LIMITING_ENABLED=false`:
///   otherwise its middleware allows MCP traffic 100 requests a minute), localhost upstreams allowed (its
///   SSRF guard refuses them by default), the legacy unversioned routes off; everything else at defaults:
///   authentication on (`AUTH_REQUIRED`, `MCP_REQUIRE_AUTH`), stateless Streamable HTTP with JSON replies,
///   database-backed cache, UI and admin UI API off, log level ERROR;
/// - a bearer token from its own JWT utility (`python -m mcpgateway.utils.create_jwt_token`) for the
///   platform admin;
/// - the upstream registered through its REST API (`POST /v1/mcp-servers`, the former `/gateways`,
///   transport STREAMABLEHTTP), then a virtual server holding the upstream's one tool
///   (`POST /v1/virtual-servers`), whose endpoint `/v1/virtual-servers/ID/mcp` the load is sent to.
async fn contextforge(b: &mut Bench) {
    let bin = root().join(".tools/venv-contextforge/bin");
    if !bin.join("gunicorn").exists() {
        b.report.note(
            "contextforge",
            json!("not installed: run benches/install-peers.sh"),
        );
        return;
    }
    let (proc, addr, path, tool, token) = match start_contextforge(b, &bin).await {
        Ok(started) => started,
        Err(e) => {
            b.report.note("contextforge", json!(format!("failed: {e}")));
            return;
        }
    };
    let pid = proc.child.id();
    settle(pid).await;
    // gunicorn's master, its workers, and each worker's sandbox process pools (jq, JSON schema).
    b.report
        .note("contextforge_processes", json!(tree_size(pid)));
    note_memory(b, "contextforge_idle", pid);
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    for c in [1, 32] {
        let direct = b.direct_session(c).await;
        let target = Target {
            params: json!({"name": tool, "arguments": {"city": "Tampa, FL"}}),
            ..call_target(
                addr,
                &path,
                Era::Session,
                vec![(AUTHORIZATION, bearer.clone())],
            )
        };
        let stats = load(&target, c, b.timing).await;
        b.report.add(
            "tools/call session",
            "contextforge",
            c,
            stats,
            Some(&direct),
        );
    }
    note_memory(b, "contextforge_after_load", pid);
}

/// ContextForge's environment (besides the secrets in `.env`); `dir` holds its SQLite file.
fn cf_env(port: u16, dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HOST", "127.0.0.1".into()),
        ("PORT", port.to_string()),
        ("ENVIRONMENT", "production".into()),
        (
            "DATABASE_URL",
            format!("sqlite:///{}/mcp.db", dir.display()),
        ),
        ("PLATFORM_ADMIN_EMAIL", CF_ADMIN.into()),
        ("RATE_LIMITING_ENABLED", "false".into()),
        ("SSRF_ALLOW_LOCALHOST", "true".into()),
        ("LEGACY_API_ENABLED", "false".into()),
    ]
}

/// Starts ContextForge, registers the upstream and a virtual server: the process, its address, the
/// virtual server's MCP path, the tool's name there, and the admin's token.
async fn start_contextforge(
    b: &Bench,
    bin: &Path,
) -> Result<(Proc, SocketAddr, String, String, String), String> {
    let dir: PathBuf = b.dir.join("contextforge");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = free_port();
    let env = cf_env(port, &dir);
    let python = |args: &[&str]| -> Result<String, String> {
        let out = Command::new(bin.join("python"))
            .args(args)
            .current_dir(&dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!("{args:?}: {}: {}", out.status, err.trim()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    python(&[
        "-m",
        "mcpgateway.scripts.init_secrets",
        "--output",
        ".env",
        "--force",
    ])?;

    let mut cmd = Command::new(bin.join("gunicorn"));
    cmd.arg("-c")
        .arg(root().join("benches/peers/contextforge_gunicorn.py"))
        .arg("mcpgateway.main:app")
        .current_dir(&dir)
        .envs(env.iter().map(|(k, v)| (k, v)));
    let mut proc = Proc::spawn("contextforge", &mut cmd, &b.dir);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_http(&mut proc, addr, "/health").await?;

    let token = python(&[
        "-m",
        "mcpgateway.utils.create_jwt_token",
        "--username",
        CF_ADMIN,
        "--exp",
        "120",
    ])?;
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://{addr}"),
        token: token.clone(),
    };
    let upstream = json!({"name": "bench-upstream", "url": format!("http://{}/mcp", b.session_up),
                          "transport": "STREAMABLEHTTP"});
    let gateway = api
        .send(reqwest::Method::POST, "/v1/mcp-servers", Some(upstream))
        .await?;
    let tools = api.send(reqwest::Method::GET, "/v1/tools", None).await?;
    let tool = tools
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["gatewayId"] == gateway["id"] && t["originalName"] == "echo")
        .ok_or_else(|| format!("the upstream's tool is not listed: {tools}"))?;
    let server = json!({"server": {"name": "bench", "associated_tools": [tool["id"]]},
                        "visibility": "public"});
    let server = api
        .send(reqwest::Method::POST, "/v1/virtual-servers", Some(server))
        .await?;
    let id = server["id"].as_str().ok_or("no virtual server id")?;
    let name = tool["name"].as_str().ok_or("no tool name")?;
    Ok((
        proc,
        addr,
        format!("/v1/virtual-servers/{id}/mcp"),
        name.to_string(),
        token,
    ))
}

/// ContextForge's REST API, as its admin.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// One request; its JSON reply, or an error holding the status and body.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{path}: {status}: {}", truncate(&text)));
        }
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}: {}", truncate(&text)))
    }
}
