//! The load client: one keep-alive HTTP/1.1 connection per worker, sending back to back, every latency
//! kept (exact percentiles); and the fixed-count patterns of the session and catalogue sections.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::{SESSION_VERSION, STATELESS};

/// What a worker sends: one MCP request to `path`, in one era, with extra headers (a bearer token).
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub era: Era,
    pub method: &'static str,
    pub params: Value,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Era {
    /// Initialize once per worker, then send the session id (if the server issued one) and the
    /// protocol version with every request.
    Session,
    /// 2026-07-28: `_meta` and the Mcp-* headers on every request, no session.
    Stateless,
    /// Every request is an `initialize` (session creation cost).
    Initialize,
}

pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    target: Target,
    session: Option<HeaderValue>,
    /// Whether `initialize` succeeded on this connection (then requests carry MCP-Protocol-Version).
    initialized: bool,
    next_id: u64,
}

impl Conn {
    pub async fn open(target: &Target) -> Result<Conn, String> {
        let mut c = Conn {
            sender: connect(target.addr).await?,
            target: target.clone(),
            session: None,
            initialized: false,
            next_id: 1,
        };
        if target.era == Era::Session {
            c.initialize().await?;
        }
        Ok(c)
    }

    /// Opens a session on this connection's target and keeps its id for later requests. A server may
    /// issue no id (Streamable HTTP allows it; ContextForge runs so by default): then later requests
    /// carry only the protocol version.
    async fn initialize(&mut self) -> Result<(), String> {
        self.session = None;
        self.initialized = false;
        let params = json!({"protocolVersion": SESSION_VERSION, "capabilities": {},
                            "clientInfo": {"name": "bench", "version": "1"}});
        let (headers, _) = self.post("initialize", Some(params)).await?;
        self.session = headers.get("mcp-session-id").cloned();
        self.initialized = true;
        self.post("notifications/initialized", None).await?;
        Ok(())
    }

    /// One request (or notification, without params), its whole reply read; an error reply is an Err.
    pub async fn post(
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
        }
        if self.initialized {
            b = b.header("mcp-protocol-version", SESSION_VERSION);
        }
        let request = b.body(Full::new(message.to_string().into())).unwrap();
        // A server may close a keep-alive connection that sat idle (gunicorn's uvicorn workers do after
        // 2 s, e.g. while the other connections of a load point are still being opened): reconnect, as
        // an HTTP client's pool would. The MCP session, if any, lives on in its header.
        if self.sender.is_closed() {
            self.sender = connect(self.target.addr).await?;
        }
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

/// One keep-alive HTTP/1.1 connection, TCP_NODELAY.
async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

fn params_was_notification(message: &Value) -> bool {
    message.get("id").is_none()
}

pub fn truncate(s: &str) -> &str {
    &s[..s.len().min(300)]
}

#[derive(Default, Clone)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub seconds: f64,
    pub latencies_ns: Vec<u64>,
    pub first_error: Option<String>,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    /// The q-quantile in microseconds.
    pub fn pct(&self, q: f64) -> f64 {
        if self.latencies_ns.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_ns.len() - 1) as f64 * q).round() as usize;
        self.latencies_ns[i] as f64 / 1000.0
    }
}

/// `concurrency` workers send back to back; what completes in the measured window counts.
pub async fn load(target: &Target, concurrency: usize, timing: Timing) -> Stats {
    // Every connection is opened (in the session era: initialized) before the clock starts, so a slow
    // handshake does not eat into the warm-up or the measured window.
    let opening: Vec<_> = (0..concurrency)
        .map(|_| {
            let target = target.clone();
            tokio::spawn(async move {
                let open = tokio::time::timeout(Duration::from_secs(60), Conn::open(&target));
                open.await
                    .unwrap_or_else(|_| Err("no connection and session within 60 s".into()))
            })
        })
        .collect();
    let mut conns = Vec::new();
    for o in opening {
        conns.push(o.await.unwrap());
    }
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + timing.warmup;
    let end = measure_from + timing.duration;
    let mut workers = Vec::new();
    for conn in conns {
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut s = Stats::default();
            let mut conn = match conn {
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
                // A request still open when the window closes would not count: stop waiting then, so a
                // stuck peer cannot hold the run.
                let Ok(r) = tokio::time::timeout_at(end.into(), conn.call()).await else {
                    return s;
                };
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
                        if let Ok(Ok(c)) =
                            tokio::time::timeout_at(end.into(), Conn::open(&target)).await
                        {
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
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
}

/// Sessions opened and used once (initialize, notifications/initialized, one tools/call), 32 at a time.
pub async fn open_sessions(t: &Target, n: usize) -> usize {
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
pub async fn resume(a: &Target, b: SocketAddr, n: usize) -> [Stats; 3] {
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

pub async fn count_visible(t: &Target) -> usize {
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
pub async fn walk_all_pages(t: &Target, n: usize) -> Stats {
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
