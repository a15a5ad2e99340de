//! Processes: gateways (the release binary, one process each) and peers; their configs, readiness and RSS.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::tokens::{ISSUER, PRINCIPAL};

/// A fixed session key, shared by replicas A and B (test value, protects nothing).
const SESSION_KEY: &str = "YmVuY2gtc2Vzc2lvbi1rZXktMzItYnl0ZXMtbG9uZyE=";

pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Drop for Proc {
    /// Kills the process, then the descendants it had (gunicorn's workers), each by its pid.
    fn drop(&mut self) {
        let descendants = descendants(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !descendants.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .args(descendants.iter().map(u32::to_string))
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command, dir: &Path) -> Proc {
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        Proc {
            child,
            name: name.into(),
        }
    }

    /// VmRSS in KiB, from /proc/PID/status.
    pub fn rss_kib(&self) -> u64 {
        rss_kib_of(self.child.id())
    }
}

fn rss_kib_of(pid: u32) -> u64 {
    kib_field(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// A `NAME:  N kB` line of a /proc file, in KiB (0 if the process is gone).
fn kib_field(path: &str, name: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The children of `pid`, their children, and so on.
fn descendants(pid: u32) -> Vec<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut all: Vec<u32> = children
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect();
    for i in 0..all.len() {
        all.extend(descendants(all[i]));
    }
    all
}

/// RSS of a process and all its descendants (gunicorn workers), in KiB.
pub fn tree_rss_kib(pid: u32) -> u64 {
    rss_kib_of(pid) + descendants(pid).into_iter().map(rss_kib_of).sum::<u64>()
}

/// PSS of a process and all its descendants, in KiB: each page shared by n of them counts 1/n, so
/// memory that forked workers share is counted once (their VmRSS sum counts it in each).
pub fn tree_pss_kib(pid: u32) -> u64 {
    let pss = |p| kib_field(&format!("/proc/{p}/smaps_rollup"), "Pss:");
    pss(pid) + descendants(pid).into_iter().map(pss).sum::<u64>()
}

/// How many processes the tree of `pid` holds, `pid` included.
pub fn tree_size(pid: u32) -> usize {
    1 + descendants(pid).len()
}

/// A port that was free a moment ago, for the processes this benchmark starts. The tests' harness
/// (`tests/common`: port 0 and the address each process reports) is not built into this target, and the
/// third-party peers measured here (the FastMCP proxy, ContextForge under gunicorn) are told their port and
/// do not report one they chose. The race accepted: another process may take the port before the one told
/// to use it binds it; that process then fails to start, `wait_http`/`wait_port` report it, and the run is
/// repeated.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `GET path` answers 200; an error if the process exits or 60 s pass first.
pub async fn wait_http(proc: &mut Proc, addr: SocketAddr, path: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = proc.child.try_wait() {
            return Err(format!("{} exited ({status})", proc.name));
        }
        if let Ok(s) = TcpStream::connect(addr).await
            && let Ok((mut tx, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(s)).await
        {
            tokio::spawn(conn);
            let req = Request::get(path)
                .header("host", addr.to_string())
                .body(Full::new(Bytes::new()))
                .unwrap();
            if let Ok(r) = tx.send_request(req).await
                && r.status() == StatusCode::OK
            {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("{} never got ready", proc.name));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn backend(name: &str, addr: SocketAddr) -> String {
    format!(
        "
              - name: {name}
                type: mcp-http
                address: http://{addr}
                mcp: {{endpoint: /mcp, protocol: http}}"
    )
}

pub fn route(name: &str, policies: &str, backends: &str) -> String {
    format!(
        "
          - name: {name}
            match: {{path: {{prefix: /{name}}}}}
            policies: [{policies}]
            backends:{backends}"
    )
}

/// jwt-authn, mcp-authz (allowing `tools`), and rate limits far above anything the bench can send.
pub fn full_policy(jwks: SocketAddr, tools: &str) -> String {
    format!(
        "
              {{type: jwt-authn, jwt: {{issuer: '{ISSUER}', audiences: [agent-gateway], jwksUri: 'http://{jwks}/jwks'}}}},
              {{type: mcp-authz, mcp: {{rules: [{{principal: '{PRINCIPAL}', allowedTools: [{tools}], rateLimit: {{requestsPerMinute: 1000000000}}}}]}}}},
              {{type: rate-limit, rateLimit: {{descriptors: [{{key: tool-name, value: '*', rateLimit: {{requestsPerMinute: 1000000000}}}}]}}}}"
    )
}

pub fn gateway_yaml(port: u16, routes: &str) -> String {
    format!(
        "security: {{sessionKey: {SESSION_KEY}}}
binds:
  - port: {port}
    address: 127.0.0.1
    listeners:
      - name: bench
        routes:{routes}
"
    )
}

pub async fn start_gateway(name: &str, yaml: &str, dir: &Path) -> (Proc, SocketAddr) {
    let port: u16 = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("- port: "))
        .unwrap()
        .parse()
        .unwrap();
    let config = dir.join(format!("{name}.yaml"));
    std::fs::write(&config, yaml).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agent-gateway"));
    cmd.arg("run").arg("--config").arg(&config);
    let mut proc = Proc::spawn(name, &mut cmd, dir);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    if let Err(e) = wait_http(&mut proc, addr, "/readyz").await {
        panic!("{e}; see {}", dir.display());
    }
    (proc, addr)
}

pub async fn wait_port(proc: &mut Proc, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).await.is_err() {
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!("{} exited ({status})", proc.name);
        }
        assert!(Instant::now() < deadline, "{} never listened", proc.name);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
