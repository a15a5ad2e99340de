//! Load benchmark: the same MCP traffic sent direct to an upstream and through the gateway, in one run.
//!
//! `cargo bench --bench gateway -- [--quick] [--no-peers]` prints a table and writes
//! `target/bench/results.json`. The upstream and the load client live in this process; every gateway is
//! the release binary run as its own process (so its RSS and its threads are its own). Peers (FastMCP's
//! proxy, ContextForge) are measured when `benches/install-peers.sh` has installed them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

const SESSION_VERSION: &str = "2025-11-25";
const STATELESS: &str = "2026-07-28";
const ISSUER: &str = "https://bench.issuer";
const PRINCIPAL: &str = "system:serviceaccount:bench:agent";
/// A fixed session key, shared by replicas A and B (test value, protects nothing).
const SESSION_KEY: &str = "YmVuY2gtc2Vzc2lvbi1rZXktMzItYnl0ZXMtbG9uZyE=";
const SCHEMA: &str = r#"{"type":"object","properties":{"city":{"type":"string","maxLength":100}},"required":["city"],"additionalProperties":false}"#;

// ---------------------------------------------------------------------------------------------------------
// The upstream: answers initialize, server/discover, tools/list and tools/call at once, with JSON bodies.

struct Upstream {
    stateless: bool,
    /// The `result` of tools/list, serialized once.
    tools: String,
    jwks: Bytes,
    sessions: AtomicU64,
}

fn tool_list(names: impl Iterator<Item = String>) -> String {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let tools: Vec<Value> = names
        .map(|n| json!({"name": n, "description": "Answers at once.", "inputSchema": schema}))
        .collect();
    json!({ "tools": tools }).to_string()
}

async fn serve_upstream(up: Arc<Upstream>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let up = up.clone();
            let service = service_fn(move |req| answer(up.clone(), req));
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

async fn answer(
    up: Arc<Upstream>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: StatusCode, body: Bytes| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(body))
            .unwrap()
    };
    if req.method() == http::Method::GET {
        return Ok(reply(StatusCode::OK, up.jwks.clone()));
    }
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(id) = msg.get("id").map(Value::to_string) else {
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new()));
    };
    let result = match msg["method"].as_str().unwrap_or("") {
        "initialize" => {
            let n = up.sessions.fetch_add(1, Ordering::Relaxed);
            let result = json!({"protocolVersion": SESSION_VERSION, "capabilities": {"tools": {}},
                                "serverInfo": {"name": "bench-upstream", "version": "1"}});
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#);
            let mut response = reply(StatusCode::OK, body.into());
            let sid = HeaderValue::from_str(&format!("upstream-{n}")).unwrap();
            response.headers_mut().insert("mcp-session-id", sid);
            return Ok(response);
        }
        "server/discover" if up.stateless => json!({"supportedVersions": [STATELESS],
            "capabilities": {"tools": {}}, "serverInfo": {"name": "bench-upstream", "version": "1"}})
        .to_string(),
        "tools/list" => up.tools.clone(),
        "tools/call" => r#"{"content":[{"type":"text","text":"ok"}],"isError":false}"#.into(),
        "ping" => "{}".into(),
        _ => {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":"Method not found"}}}}"#
            );
            return Ok(reply(StatusCode::OK, body.into()));
        }
    };
    let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#);
    Ok(reply(StatusCode::OK, body.into()))
}

// ---------------------------------------------------------------------------------------------------------
// The load client: one keep-alive HTTP/1.1 connection per worker.

/// What a worker sends: one MCP request to `path`, in one era, with extra headers (a bearer token).
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    path: String,
    era: Era,
    method: &'static str,
    params: Value,
    headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Era {
    /// Initialize once per worker, then send the session id with every request.
    Session,
    /// 2026-07-28: `_meta` and the Mcp-* headers on every request, no session.
    Stateless,
    /// Every request is an `initialize` (session creation cost).
    Initialize,
}

struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    target: Target,
    session: Option<HeaderValue>,
    next_id: u64,
}

impl Conn {
    async fn open(target: &Target) -> Result<Conn, String> {
        let stream = TcpStream::connect(target.addr)
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut c = Conn {
            sender,
            target: target.clone(),
            session: None,
            next_id: 1,
        };
        if target.era == Era::Session {
            c.initialize().await?;
        }
        Ok(c)
    }

    /// Opens a session on this connection's target and keeps its id for later requests.
    async fn initialize(&mut self) -> Result<(), String> {
        self.session = None;
        let params = json!({"protocolVersion": SESSION_VERSION, "capabilities": {},
                            "clientInfo": {"name": "bench", "version": "1"}});
        let (headers, body) = self.post("initialize", Some(params)).await?;
        self.session = Some(headers.get("mcp-session-id").ok_or(body)?.clone());
        self.post("notifications/initialized", None).await?;
        Ok(())
    }

