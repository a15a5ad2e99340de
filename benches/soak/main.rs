//! Soak test: mixed load through the gateway for a long time while its upstreams are killed, stopped and
//! restarted and its config is rewritten every minute. Not part of CI's run.
//!
//! ```text
//! cargo bench --bench soak -- [--minutes N] [--concurrency C]      (defaults: 30 and 6)
//! scripts/soak.sh [MINUTES]                                        (installs the peers first)
//! ```
//!
//! Processes, each its own: the release gateway (`target/soak/gateway.yaml`, log `gateway.log`), and the
//! real upstreams of `tests/peers` (installed by `scripts/install-test-tools.sh`): `py_upstream.py`
//! (Python `mcp` SDK, both eras), `server-everything` (TypeScript SDK, session era) and `a2a_agent.py`
//! (a2a-sdk 1.x, A2A 1.0). C workers send a fixed rotation of session-era and 2026-07-28 `tools/call echo`
//! to both MCP upstreams and A2A `SendMessage` to the agent, each with a unique text, and check every
//! answer (`check`); `chaos` kills, stops and restarts upstreams and rewrites the config on a fixed
//! schedule; the gateway's RSS is read every 10 s.
//!
//! The run passes when no answer was wrong, none was missing, RSS plateaued (`report`), every kind of
//! request was answered ok again after the last chaos event (the gateway recovered), every config
//! rewrite was reloaded and the gateway still runs.
//! Results: the tables on stdout, `target/soak/results.json`; the exit status is 1 when the run failed.
//!
//! Modules: `procs` (processes, ports, RSS), `config` (the config file and the reload count), `load`
//! (workers), `check` (what an answer was), `tally` (counts), `chaos` (the schedule), `report`.

mod chaos;
mod check;
mod config;
mod load;
mod procs;
mod report;
mod tally;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use config::{Config, Ports};
use load::Worker;
use procs::{Launch, Proc, rss_kib};
use report::Row;
use tally::Tally;

/// How often the gateway's RSS is read.
const RSS_EVERY: Duration = Duration::from_secs(10);

fn usage(problem: &str) -> ! {
    eprintln!(
        "soak: {problem}\nusage: cargo bench --bench soak -- [--minutes N] [--concurrency C]"
    );
    std::process::exit(2)
}

/// `--name VALUE` or `--name=VALUE`, parsed; `default` when absent.
fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    let prefix = format!("{name}=");
    let value = args.iter().enumerate().find_map(|(i, a)| {
        if a == name {
            Some(args.get(i + 1).cloned().unwrap_or_default())
        } else {
            a.strip_prefix(&prefix).map(str::to_string)
        }
    });
    match value {
        None => default,
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| usage(&format!("{name} {v:?} is not a number"))),
    }
}

fn main() {
    // Unknown arguments are ignored: `cargo bench` passes `--bench`.
    let args: Vec<String> = std::env::args().collect();
    let minutes: f64 = flag(&args, "--minutes", 30.0);
    let concurrency: usize = flag(&args, "--concurrency", 6);
    if !(minutes > 0.0 && concurrency > 0) {
        usage("--minutes and --concurrency must be positive");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let passed = runtime
        .block_on(run(minutes, concurrency))
        .unwrap_or_else(|e| {
            eprintln!("soak: {e}");
            false
        });
    std::process::exit(if passed { 0 } else { 1 });
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A program from `.tools/`, or an error that says how to install it.
fn tool(relative: &str) -> Result<PathBuf, String> {
    let path = root().join(".tools").join(relative);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: run scripts/install-test-tools.sh",
            path.display()
        ))
    }
}

