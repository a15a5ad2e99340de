//! A scripted HTTP peer, for what no real peer does on demand: fail (an HTTP status, a connection dropped
//! after the request was read, no answer at all), send fields no SDK would send, or show every request it
//! received with its headers. Real peers come first (`rmcp_upstream`, which can also be slow on purpose,
//! and `tests/peers/`); a test that uses a stub says in a comment why no real peer would do.
//!
//! [`Stub::http`] hands every request to the test's script. [`Stub::mcp`] is an MCP upstream over
//! Streamable HTTP with JSON answers: it answers the handshake of its era itself (session era: `initialize`,
//! and `server/discover` refused so the gateway falls back; 2026-07-28: `server/discover`, and no
//! `subscriptions/listen` stream), notifications with 202, DELETE with 200 and GET with 405, and hands the
//! other requests to the script. Both record every request, in order, before answering it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::serve::Hangup;

/// One request the stub received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// The path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body as JSON; `Null` when it is not JSON.
    pub json: Value,
    /// 1 for the first request with this JSON-RPC method, 2 for the second, … (requests that are not
    /// JSON-RPC count by HTTP method and path).
    pub attempt: usize,
}

impl Request {
    /// The JSON-RPC method, or "" when the body has none.
    pub fn rpc_method(&self) -> &str {
        self.json["method"].as_str().unwrap_or_default()
    }