    /// One request (or notification, without params), its whole reply read; an error reply is an Err.
    async fn post(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<(http::HeaderMap, String), String> {
        let t = &self.target;
        let mut b = Request::post(&t.path)
            .header("host", t.addr.to_string())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (k, v) in &t.headers {
            b = b.header(k, v);
        }
        let message = match params {
            Some(mut params) => {
                if t.era == Era::Stateless {
                    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": STATELESS,
                                             "io.modelcontextprotocol/clientCapabilities": {}});
                    b = b.header("mcp-protocol-version", STATELESS);
                    b = b.header("mcp-method", method);
                    if let Some(name) = params["name"].as_str() {
                        b = b.header("mcp-name", name);
                    }
                }
                self.next_id += 1;
                json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
            }
            None => json!({"jsonrpc": "2.0", "method": method}),
        };
        if let Some(session) = &self.session {
            b = b.header("mcp-session-id", session);
            b = b.header("mcp-protocol-version", SESSION_VERSION);
        }
        let request = b.body(Full::new(message.to_string().into())).unwrap();
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        let ok = parts.status.is_success()
            && (params_was_notification(&message) || text.contains("\"result\""));
        if ok {
            Ok((parts.headers, text))
        } else {
            Err(format!("HTTP {}: {}", parts.status, truncate(&text)))
        }
    }

    /// The request this target measures.
    async fn call(&mut self) -> Result<String, String> {
        let t = &self.target;
        let (method, params) = (t.method, t.params.clone());
        if t.era == Era::Initialize {
            let r = self.post("initialize", Some(params)).await?;
            return Ok(r.1);
        }
        Ok(self.post(method, Some(params)).await?.1)
    }
}

fn params_was_notification(message: &Value) -> bool {
    message.get("id").is_none()
}

fn truncate(s: &str) -> &str {
    &s[..s.len().min(300)]
}

#[derive(Default, Clone)]
struct Stats {
    ok: u64,
    errors: u64,
    seconds: f64,
    latencies_ns: Vec<u64>,
    first_error: Option<String>,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    /// The q-quantile in microseconds.
    fn pct(&self, q: f64) -> f64 {
        if self.latencies_ns.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_ns.len() - 1) as f64 * q).round() as usize;
        self.latencies_ns[i] as f64 / 1000.0
    }
}

/// `concurrency` workers send back to back; what completes in the measured window counts.
async fn load(target: &Target, concurrency: usize, timing: Timing) -> Stats {
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + timing.warmup;
    let end = measure_from + timing.duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut s = Stats::default();
            let mut conn = match Conn::open(&target).await {
                Ok(c) => c,
                Err(e) => {
                    s.errors += 1;
                    s.first_error = Some(e);
                    return s;
                }
            };
            tokio::time::sleep_until(start.into()).await;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    return s;
                }
                let r = conn.call().await;
                let t1 = Instant::now();
                if t0 < measure_from || t1 > end {
                    continue;
                }
                match r {
                    Ok(_) => {
                        s.ok += 1;
                        s.latencies_ns.push((t1 - t0).as_nanos() as u64);
                    }
                    Err(e) => {
                        s.errors += 1;
                        s.first_error.get_or_insert(e);
                        // A refused session or a closed connection: start over on a fresh one.
                        if let Ok(c) = Conn::open(&target).await {
                            conn = c;
                        }
                    }
                }
            }
        }));
    }
    let mut all = Stats {
        seconds: timing.duration.as_secs_f64(),
        ..Stats::default()
    };
    for w in workers {
        let s = w.await.unwrap();
        all.ok += s.ok;
        all.errors += s.errors;
        all.latencies_ns.extend(s.latencies_ns);
        if all.first_error.is_none() {
            all.first_error = s.first_error;
        }
    }
    all.latencies_ns.sort_unstable();
    all
}

#[derive(Clone, Copy)]
struct Timing {
    warmup: Duration,
    duration: Duration,
}

// ---------------------------------------------------------------------------------------------------------
// Processes: gateways (the release binary) and peers.

