//! A hostile MCP upstream on raw sockets: it does the handshake and lists one tool `t` like a real
//! server, then answers `tools/call` (or `tools/list`, for the catalogue bomb) with the misbehaviour it
//! was started with. Raw sockets because no SDK server can be made to send garbage, drip, or lie on cue.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug)]
pub enum Misbehaviour {
    /// Bytes that are not HTTP, then the connection closes.
    Garbage,
    /// An SSE event that never ends, one byte every 5 ms.
    Drip,
    /// One SSE event of 64 MB, sent as fast as the gateway reads.
    HugeEvent,
    /// 10,000 replies, each with an id that is not the call's, then the end of the stream.
    WrongIds,
    /// The request is read, then the connection is reset.
    Reset,
    /// Valid progress notifications as fast as the gateway reads, and never the reply.
    EndlessStream,
    /// 100,000 `roots/list` requests to the caller, and never the reply.
    RequestFlood,
    /// `tools/list` answered with a 200 MB list of tools, at every discovery.
    CatalogueBomb,
}

/// A hostile upstream listening on its own thread and runtime, so its writing as fast as it can does not
/// slow the test's own probes; it stops (every connection dropped) when this is dropped. The thread runs
/// at the lowest CPU priority: a real attacker spends its own machine's CPU, not the gateway's, and on a
/// two-core test machine a writer spinning at full speed would otherwise take a core from the gateway.
pub struct Hostile {
    pub addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub fn start(misbehaviour: Misbehaviour) -> Hostile {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        lowest_priority();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            let serve = async {
                while let Ok((tcp, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        let _ = connection(tcp, misbehaviour).await;
                    });
                }
            };
            tokio::select! { _ = serve => {}, _ = stopped => {} }
        });
    });
    Hostile { addr, _stop: stop }
}

/// `renice 19` for the calling thread (Linux: a thread id is a process id to `setpriority`).
fn lowest_priority() {
    let myself = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    let tid = myself.file_name().unwrap().to_string_lossy().into_owned();
    let reniced = std::process::Command::new("renice")
        .args(["-n", "19", "-p", &tid])
        .stdout(std::process::Stdio::null())
        .status();
    assert!(
        reniced.is_ok_and(|s| s.success()),
        "renice the hostile upstream's thread"
    );
}

pub fn backend(addr: SocketAddr) -> String {
    format!("- name: hostile\n  type: mcp-http\n  address: http://{addr}\n  mcp: {{timeout: 2s}}\n")
}

/// One request per connection (every answer says `Connection: close`).
async fn connection(mut tcp: TcpStream, misbehaviour: Misbehaviour) -> std::io::Result<()> {
    let Some(request) = read_request(&mut tcp).await? else {
        return write_json(&mut tcp, 405, "").await;
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request["method"].as_str().unwrap_or_default();
    match (method, misbehaviour) {
        ("initialize", _) => {
            let result = json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                "serverInfo": {"name": "hostile", "version": "1"}});
            write_json(&mut tcp, 200, &reply(&id, result)).await
        }
        ("tools/list", Misbehaviour::CatalogueBomb) => catalogue_bomb(&mut tcp, &id).await,
        ("tools/list", _) => {
            let tools = json!({"tools": [{"name": "t", "inputSchema": {"type": "object"}}]});
            write_json(&mut tcp, 200, &reply(&id, tools)).await
        }
        ("tools/call", m) => misbehave(&mut tcp, &id, m).await,
        (m, _) if m.starts_with("notifications/") => write_json(&mut tcp, 202, "").await,
        _ => {
            let error =
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no"}});
            write_json(&mut tcp, 200, &error.to_string()).await
        }
    }
}

async fn misbehave(tcp: &mut TcpStream, id: &Value, m: Misbehaviour) -> std::io::Result<()> {
    match m {
        Misbehaviour::Garbage => {
            let noise: Vec<u8> = (0..65536u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect();
            tcp.write_all(&noise).await
        }
        Misbehaviour::Reset => {
            // Zero linger resets at once, so the drop does not block (the reason for the deprecation).
            #[allow(deprecated)]
            tcp.set_linger(Some(Duration::ZERO))?;
            Ok(())
        }
        Misbehaviour::Drip => {
            sse_head(tcp).await?;
            tcp.write_all(b"data: ").await?;
            loop {
                tcp.write_all(b"x").await?;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Misbehaviour::HugeEvent => {
            sse_head(tcp).await?;
            tcp.write_all(b"data: ").await?;
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..1024 {
                tcp.write_all(&chunk).await?;
            }
            tcp.write_all(b"\n\n").await
        }
        Misbehaviour::WrongIds => {
            sse_head(tcp).await?;
            for n in 0..10_000 {
                let stray = reply(&json!(format!("not-yours-{n}")), json!({"content": []}));
                tcp.write_all(format!("data: {stray}\n\n").as_bytes())
                    .await?;
            }
            Ok(())
        }
        Misbehaviour::EndlessStream => {
            sse_head(tcp).await?;
            let event = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": id, "progress": 1}});
            let batch = format!("data: {event}\n\n").repeat(100);
            loop {
                tcp.write_all(batch.as_bytes()).await?;
            }
        }
        Misbehaviour::RequestFlood => {
            sse_head(tcp).await?;
            for n in 0..100_000 {
                let ask =
                    json!({"jsonrpc": "2.0", "id": format!("ask-{n}"), "method": "roots/list"});
                tcp.write_all(format!("data: {ask}\n\n").as_bytes()).await?;
            }
            std::future::pending().await
        }
        Misbehaviour::CatalogueBomb => unreachable!("the bomb is in tools/list"),
    }
}

/// A `tools/list` result of about 200 MB, written as it goes (nothing here holds it), until the gateway
/// stops reading.
async fn catalogue_bomb(tcp: &mut TcpStream, id: &Value) -> std::io::Result<()> {
    let head = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"tools\":[");
    let tool = |n: usize| {
        format!(
            "{{\"name\":\"t{n}\",\"description\":\"{}\",\"inputSchema\":{{\"type\":\"object\"}}}},",
            "d".repeat(2000)
        )
    };
    let count = 100_000;
    let length = head.len() + (0..count).map(|n| tool(n).len()).sum::<usize>() - 1 + "]}}".len();
    tcp.write_all(
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n{head}")
            .as_bytes(),
    )
    .await?;
    for n in 0..count {
        let mut item = tool(n);
        if n == count - 1 {
            item.pop();
        }
        tcp.write_all(item.as_bytes()).await?;
    }
    tcp.write_all(b"]}}").await
}

fn reply(id: &Value, result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

async fn sse_head(tcp: &mut TcpStream) -> std::io::Result<()> {
    tcp.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
    )
    .await
}

async fn write_json(tcp: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(body.as_bytes()).await?;
    tcp.shutdown().await
}

/// The JSON body of a POST; `None` for any other request. Reads the head up to its blank line and then
/// `content-length` bytes (the gateway sends both).
async fn read_request(tcp: &mut TcpStream) -> std::io::Result<Option<Value>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = tcp.read(&mut chunk).await?;
        if n == 0 || buffer.len() > 65536 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    if !head.starts_with("post ") {
        return Ok(None);
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Ok(serde_json::from_slice(&buffer[head_end..head_end + length]).ok())
}