    pub fn params(&self) -> &Value {
        &self.json["params"]
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The JSON-RPC result answering this request.
    pub fn result(&self, result: Value) -> Answer {
        Answer::json(&json!({"jsonrpc": "2.0", "id": self.json["id"], "result": result}))
    }

    /// The JSON-RPC error answering this request (HTTP 200).
    pub fn error(&self, code: i64, message: &str) -> Answer {
        Answer::json(
            &json!({"jsonrpc": "2.0", "id": self.json["id"], "error": {"code": code, "message": message}}),
        )
    }

    /// -32601 "Method not found".
    pub fn not_found(&self) -> Answer {
        self.error(-32601, "Method not found")
    }

    fn key(&self) -> String {
        match self.json["method"].as_str() {
            Some(m) => m.to_string(),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// What the stub does with one request.
#[derive(Clone, Debug)]
pub enum Answer {
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// Closes the connection without answering (the request was read whole).
    Hangup,
    /// Never answers.
    Never,
    /// Sends the request on to this base URL (method, path, body, end-to-end headers) and relays the
    /// status, content type and body of the answer.
    Forward(String),
}

impl Answer {
    /// 200 with a JSON body.
    pub fn json(value: &Value) -> Answer {
        Answer::status(200, "application/json", value.to_string())
    }

    /// `status` with a body of `content_type`.
    pub fn status(status: u16, content_type: &str, body: impl Into<Bytes>) -> Answer {
        Answer::Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// `status` with no body and no content type.
    pub fn empty(status: u16) -> Answer {
        Answer::Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header to a reply.
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        if let Answer::Reply { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// The protocol era of a [`Stub::mcp`] upstream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Era {
    /// `initialize` and a session id (2025-11-25).
    Session,
    /// 2026-07-28: `server/discover`, no session.
    Stateless,
}

type Script = Arc<dyn Fn(&Request) -> Answer + Send + Sync>;

pub struct Builder {
    mcp: Option<Era>,
    keep_alive: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
    capabilities: Value,
}

impl Builder {
    /// Without keep-alive every answer says `Connection: close`: each request of the gateway then comes on
    /// a fresh connection, so no pooled connection hides a closed port.
    pub fn keep_alive(mut self, on: bool) -> Builder {
        self.keep_alive = on;
        self
    }

    /// Serves https with this config.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Builder {
        self.tls = Some(config);
        self
    }

    /// The capabilities an MCP stub announces (default: tools).
    pub fn capabilities(mut self, capabilities: Value) -> Builder {
        self.capabilities = capabilities;
        self
    }

    /// Starts on an ephemeral loopback port.
    pub async fn start(self, script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the stub binds");
        self.start_on(listener, script)
    }

    /// Starts on a listener the caller bound.
    pub fn start_on(
        self,
        listener: TcpListener,
        script: impl Fn(&Request) -> Answer + Send + Sync + 'static,
    ) -> Stub {
        let script: Script = match self.mcp {
            None => Arc::new(script),
            Some(era) => mcp_script(era, self.capabilities.clone(), script),
        };
        let mut stub = Stub {
            addr: listener.local_addr().unwrap(),
            requests: Arc::default(),
            script,
            keep_alive: self.keep_alive,
            tls: self.tls,
            stop: CancellationToken::new(),
            accept: None,
        };
        stub.serve(listener);
        stub
    }
}

/// A running stub; it stops listening when dropped.
pub struct Stub {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    script: Script,
    keep_alive: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: CancellationToken,
    accept: Option<JoinHandle<()>>,
}

impl Stub {
    /// A stub whose script sees every request.
    pub fn http() -> Builder {
        Builder {
            mcp: None,
            keep_alive: true,
            tls: None,
            capabilities: Value::Null,
        }
    }

    /// An MCP upstream of `era` whose script sees every request but the handshake, notifications, GET and
    /// DELETE.
    pub fn mcp(era: Era) -> Builder {
        Builder {
            mcp: Some(era),
            capabilities: json!({"tools": {}}),
            ..Stub::http()
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests with this JSON-RPC method.
    pub fn rpc(&self, method: &str) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.rpc_method() == method)
            .cloned()
            .collect()
    }

    /// How many requests with this JSON-RPC method arrived.
    pub fn count(&self, method: &str) -> usize {
        self.rpc(method).len()
    }

    /// An `mcp-http` backend entry for this stub (YAML list item); `mcp` is its `mcp:` flow mapping.
    pub fn backend(&self, name: &str, mcp: Option<&str>) -> String {
        let mut yaml = format!(
            "- name: {name}\n  type: mcp-http\n  address: http://{}\n",
            self.addr
        );
        if let Some(mcp) = mcp {
            yaml.push_str(&format!("  mcp: {mcp}\n"));
        }
        yaml
    }

    /// Stops listening: once this returns, a connection to `addr` is refused by the kernel.
    pub async fn close(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.accept.take() {
            let _ = task.await;
        }
        assert!(
            TcpStream::connect(self.addr).await.is_err(),
            "{} still accepts connections",
            self.addr
        );
    }

    /// Listens again on the same address, with the same script and record.
    pub async fn reopen(&mut self) {
        // tokio sets SO_REUSEADDR, so the port is free again at once unless another process took it.
        let listener = TcpListener::bind(self.addr)
            .await
            .unwrap_or_else(|e| panic!("cannot listen on {} again: {e}", self.addr));
        self.stop = CancellationToken::new();
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let (requests, script) = (self.requests.clone(), self.script.clone());
        let service = service_fn(move |request| answer(request, requests.clone(), script.clone()));
        self.accept = Some(super::serve::serve(
            listener,
            self.tls.clone(),
            self.keep_alive,
            service,
            self.stop.clone(),
        ));
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn answer(
    request: hyper::Request<Incoming>,
    requests: Arc<Mutex<Vec<Request>>>,
    script: Script,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut request = Request {
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.to_string()),
        headers: parts.headers,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body,
        attempt: 0,
    };
    let answer = {
        let mut requests = requests.lock().unwrap();
        let key = request.key();
        request.attempt = 1 + requests.iter().filter(|r| r.key() == key).count();
        requests.push(request.clone());
        script(&request)
    };
    let hangup = parts.extensions.get::<Hangup>().cloned();
    Ok(perform(answer, &request, hangup).await)
}

async fn perform(
    mut answer: Answer,
    request: &Request,
    hangup: Option<Hangup>,
) -> hyper::Response<Full<Bytes>> {
    loop {
        match answer {
            Answer::Reply {
                status,
                headers,
                body,
            } => {
                let mut response = hyper::Response::builder().status(status);
                for (name, value) in headers {
                    response = response.header(name, value);
                }
                return response.body(Full::new(body)).unwrap();
            }
            Answer::Hangup => {
                hangup.as_ref().expect("served by common::serve").now();
                std::future::pending::<()>().await;
            }
            Answer::Never => std::future::pending::<()>().await,
            Answer::Forward(base) => answer = forward(&base, request).await,
        }
    }
}

async fn forward(base: &str, request: &Request) -> Answer {
    let mut out = reqwest::Client::new()
        .request(request.method.clone(), format!("{base}{}", request.path))
        .body(request.body.clone());
    for (name, value) in &request.headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive"
        ) {
            out = out.header(name, value);
        }
    }
    let response = out
        .send()
        .await
        .unwrap_or_else(|e| panic!("forwarding to {base}: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.bytes().await.unwrap_or_default();
    match content_type {
        Some(ct) => Answer::status(status, &ct, body),
        None => Answer::Reply {
            status,
            headers: Vec::new(),
            body,
        },
    }
}

/// Wraps a script with the handshake of `era`.
fn mcp_script(
    era: Era,
    capabilities: Value,
    script: impl Fn(&Request) -> Answer + Send + Sync + 'static,
) -> Script {
    Arc::new(move |request: &Request| {
        match request.method {
            Method::POST => {}
            Method::DELETE => return Answer::empty(200),
            // No GET stream: the gateway relies on its refresh interval.
            _ => return Answer::empty(405),
        }
        if request.json.get("id").is_none() {
            return Answer::empty(202);
        }
        let server_info = json!({"name": "stub", "version": "1"});
        let answer = match (era, request.rpc_method()) {
            (Era::Session, "initialize") => request.result(json!({
                "protocolVersion": "2025-11-25",
                "capabilities": capabilities,
                "serverInfo": server_info,
            })),
            (Era::Session, "server/discover") => request.not_found(),
            (Era::Stateless, "server/discover") => request.result(json!({
                "supportedVersions": ["2026-07-28"],
                "capabilities": capabilities,
                "serverInfo": server_info,
            })),
            (Era::Stateless, "subscriptions/listen") => Answer::empty(405),
            _ => script(request),
        };
        match era {
            Era::Session => answer.header("mcp-session-id", "stub-session"),
            Era::Stateless => answer,
        }
    })
}