struct Proc {
    child: Child,
    name: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn spawn(name: &str, cmd: &mut Command, dir: &Path) -> Proc {
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
    fn rss_kib(&self) -> u64 {
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
fn tree_rss_kib(pid: u32) -> u64 {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    rss_kib_of(pid)
        + children
            .split_whitespace()
            .filter_map(|c| c.parse().ok())
            .map(tree_rss_kib)
            .sum::<u64>()
}

fn free_port() -> u16 {
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

fn backend(name: &str, addr: SocketAddr) -> String {
    format!(
        "
              - name: {name}
                type: mcp-http
                address: http://{addr}
                mcp: {{endpoint: /mcp, protocol: http}}"
    )
}

fn route(name: &str, policies: &str, backends: &str) -> String {
    format!(
        "
          - name: {name}
            match: {{path: {{prefix: /{name}}}}}
            policies: [{policies}]
            backends:{backends}"
    )
}

/// jwt-authn, mcp-authz (allowing `tools`), and rate limits far above anything the bench can send.
fn full_policy(jwks: SocketAddr, tools: &str) -> String {
    format!(
        "
              {{type: jwt-authn, jwt: {{issuer: '{ISSUER}', audiences: [agent-gateway], jwksUri: 'http://{jwks}/jwks'}}}},
              {{type: mcp-authz, mcp: {{rules: [{{principal: '{PRINCIPAL}', allowedTools: [{tools}], rateLimit: {{requestsPerMinute: 1000000000}}}}]}}}},
              {{type: rate-limit, rateLimit: {{descriptors: [{{key: tool-name, value: '*', rateLimit: {{requestsPerMinute: 1000000000}}}}]}}}}"
    )
}

fn gateway_yaml(port: u16, routes: &str) -> String {
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

async fn start_gateway(name: &str, yaml: &str, dir: &Path) -> (Proc, SocketAddr) {
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

// ---------------------------------------------------------------------------------------------------------
// Tokens: RS256, signed with the identity tests' committed key (tests/fixtures/identity/rsa-a.der).

fn key() -> EncodingKey {
    let der = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/identity/rsa-a.der"),
    )
    .unwrap();
    EncodingKey::from_rsa_der(&der)
}

fn jwks() -> Bytes {
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&key(), Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = json!("bench");
    json!({ "keys": [jwk] }).to_string().into()
}

fn bearer() -> (HeaderName, HeaderValue) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": ISSUER, "aud": ["agent-gateway"], "sub": PRINCIPAL,
                        "iat": now, "nbf": now, "exp": now + 3600});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("bench".into());
    let token = jsonwebtoken::encode(&header, &claims, &key()).unwrap();
    (
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    )
}

// ---------------------------------------------------------------------------------------------------------
// Results.

struct Row {
    scenario: String,
    via: String,
    concurrency: usize,
    stats: Stats,
    /// The direct row this one is compared with.
    baseline: Option<(f64, f64, f64, f64)>,
}

struct Report {
    rows: Vec<Row>,
    notes: Vec<(String, Value)>,
}

impl Report {
    fn add(&mut self, scenario: &str, via: &str, c: usize, stats: Stats, direct: Option<&Stats>) {
        let baseline = direct.map(|d| (d.rps(), d.pct(0.5), d.pct(0.9), d.pct(0.99)));
        let row = Row {
            scenario: scenario.into(),
            via: via.into(),
            concurrency: c,
            stats,
            baseline,
        };
        print_row(&row);
        self.rows.push(row);
    }

    fn note(&mut self, key: &str, value: Value) {
        println!("  {key}: {value}");
        self.notes.push((key.into(), value));
    }

    fn write(&self, path: &Path, args: &Value) {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let s = &r.stats;
                let mut v = json!({"scenario": r.scenario, "via": r.via, "concurrency": r.concurrency,
                    "ok": s.ok, "errors": s.errors, "seconds": s.seconds, "rps": s.rps(),
                    "p50_us": s.pct(0.5), "p90_us": s.pct(0.9), "p99_us": s.pct(0.99),
                    "first_error": s.first_error});
                if let Some((rps, p50, p90, p99)) = r.baseline {
                    v["rps_ratio_vs_direct"] = json!(s.rps() / rps);
                    v["added_p50_us"] = json!(s.pct(0.5) - p50);
                    v["added_p90_us"] = json!(s.pct(0.9) - p90);
                    v["added_p99_us"] = json!(s.pct(0.99) - p99);
                }
                v
            })
            .collect();
        let notes: serde_json::Map<String, Value> = self.notes.iter().cloned().collect();
        let out = json!({"machine": machine(), "args": args, "rows": rows, "notes": notes});
        std::fs::write(path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
    }
}

fn print_header() {
    println!(
        "{:<34} {:<22} {:>3} {:>9} {:>5} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9}",
        "scenario",
        "via",
        "c",
        "req/s",
        "err",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "×direct",
        "+p50 µs",
        "+p99 µs"
    );
}

fn print_row(r: &Row) {
    let s = &r.stats;
    let (ratio, add50, add99) = match r.baseline {
        Some((rps, p50, _, p99)) => (
            format!("{:.2}", s.rps() / rps),
            format!("{:.0}", s.pct(0.5) - p50),
            format!("{:.0}", s.pct(0.99) - p99),
        ),
        None => ("".into(), "".into(), "".into()),
    };
    println!(
        "{:<34} {:<22} {:>3} {:>9.0} {:>5} {:>9.0} {:>9.0} {:>9.0} {:>7} {:>9} {:>9}",
        r.scenario,
        r.via,
        r.concurrency,
        s.rps(),
        s.errors,
        s.pct(0.5),
        s.pct(0.9),
        s.pct(0.99),
        ratio,
        add50,
        add99
    );
    if let Some(e) = &s.first_error {
        println!("    first error: {e}");
    }
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({"nproc": std::thread::available_parallelism().map(|n| n.get()).ok(),
           "cpu": model, "loadavg_at_start": load.trim()})
}

// ---------------------------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let peers = !args.iter().any(|a| a == "--no-peers");
    let timing = if quick {
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
    // Two workers for the upstream and the client together, as many as the machine has cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let report = runtime.block_on(run(timing, quick, peers, &out));
    let args = json!({"quick": quick, "peers": peers, "warmup_s": timing.warmup.as_secs_f64(),
                      "duration_s": timing.duration.as_secs_f64()});
    report.write(&out.join("results.json"), &args);
    println!("wrote {}", out.join("results.json").display());
}

fn upstream(stateless: bool, tools: String) -> Arc<Upstream> {
    Arc::new(Upstream {
        stateless,
        tools,
        jwks: jwks(),
        sessions: AtomicU64::new(0),
    })
}

async fn run(timing: Timing, quick: bool, peers: bool, dir: &Path) -> Report {
    let mut report = Report {
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let echo = || tool_list(std::iter::once("echo".to_string()));
    let session_up = serve_upstream(upstream(false, echo())).await;
    let stateless_up = serve_upstream(upstream(true, echo())).await;

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
    let (gw_a, addr_a) = start_gateway("gateway-a", &gateway_yaml(port_a, &routes), dir).await;
    let (_gw_b, addr_b) = start_gateway("gateway-b", &gateway_yaml(port_b, &routes), dir).await;

    let call = json!({"name": "echo", "arguments": {"city": "Tampa, FL"}});
    let target = |addr, path: &str, era, headers: Vec<_>| Target {
        addr,
        path: path.into(),
        era,
        method: "tools/call",
        params: call.clone(),
        headers,
    };
    print_header();

    // (1) and (2): tools/call pass-through, plain and with the full policy set.
    let mut direct_rows = Vec::new();
    for (era, era_name, plain_path, full_path, up) in [
        (
            Era::Session,
            "session",
            "/plain-session",
            "/full-session",
            session_up,
        ),
        (
            Era::Stateless,
            "2026-07-28",
            "/plain-stateless",
            "/full-stateless",
            stateless_up,
        ),
    ] {
        for c in [1, 32] {
            let direct = load(&target(up, "/mcp", era, vec![]), c, timing).await;
            let scenario = format!("tools/call {era_name}");
            let gw_plain = load(&target(addr_a, plain_path, era, vec![]), c, timing).await;
            let gw_full = load(&target(addr_a, full_path, era, vec![bearer()]), c, timing).await;
            report.add(&scenario, "direct", c, direct.clone(), None);
            report.add(&scenario, "gateway", c, gw_plain, Some(&direct));
            report.add(&scenario, "gateway+policy", c, gw_full, Some(&direct));
            direct_rows.push((era, c, direct));
        }
    }
    let direct_session = |c| {
        direct_rows
            .iter()
            .find(|(e, cc, _)| *e == Era::Session && *cc == c)
            .map(|r| r.2.clone())
    };

    // (3) tools/list: 50 upstream listeners × 200 tools behind one route, filtered per identity.
    {
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
        let policies = full_policy(stateless_up, allowed);
        let yaml = gateway_yaml(free_port(), &route("catalogue", &policies, &backends));
        let (gw_cat, addr_cat) = start_gateway("gateway-catalogue", &yaml, dir).await;
        let list = |addr, path: &str, headers| Target {
            method: "tools/list",
            params: json!({}),
            ..target(addr, path, Era::Stateless, headers)
        };
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
            if quick { 50 } else { 300 },
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

    // (4) Session creation, and a session's first call on the replica that did not create it.
    for c in [1, 32] {
        let init = |addr, path: &str| Target {
            method: "initialize",
            params: json!({"protocolVersion": SESSION_VERSION, "capabilities": {},
                           "clientInfo": {"name": "bench", "version": "1"}}),
            ..target(addr, path, Era::Initialize, vec![])
        };
        let direct = load(&init(session_up, "/mcp"), c, timing).await;
        let via = load(&init(addr_a, "/plain-session"), c, timing).await;
        report.add(
            "initialize (session era)",
            "direct",
            c,
            direct.clone(),
            None,
        );
        report.add("initialize (session era)", "gateway", c, via, Some(&direct));
    }
    let n = if quick { 300 } else { 2000 };
    let [first_a, first_b, warm_b] = resume(
        &target(addr_a, "/plain-session", Era::Session, vec![]),
        addr_b,
        n,
    )
    .await;
    let base = direct_session(1);
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

    // (5) Memory: a fresh gateway, idle, then with 10,000 sessions each initialized and used once.
    {
        let yaml = gateway_yaml(
            free_port(),
            &route("plain-session", "", &backend("up", session_up)),
        );
        let (gw_mem, addr_mem) = start_gateway("gateway-memory", &yaml, dir).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        report.note("gateway_idle_rss_kib", json!(gw_mem.rss_kib()));
        let t = target(addr_mem, "/plain-session", Era::Session, vec![]);
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
        report.note("gateway_a_rss_after_load_kib", json!(gw_a.rss_kib()));
    }

    if peers {
        run_peers(
            &mut report,
            &target,
            session_up,
            direct_session,
            timing,
            dir,
        )
        .await;
    }
    report
}

/// Sessions opened and used once (initialize, notifications/initialized, one tools/call), 32 at a time.
async fn open_sessions(t: &Target, n: usize) -> usize {
    let mut tasks = Vec::new();
    for w in 0..32 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&t).await.unwrap();
            let mut ok = 0;
            for _ in (w..n).step_by(32) {
                if conn.initialize().await.is_ok() && conn.call().await.is_ok() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    ok
}

/// Per session: initialize on A, first call on A, first call on B (same key), second call on B.
async fn resume(a: &Target, b: SocketAddr, n: usize) -> [Stats; 3] {
    let mut on_a = Conn::open(a).await.unwrap();
    let mut on_b = Conn::open(&Target {
        addr: b,
        ..a.clone()
    })
    .await
    .unwrap();
    let mut stats: [Stats; 3] = Default::default();
    let started = Instant::now();
    for _ in 0..n {
        on_a.initialize().await.unwrap();
        on_b.session = on_a.session.clone();
        for (i, stat) in stats.iter_mut().enumerate() {
            let conn = if i == 0 { &mut on_a } else { &mut on_b };
            let t0 = Instant::now();
            match conn.call().await {
                Ok(_) => {
                    stat.ok += 1;
                    stat.latencies_ns.push(t0.elapsed().as_nanos() as u64);
                }
                Err(e) => {
                    stat.errors += 1;
                    stat.first_error.get_or_insert(e);
                }
            }
        }
    }
    for s in &mut stats {
        s.seconds = started.elapsed().as_secs_f64();
        s.latencies_ns.sort_unstable();
    }
    stats
}

async fn count_visible(t: &Target) -> usize {
    let mut conn = Conn::open(t).await.unwrap();
    let mut cursor = Value::Null;
    let mut n = 0;
    loop {
        let params = if cursor.is_null() {
            json!({})
        } else {
            json!({ "cursor": cursor })
        };
        let (_, body) = conn.post("tools/list", Some(params)).await.unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        n += v["result"]["tools"].as_array().map_or(0, Vec::len);
        cursor = v["result"]["nextCursor"].clone();
        if cursor.is_null() {
            return n;
        }
    }
}

/// Lists every page `n` times, one walk after another; each walk is one latency sample.
async fn walk_all_pages(t: &Target, n: usize) -> Stats {
    let mut stats = Stats::default();
    let started = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        count_visible(t).await;
        stats.ok += 1;
        stats.latencies_ns.push(t0.elapsed().as_nanos() as u64);
    }
    stats.seconds = started.elapsed().as_secs_f64();
    stats.latencies_ns.sort_unstable();
    stats
}

// ---------------------------------------------------------------------------------------------------------
// Peers, installed by benches/install-peers.sh; each fronts the session-era upstream.

async fn run_peers(
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

async fn wait_port(proc: &mut Proc, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).await.is_err() {
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!("{} exited ({status})", proc.name);
        }
        assert!(Instant::now() < deadline, "{} never listened", proc.name);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
