//! The arena every adversarial test runs in: the gateway binary (its own process, so `/proc` shows its
//! memory alone) with a `victim` route that the attack aims at and a `healthy` route next to it on the same
//! listener, served by a well-behaved upstream. [`Arena::withstand`] runs an attack while it probes the
//! healthy route and samples the gateway's RSS, then checks the three things every attack must leave
//! true: the attack got its answer in bounded time, memory stayed within a budget, and the neighbour kept
//! its latency.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{self, Child, indent, mcp::text_result, stub::Stub};

/// Attacks run one at a time: latency and memory measured while another test's attack runs would say
/// nothing about this one.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The limits every arena runs with: small, so attacks reach them in a second or two.
pub const LIMITS: &str = "limits: {headerReadTimeout: 1s, bodyReadTimeout: 1s, maxConnections: 128, maxBodyBytes: 1048576}\n";

/// The victim route's backend timeout.
pub const BACKEND_TIMEOUT: Duration = Duration::from_secs(2);

/// What an attack may cost.
pub struct Budget {
    /// The attack (its requests answered, its connections closed) is over within this.
    pub answered_within: Duration,
    /// The most the gateway's RSS may grow above its level before the attack.
    pub rss_growth_mib: u64,
    /// The slowest a probe of the healthy route may be during the attack.
    pub neighbour_max: Duration,
}

impl Budget {
    pub fn new(answered_within: Duration, rss_growth_mib: u64) -> Budget {
        Budget {
            answered_within,
            rss_growth_mib,
            neighbour_max: Duration::from_secs(1),
        }
    }
}

pub struct Arena {
    pub addr: SocketAddr,
    gateway: Child,
    _healthy: Stub,
    _turn: tokio::sync::MutexGuard<'static, ()>,
    client: reqwest::Client,
}

impl Arena {
    /// A gateway whose `victim` route (prefix `/victim`) has `victim` as its backends (YAML list items),
    /// with `extra` appended to the config (top-level sections).
    pub async fn start(victim: &str, extra: &str) -> Arena {
        let turn = ONE_AT_A_TIME.lock().await;
        let healthy = common::mcp::upstream(|r| match r.rpc_method() {
            "tools/list" => r.result(json!({"tools": [common::mcp::tool_def("ok")]})),
            "tools/call" => r.result(text_result("fine")),
            _ => r.not_found(),
        })
        .await;
        let yaml = format!(
            "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: arena\n        routes:\n          - name: victim\n            match: {{path: {{prefix: /victim}}}}\n            backends:\n{}          - name: healthy\n            match: {{path: {{prefix: /healthy}}}}\n            backends:\n{}{LIMITS}{extra}",
            indent(victim, 14),
            indent(&healthy.backend("healthy", None), 14),
        );
        let dir = std::env::temp_dir().join(format!("agw-arena-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join(format!("{}.yaml", healthy.addr.port()));
        std::fs::write(&config, yaml).unwrap();
        let (gateway, addr) = common::gateway_process(&config, &[], &[]).await;
        Arena {
            addr,
            gateway,
            _healthy: healthy,
            _turn: turn,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The gateway's resident memory, from `/proc/PID/status`.
    pub fn rss_kib(&self) -> u64 {
        let pid = self.gateway.0.id().expect("the gateway runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// One tools/call on the healthy route; its latency. A wrong or missing answer fails the test: the
    /// neighbour must keep working, not only keep its speed.
    pub async fn probe(&self) -> Duration {
        let start = Instant::now();
        let reply = self
            .client
            .post(self.url("/healthy"))
            .header("accept", "application/json, text/event-stream")
            .json(&common::mcp::call(1, "ok", json!({})))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("the healthy route answers");
        let status = reply.status();
        let body = reply.text().await.expect("the healthy route's body");
        assert!(
            status == 200 && body.contains("fine"),
            "the healthy route answered {status}: {body}"
        );
        start.elapsed()
    }

    /// Runs `attack` while probing the healthy route and sampling RSS, then asserts `budget` and that
    /// the neighbour's median latency stayed within 5× its median before the attack (plus 20 ms of
    /// scheduling noise). Returns what the attack returned.
    pub async fn withstand<T>(&self, attack: impl Future<Output = T>, budget: Budget) -> T {
        for _ in 0..5 {
            self.probe().await; // warm connections and caches
        }
        let mut before: Vec<Duration> = Vec::new();
        for _ in 0..30 {
            before.push(self.probe().await);
        }
        let rss_before = self.rss_kib();
        let mut rss_peak = rss_before;
        let mut during: Vec<Duration> = Vec::new();

        let start = Instant::now();
        let attack = tokio::time::timeout(budget.answered_within, attack);
        tokio::pin!(attack);
        let outcome = loop {
            tokio::select! {
                outcome = &mut attack => break outcome,
                latency = self.probe() => {
                    during.push(latency);
                    rss_peak = rss_peak.max(self.rss_kib());
                }
            }
        };
        let took = start.elapsed();
        rss_peak = rss_peak.max(self.rss_kib());
        let outcome = outcome.unwrap_or_else(|_| {
            panic!(
                "the attack was not over within {:?}",
                budget.answered_within
            )
        });

        let growth_mib = rss_peak.saturating_sub(rss_before) / 1024;
        let (median_before, median_during) = (median(&mut before), median(&mut during));
        let slowest = during.iter().max().copied().unwrap_or_default();
        eprintln!(
            "attack over in {took:?}; RSS {rss_before} KiB -> peak {rss_peak} KiB (+{growth_mib} MiB); \
             neighbour p50 {median_before:?} before, {median_during:?} during ({} probes, slowest {slowest:?})",
            during.len()
        );
        assert!(
            growth_mib <= budget.rss_growth_mib,
            "RSS grew {growth_mib} MiB (budget {} MiB)",
            budget.rss_growth_mib
        );
        assert!(
            during.len() >= 3 || took < Duration::from_millis(300),
            "the healthy route answered only {} probes in {took:?}",
            during.len()
        );
        assert!(
            median_during <= median_before * 5 + Duration::from_millis(20),
            "the healthy route slowed from {median_before:?} to {median_during:?}"
        );
        assert!(
            slowest <= budget.neighbour_max,
            "a probe of the healthy route took {slowest:?} (most {:?})",
            budget.neighbour_max
        );
        outcome
    }
}

/// Runs `round` again and again until `at_least` has passed (at least once); every round's output. For
/// attacks that would otherwise be over before the neighbour's latency could be measured.
pub async fn repeat_for<T, F: Future<Output = T>>(
    at_least: Duration,
    round: impl Fn() -> F,
) -> Vec<T> {
    let until = Instant::now() + at_least;
    let mut outputs = vec![round().await];
    while Instant::now() < until {
        outputs.push(round().await);
    }
    outputs
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}
