//! The fast upstream MCP server, in this process: it answers `initialize`, `server/discover` (only in its
//! 2026-07-28 instance), `tools/list` (serialized once), `tools/call` and `ping` at once, with JSON bodies,
//! and serves the bench's JWKS on any GET.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::tokens::jwks;
use crate::{SESSION_VERSION, STATELESS};

const SCHEMA: &str = r#"{"type":"object","properties":{"city":{"type":"string","maxLength":100}},"required":["city"],"additionalProperties":false}"#;

pub struct Upstream {
    stateless: bool,
    /// The `result` of tools/list, serialized once.
    tools: String,
    jwks: Bytes,
    sessions: AtomicU64,
}

pub fn tool_list(names: impl Iterator<Item = String>) -> String {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let tools: Vec<Value> = names
        .map(|n| json!({"name": n, "description": "Answers at once.", "inputSchema": schema}))
        .collect();
    json!({ "tools": tools }).to_string()
}

pub async fn serve_upstream(up: Arc<Upstream>) -> SocketAddr {
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
    // A peer that gives up on a request mid-body (its own client went away) ends only that request.
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return Ok(reply(StatusCode::BAD_REQUEST, Bytes::new()));
    };
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

pub fn upstream(stateless: bool, tools: String) -> Arc<Upstream> {
    Arc::new(Upstream {
        stateless,
        tools,
        jwks: jwks(),
        sessions: AtomicU64::new(0),
    })
}