/// How each upstream is started on its port (the same port on every restart).
fn upstream_launches(ports: &Ports) -> Result<[(&'static str, u16, Launch); 3], String> {
    let python = tool("venv/bin/python")?;
    let node = tool("node/node_modules/node/bin/node")?;
    let everything = tool("node/node_modules/.bin/mcp-server-everything")?;
    let a2a_python = tool("venv-a2a/bin/python")?;
    let peers = root().join("tests/peers");
    let (py_port, everything_port, agent_port) = (ports.py, ports.everything, ports.agent);
    let py_dir = peers.clone();
    let py: Launch = Box::new(move || {
        let mut c = Command::new(&python);
        c.current_dir(&py_dir)
            .args(["py_upstream.py", "--port", &py_port.to_string()]);
        c
    });
    let ev: Launch = Box::new(move || {
        let mut c = Command::new(&node);
        c.arg(&everything)
            .arg("streamableHttp")
            .env("PORT", everything_port.to_string());
        c
    });
    let agent: Launch = Box::new(move || {
        let mut c = Command::new(&a2a_python);
        c.arg(peers.join("a2a_agent.py")).args([
            "--name",
            "weather",
            "--port",
            &agent_port.to_string(),
        ]);
        c
    });
    Ok([
        ("py", py_port, py),
        ("everything", everything_port, ev),
        ("agent", agent_port, agent),
    ])
}

/// One line of a command's output, or "unknown".
fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The commit, and how many files under src/ differ from it (the binary is built from the work tree).
fn commit() -> String {
    let head = output("git", &["rev-parse", "--short", "HEAD"]);
    let changed = output("git", &["status", "--porcelain", "--", "src"]);
    match changed.lines().filter(|l| *l != "unknown").count() {
        0 => head,
        n => format!("{head} + {n} uncommitted file(s) in src/"),
    }
}

/// Waits until GET /readyz answers 200 (60 s at most).
async fn ready(http: &reqwest::Client, gateway: &Proc) -> Result<(), String> {
    let url = format!("http://{}/readyz", gateway.addr());
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if http.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the gateway never got ready".into())
}

async fn run(minutes: f64, concurrency: usize) -> Result<bool, String> {
    let dir = root().join("target/soak");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // Read now: the work tree may move on during a long run.
    let commit = commit();
    let [gateway_port, metrics, py, everything, agent] = procs::ports(5)[..] else {
        unreachable!()
    };
    let ports = Ports {
        gateway: gateway_port,
        metrics,
        py,
        everything,
        agent,
    };
    let mut started = Vec::new();
    for (name, port, launch) in upstream_launches(&ports)? {
        started.push(Proc::start(name, port, &dir, launch).await?);
    }
    let mut upstreams: [Proc; 3] = started.try_into().map_err(|_| "three upstreams")?;
    let mut config = Config::create(dir.join("gateway.yaml"), ports);
    let config_path = config.path.clone();
    let launch: Launch = Box::new(move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_agent-gateway"));
        c.arg("run").arg("--config").arg(&config_path);
        c
    });
    let mut gateway = Proc::start("gateway", ports.gateway, &dir, launch).await?;
    let http = reqwest::Client::builder()
        // Below the gateway's 30 s keep-alive timeout: a connection is never reused as the gateway closes it.
        .pool_idle_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    ready(&http, &gateway).await?;
    let base = format!("http://{}", gateway.addr());
    let gateway_pid = gateway.pid().unwrap();
    preflight(&http, &base).await?;

    println!(
        "soak: {minutes} min, concurrency {concurrency}; gateway pid {gateway_pid} on {base}; logs in {}",
        dir.display()
    );
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(minutes * 60.0);
    let tally = Arc::new(Tally::new(start));
    let ids = Arc::new(AtomicU64::new(1));
    let workers: Vec<_> = (0..concurrency)
        .map(|n| {
            let worker = Worker {
                n,
                http: http.clone(),
                base: base.clone(),
                tally: tally.clone(),
                ids: ids.clone(),
                end,
            };
            tokio::spawn(worker.run())
        })
        .collect();
    let rss = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn(sample_rss(gateway_pid, start, end, rss.clone()));
    let rows = Arc::new(Mutex::new(Vec::new()));
    let progress = tokio::spawn(report_minutes(
        tally.clone(),
        start,
        end,
        rss.clone(),
        rows.clone(),
    ));

    let chaos = chaos::run(&mut upstreams, &mut config, start, end).await;
    for w in workers {
        w.await.map_err(|e| e.to_string())?;
    }
    sampler.abort();
    progress.abort();
    let elapsed = start.elapsed().as_secs_f64();
    rss.lock().unwrap().push((elapsed, rss_kib(gateway_pid)));
    let mut rows = std::mem::take(&mut *rows.lock().unwrap());
    rows.push(row(&tally, elapsed, &rss));
    report::progress(rows.last().unwrap());

    let log = std::fs::read_to_string(dir.join("gateway.log")).unwrap_or_default();
    let reload_metrics = config::reloads(&http, config.metrics_addr()).await;
    let rss = rss.lock().unwrap().clone();
    let outcome = report::Outcome {
        minutes,
        concurrency,
        date: output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        commit,
        counts: tally.snapshot(),
        kinds: load::labels(),
        rows,
        rss,
        chaos: &chaos,
        reload_metrics,
        reload_log_lines: log.matches("\"message\":\"config reloaded\"").count(),
        gateway_alive: gateway.alive(),
    };
    Ok(outcome.finish(&dir))
}

/// A few seconds of the load before the run: every kind of request must be answered ok, or the run
/// would measure a broken setup.
async fn preflight(http: &reqwest::Client, base: &str) -> Result<(), String> {
    let tally = Arc::new(Tally::new(Instant::now()));
    let worker = Worker {
        n: 0,
        http: http.clone(),
        base: base.to_string(),
        tally: tally.clone(),
        ids: Arc::new(AtomicU64::new(1_000_000_000)),
        end: Instant::now() + Duration::from_secs(3),
    };
    worker.run().await;
    let counts = tally.snapshot();
    for kind in load::labels() {
        if counts.by_kind.get(kind).is_none_or(|c| c.ok == 0) {
            let samples = [counts.wrong_samples, counts.unanswered_samples].concat();
            let errors = &counts.error_kinds;
            return Err(format!(
                "preflight: no ok answer to {kind}; errors {errors:?}; {samples:?}"
            ));
        }
    }
    Ok(())
}

async fn sample_rss(pid: u32, start: Instant, end: Instant, rss: Arc<Mutex<Vec<(f64, u64)>>>) {
    let mut next = start;
    while next <= end {
        tokio::time::sleep_until(next.into()).await;
        let kib = rss_kib(pid);
        rss.lock()
            .unwrap()
            .push((start.elapsed().as_secs_f64(), kib));
        next += RSS_EVERY;
    }
}

fn row(tally: &Tally, seconds: f64, rss: &Mutex<Vec<(f64, u64)>>) -> Row {
    Row {
        minute: (seconds / 6.0).round() / 10.0,
        totals: tally.snapshot().total(),
        rss_kib: rss.lock().unwrap().last().map_or(0, |s| s.1),
    }
}

/// At the end of every whole minute: the progress line, kept as a row of the timeline.
async fn report_minutes(
    tally: Arc<Tally>,
    start: Instant,
    end: Instant,
    rss: Arc<Mutex<Vec<(f64, u64)>>>,
    rows: Arc<Mutex<Vec<Row>>>,
) {
    for minute in 1.. {
        let at = start + Duration::from_secs(60 * minute);
        if at >= end {
            return;
        }
        tokio::time::sleep_until(at.into()).await;
        let row = row(&tally, start.elapsed().as_secs_f64(), &rss);
        report::progress(&row);
        rows.lock().unwrap().push(row);
    }
}
