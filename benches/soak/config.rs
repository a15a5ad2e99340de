//! The gateway's config file, rewritten every minute with a harmless change (the routes' request timeout
//! alternates between 5 s and 6 s), and the gateway's own count of the reloads it made.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The ports of the gateway's listener, its metrics, and the three upstreams.
#[derive(Clone, Copy)]
pub struct Ports {
    pub gateway: u16,
    pub metrics: u16,
    pub py: u16,
    pub everything: u16,
    pub agent: u16,
}

/// One route per upstream: `/py` (Python `mcp` SDK, both eras), `/everything` (TypeScript SDK, session
/// era) and `/agents` (the A2A agent, served as `/agents/weather`).
fn yaml(p: &Ports, timeout_s: u32) -> String {
    let timeout = format!("policies: [{{type: timeout, timeout: {{request: {timeout_s}s}}}}]");
    let mcp = |name: &str, port: u16| {
        format!(
            "
          - name: {name}
            match: {{path: {{prefix: /{name}}}}}
            {timeout}
            backends:
              - {{name: {name}, type: mcp-http, address: 'http://127.0.0.1:{port}', mcp: {{endpoint: /mcp}}}}"
        )
    };
    format!(
        "# Written by benches/soak; rewritten every minute (the timeouts alternate) to make the gateway reload.
binds:
  - port: {gateway}
    address: 127.0.0.1
    listeners:
      - name: soak
        routes:{py}{everything}
          - name: agents
            match: {{path: {{prefix: /agents}}}}
            {timeout}
            backends:
              - {{name: weather, type: a2a, address: 'http://127.0.0.1:{agent}', agentName: weather}}
observability:
  prometheus: {{port: {metrics}}}
",
        gateway = p.gateway,
        py = mcp("py", p.py),
        everything = mcp("everything", p.everything),
        agent = p.agent,
        metrics = p.metrics,
    )
}

pub struct Config {
    pub path: PathBuf,
    ports: Ports,
    writes: u32,
}

impl Config {
    pub fn create(path: PathBuf, ports: Ports) -> Config {
        let config = Config {
            path,
            ports,
            writes: 0,
        };
        config.write();
        config
    }

    /// 5 s on even writes, 6 s on odd ones: far below the client's deadline, above any healthy call.
    fn write(&self) {
        let text = yaml(&self.ports, 5 + self.writes % 2);
        // Written whole and renamed over the file, so the watcher never reads half of it.
        let tmp = self.path.with_extension("yaml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }

    /// Writes the next variant.
    pub fn rewrite(&mut self) {
        self.writes += 1;
        self.write();
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.ports.metrics).into()
    }
}

/// `agent_gateway_config_reloads_total` by result: (success, failure); None if /metrics did not answer.
pub async fn reloads(http: &reqwest::Client, metrics: SocketAddr) -> Option<(u64, u64)> {
    let text = http
        .get(format!("http://{metrics}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let count = |result: &str| {
        let name = format!("agent_gateway_config_reloads_total{{result=\"{result}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&name))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    Some((count("success"), count("failure")))
}

/// Waits up to 10 s (the watcher looks every 2 s) for the success count to pass `before`.
pub async fn await_reload(http: &reqwest::Client, metrics: SocketAddr, before: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if reloads(http, metrics)
            .await
            .is_some_and(|(ok, _)| ok > before)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}
