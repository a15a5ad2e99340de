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
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// RSS of a process and all its descendants (gunicorn workers), in KiB.
pub fn tree_rss_kib(pid: u32) -> u64 {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    rss_kib_of(pid)
        + children
            .split_whitespace()
            .filter_map(|c| c.parse().ok())
            .map(tree_rss_kib)
            .sum::<u64>()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `GET url` answers 200 (or the process dies, or 60 s pass).
async fn wait_http(proc: &mut Proc, addr: SocketAddr, path: &str, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!("{} exited ({status}); see {}", proc.name, dir.display());
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
                return;
            }
        }
        assert!(Instant::now() < deadline, "{} never got ready", proc.name);
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
    wait_http(&mut proc, addr, "/readyz", dir).await;
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
