//! A real Prometheus (Debian package `prometheus`) scrapes `serve_metrics` every second while the test
//! reports traffic through the metrics API. Then every dashboard panel query and every alert expression
//! runs through Prometheus' query API and must return data. The alert rules must also pass
//! `promtool check rules` and load in the server.
//!
//! The traffic is simulated through `telemetry::metrics`, not sent through the gateway, so this test pins the
//! metric names, labels and queries, not where the request path reports them. A missing `prometheus` or
//! `promtool` fails the test: CI must install the package.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agent_gateway::core::error::{Error, TargetKind};
use agent_gateway::core::telemetry::metrics::{self, DenialKind, ErrorType, LimitKind, Outcome};
use agent_gateway::core::telemetry::serve_metrics;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The full path of `name` on PATH, or a failure that says how to get it.
fn binary(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` not found on PATH: install it with `apt-get install -y prometheus`")
        })
}

/// Kills the Prometheus this test started, and only it, however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Prometheus on a port of its choosing (`127.0.0.1:0`) and returns it and its base URL, read from its
/// `msg="Listening on" address=...` log line once it accepts connections.
fn start_prometheus(dir: &Path, target: SocketAddr) -> (Server, String) {
    let rules = Path::new(ROOT).join("deploy/prometheus/alerts.yaml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules}\n\
         scrape_configs:\n  - job_name: agent-gateway\n    metrics_path: /metrics\n    \
         static_configs:\n      - targets: ['{target}']\n",
        rules = rules.display(),
    );
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).expect("write prometheus.yml");
    let mut child = Command::new(binary("prometheus"))
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--log.level=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start prometheus");
    // Its log, echoed with the test's output, until it says where it listens; then drained in the background.
    let (found, listening) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            eprintln!("prometheus: {line}");
            if line.contains("msg=\"Listening on\"")
                && let Some(address) = line.split("address=").nth(1)
            {
                let address = address.split_whitespace().next().unwrap_or_default();
                let _ = found.send(address.to_string());
            }
        }
    });
    let server = Server(child);
    let address = listening
        .recv_timeout(Duration::from_secs(30))
        .expect("prometheus listens within 30s");
    (server, format!("http://{address}"))
}

/// Percent-encodes a query parameter (reqwest's `query` feature is not enabled in this crate).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn get_json(client: &reqwest::Client, url: &str) -> Option<Value> {
    let response = client.get(url).send().await.ok()?;
    response.json().await.ok()
}

/// The instant-query result of `expr` (empty while Prometheus has no data for it).
async fn query(client: &reqwest::Client, base: &str, expr: &str) -> Vec<Value> {
    let url = format!("{base}/api/v1/query?query={}", encode(expr));
    let body = get_json(client, &url).await.unwrap_or(Value::Null);
    assert_ne!(body["status"], "error", "query {expr} failed: {body}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn dashboard_queries() -> Vec<(String, String)> {
    let path = Path::new(ROOT).join("deploy/grafana/agent-gateway-dashboard.json");
    let text = std::fs::read_to_string(path).expect("read the dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let title = panel["title"].as_str().unwrap_or_default();
            let expr = target["expr"].as_str().expect("expr");
            out.push((format!("panel {title:?}"), expr.to_string()));
        }
    }
    out
}

fn alert_queries() -> Vec<(String, String)> {
    let path = Path::new(ROOT).join("deploy/prometheus/alerts.yaml");
    let text = std::fs::read_to_string(path).expect("read the alert rules");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("the rules are YAML");
    let mut out = Vec::new();
    for group in docs[0]["groups"].as_vec().expect("groups") {
        for rule in group["rules"].as_vec().expect("rules") {
            let name = rule["alert"].as_str().expect("alert name");
            let expr = rule["expr"].as_str().expect("expr");
            out.push((format!("alert {name}"), expr.to_string()));
        }
    }
    out
}

/// One tick of simulated traffic that makes every panel and every alert condition true: errors faster
/// than 0.1/s, p95 latency above 10 s on one route, one upstream down whose discovery keeps failing.
fn traffic_tick() {
    let (mcp, a2a) = ("agent-to-mcp-tools", "agent-to-agent");
    let weather = Some("system:serviceaccount:agent-core-infra:ekspoc-v6-kagent-agent-sa");
    let planner = Some("system:serviceaccount:agent-core-infra:planning-agent-sa");
    let fast = Duration::from_millis(40);
    let slow = Duration::from_secs(12);
    for _ in 0..20 {
        metrics::request(mcp, weather, "tools/call", 200, fast);
        metrics::tool_call(
            mcp,
            "agent-core-mcp-backend",
            "get_weather_data",
            Outcome::Ok,
            fast,
        );
        metrics::error(mcp, ErrorType::UpstreamError);
    }
    metrics::tool_call(
        mcp,
        "agent-core-mcp-backend",
        "execute_code",
        Outcome::Timeout,
        slow,
    );
    // A refused call: the policy that refused it, then the error it was answered with.
    let refusals = [
        (
            "get_weather_data",
            Error::Schema {
                tool: "get_weather_data".into(),
                violations: vec![],
            },
        ),
        (
            "execute_code",
            Error::RateLimited {
                per_minute: 10,
                retry_after: Duration::from_secs(6),
                per: LimitKind::Tool,
            },
        ),
        (
            "store_user_preferences",
            Error::Denied {
                kind: TargetKind::Tool,
                name: "store_user_preferences".into(),
            },
        ),
    ];
    for (tool, error) in refusals {
        error.report(mcp, None);
        metrics::tool_rejected(mcp, tool, true, error.metric());
    }
    metrics::request(a2a, planner, "message/send", 200, slow);
    metrics::a2a_call(planner, "weather-agent-v6", Outcome::Ok, slow);
    metrics::a2a_call(weather, "planning-agent", Outcome::Denied, Duration::ZERO);
    metrics::authz_denied(a2a, DenialKind::Agent);
    metrics::rate_limited(mcp, LimitKind::Principal);
    let healthy = metrics::upstream(mcp, "agent-core-mcp-backend");
    healthy.discovery(true);
    healthy.retry();
    healthy.timeout();
    metrics::upstream(mcp, "broken-backend").discovery(false);
    metrics::catalogue_tools(mcp, 6);
    metrics::config_reload(true);
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let rules = Path::new(ROOT).join("deploy/prometheus/alerts.yaml");
    let out = Command::new(binary("promtool"))
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool check rules failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_alert_queries_return_data_from_a_real_prometheus() {
    let stop = CancellationToken::new();
    let target = serve_metrics(
        "127.0.0.1:0".parse().unwrap(),
        "/metrics".into(),
        stop.clone(),
    )
    .await
    .expect("metrics listener");
    // Sessions and streams stay open for the whole test, like long-lived agent connections.
    let _session = metrics::session_opened("agent-to-mcp-tools");
    let _stream = metrics::stream_opened("agent-to-agent");
    traffic_tick();
    let traffic = tokio::spawn({
        let stop = stop.clone();
        async move {
            while !stop.is_cancelled() {
                traffic_tick();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let (_prometheus, base) = start_prometheus(dir.path(), target);
    let client = reqwest::Client::new();

    let mut pending: Vec<(String, String)> = dashboard_queries();
    pending.extend(alert_queries());
    assert!(
        pending.len() >= 4 + 4,
        "the guide's panels and alerts are all there"
    );
    let deadline = Instant::now() + Duration::from_secs(25);
    while !pending.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut still = Vec::new();
        for (what, expr) in pending {
            if query(&client, &base, &expr).await.is_empty() {
                still.push((what, expr));
            }
        }
        pending = still;
    }
    assert!(pending.is_empty(), "no data after 25 s for: {pending:#?}");

    // The server loaded the same rule file the queries came from.
    let rules = get_json(&client, &format!("{base}/api/v1/rules"))
        .await
        .expect("rules API");
    let loaded = rules["data"]["groups"][0]["rules"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(loaded, alert_queries().len(), "rules loaded: {rules}");

    stop.cancel();
    traffic.await.expect("traffic task");
}

#[tokio::test]
async fn the_listener_serves_only_its_path() {
    let stop = CancellationToken::new();
    let addr = serve_metrics(
        "127.0.0.1:0".parse().unwrap(),
        "/metrics".into(),
        stop.clone(),
    )
    .await
    .expect("metrics listener");
    metrics::config_reload(true);
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let content_type = ok.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = ok.text().await.unwrap();
    assert!(
        text.contains("agent_gateway_build_info{version=\""),
        "{text}"
    );
    assert!(text.contains("agent_gateway_config_reloads_total{result=\"success\"}"));
    let other = client
        .get(format!("http://{addr}/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    assert_eq!(other.text().await.unwrap(), "not found\n");
    let post = client
        .post(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET");
    assert_eq!(post.text().await.unwrap(), "use GET\n");
    stop.cancel();
}
