//! The design card's packages that the gateway does not put on its request path, each measured beside what
//! it uses instead, on the same work, in one process (docs/architecture.md's package table quotes this):
//!
//! - `server`: one small JSON answer per request on a keep-alive loopback connection, served by an axum
//!   `Router` and by a hyper `service_fn` (the gateway's listener). The same client drives both.
//! - `client`: one small GET per request to a loopback hyper server, sent by `reqwest` and by the
//!   hyper-util pooled client (the gateway's outbound client).
//! - `limiter`: one rate-limit check of a key, by `governor`'s keyed limiter and by the gateway's local
//!   GCRA limiter (`core::ratelimit`).
//!
//!     cargo bench --bench packages [-- --only server|client|limiter] [--ops N]
//!
//! Prints nanoseconds per operation (the median of 5 rounds) and the ratio. Timed numbers on a shared VM
//! move by tens of percent; for a steadier comparison run one case under
//! `valgrind --tool=callgrind` and divide the instructions by the operations.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

const BODY: &str =
    r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Tampa, FL"}]}}"#;
const ROUNDS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let ops = args
        .iter()
        .position(|a| a == "--ops")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000usize);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
        if run("server") {
            let axum = median(|| server_round(Stack::Axum, ops)).await;
            let hyper = median(|| server_round(Stack::Hyper, ops)).await;
            report("server: axum Router", axum, "hyper service_fn", hyper);
        }
        if run("client") {
            let reqwest = median(|| client_round(Client::Reqwest, ops)).await;
            let hyper = median(|| client_round(Client::HyperUtil, ops)).await;
            report(
                "client: reqwest",
                reqwest,
                "hyper-util pooled client",
                hyper,
            );
        }
        if run("limiter") {
            let checks = ops * 20;
            let governor = median(|| governor_round(checks)).await;
            let ours = median(|| gcra_round(checks)).await;
            report(
                "limiter: governor keyed",
                governor,
                "core::ratelimit local GCRA",
                ours,
            );
        }
    });
}

async fn median<F, Fut>(mut round: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        times.push(round().await);
    }
    times.sort();
    times[ROUNDS / 2]
}

fn report(named: &str, named_time: Duration, ours: &str, ours_time: Duration) {
    println!(
        "{named:<30} {:>10.0} ns/op   {ours:<28} {:>10.0} ns/op   ratio {:.2}",
        named_time.as_nanos() as f64,
        ours_time.as_nanos() as f64,
        named_time.as_secs_f64() / ours_time.as_secs_f64()
    );
}

#[derive(Clone, Copy)]
enum Stack {
    Axum,
    Hyper,
}

/// Serves `BODY` with `stack` on a loopback port; returns the address.
async fn serve(stack: Stack) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        match stack {
            Stack::Axum => {
                let app = axum::Router::new().route(
                    "/mcp",
                    axum::routing::post(|| async {
                        ([(http::header::CONTENT_TYPE, "application/json")], BODY)
                    }),
                );
                axum::serve(listener, app).await.unwrap();
            }
            Stack::Hyper => loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let service = service_fn(|_request| async {
                        let mut response = http::Response::new(Full::new(Bytes::from(BODY)));
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, Infallible>(response)
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            },
        }
    });
    addr
}

/// `ops` POSTs over one keep-alive connection, sent with hyper's client connection.
async fn server_round(stack: Stack, ops: usize) -> Duration {
    let addr = serve(stack).await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let started = Instant::now();
    for _ in 0..ops {
        let request = http::Request::post(format!("http://{addr}/mcp"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), BODY.len());
    }
    started.elapsed() / ops as u32
}

#[derive(Clone, Copy)]
enum Client {
    Reqwest,
    HyperUtil,
}

async fn client_round(client: Client, ops: usize) -> Duration {
    let addr = serve(Stack::Hyper).await;
    let url = format!("http://{addr}/mcp");
    match client {
        Client::Reqwest => {
            let client = reqwest::Client::new();
            let started = Instant::now();
            for _ in 0..ops {
                let body = client
                    .post(&url)
                    .body("{}")
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                assert_eq!(body.len(), BODY.len());
            }
            started.elapsed() / ops as u32
        }
        Client::HyperUtil => {
            let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build_http::<Full<Bytes>>();
            let started = Instant::now();
            for _ in 0..ops {
                let request = http::Request::post(&url)
                    .body(Full::new(Bytes::from_static(b"{}")))
                    .unwrap();
                let response = client.request(request).await.unwrap();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body.len(), BODY.len());
            }
            started.elapsed() / ops as u32
        }
    }
}

/// Keys a route's limits look like: one per principal and tool.
fn key(i: usize) -> String {
    format!(
        "tools/d0/principal+tool:system:serviceaccount:ns:sa-{}|get_weather_data",
        i % 64
    )
}

async fn governor_round(checks: usize) -> Duration {
    let quota = governor::Quota::per_minute(NonZeroU32::new(u32::MAX).unwrap());
    let limiter = governor::RateLimiter::keyed(quota);
    let keys: Vec<String> = (0..checks).map(key).collect();
    let started = Instant::now();
    for k in &keys {
        assert!(limiter.check_key(k).is_ok());
    }
    started.elapsed() / checks as u32
}

async fn gcra_round(checks: usize) -> Duration {
    let limiter = agent_gateway::core::ratelimit::Limiter::local();
    let keys: Vec<String> = (0..checks).map(key).collect();
    let started = Instant::now();
    for k in &keys {
        let decision = limiter.check(k, u32::MAX).await;
        assert_eq!(decision, agent_gateway::core::ratelimit::Decision::Allowed);
    }
    started.elapsed() / checks as u32
}
