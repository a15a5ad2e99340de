//! Connection hygiene (`limits`): a client that sends its request head slowly (slowloris) or its body
//! slowly is cut off on time, an idle keep-alive connection is closed, and a bind serves at most
//! `maxConnections` at once, the next one waiting until one closes. Raw sockets, since an HTTP client
//! library cannot be made this slow on purpose.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

async fn gateway(limits: &str) -> common::Gateway {
    let yaml = format!(
        "{}limits: {{{limits}}}\n",
        common::route_yaml("- name: sample\n  type: sample\n")
    );
    common::gateway(&yaml).await
}

fn request(addr: SocketAddr, body: &str) -> String {
    format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Reads until the peer closes; what arrived and when it closed.
async fn until_closed(tcp: &mut TcpStream, within: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(within, tcp.read_to_end(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("the gateway kept the connection open past {within:?}"))
        .ok();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        start.elapsed(),
    )
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off_however_it_trickles() {
    let gw = gateway("headerReadTimeout: 1s").await;
    let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
    let start = Instant::now();
    tcp.write_all(b"POST /mcp HTTP/1.1\r\n").await.unwrap();
    // A header byte every 100 ms: the deadline counts from the start, not from the last byte.
    let drip = async {
        for _ in 0..100 {
            if tcp.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), drip)
        .await
        .expect("the gateway stopped reading within 5 s");
    let (_, _) = until_closed(&mut tcp, Duration::from_secs(5)).await;
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "closed after {took:?} with a 1 s header timeout"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let gw = gateway("headerReadTimeout: 1s").await;
    let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
    tcp.write_all(request(gw.addr, PING).as_bytes())
        .await
        .unwrap();
    let (answer, took) = until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "the idle connection closed after {took:?}, expected about 1 s"
    );
}

#[tokio::test]
async fn a_slow_body_gets_408_on_time() {
    let gw = gateway("bodyReadTimeout: 1s").await;
    let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
    let head = request(gw.addr, PING);
    // The whole head and half the body, then nothing.
    let cut = head.len() - PING.len() / 2;
    tcp.write_all(&head.as_bytes()[..cut]).await.unwrap();
    let start = Instant::now();
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .expect("answered within 5 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("limits.bodyReadTimeout"), "{answer}");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_one_to_close() {
    let gw = gateway("maxConnections: 2, headerReadTimeout: 30s").await;
    let first = TcpStream::connect(gw.addr).await.unwrap();
    let _second = TcpStream::connect(gw.addr).await.unwrap();
    // Let the gateway take both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(gw.addr).await.unwrap();
    third
        .write_all(request(gw.addr, PING).as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut answer)).await;
    assert!(early.is_err(), "the third connection was served at the cap");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut answer))
        .await
        .expect("served once a connection closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
