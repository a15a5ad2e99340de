//! `retry`, `timeout` and `security.mtls`, end to end through the real gateway (in-process).
//!
//! The retry tests use a stub 2026-07-28 (stateless) upstream (`common::stub`) that records every message
//! it receives and answers `tools/call` attempt by attempt: a JSON-RPC result, a bare HTTP error status, a
//! connection dropped after the request was read, or nothing at all. It never keeps a connection alive
//! (every response carries `Connection: close`), so every attempt of the gateway is a fresh TCP
//! connection: no pooled connection can hide a refused port, and hyper's own replay of requests on stale
//! pooled connections cannot add attempts the gateway did not make.
//!
//! The mTLS test writes a CA, a server certificate and client certificates minted with rcgen to a
//! temporary directory and talks to the gateway with a raw tokio_rustls + hyper client.

mod common;

use common::pki::{Ca, Leaf, new_ca, server_leaf, sign};
use common::stub::{Answer, Era, Stub};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, SanType};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------------------------------
// A recording upstream whose tools/call fails on demand
// ---------------------------------------------------------------------------------------------------------

/// What the upstream does with one `tools/call` attempt.
#[derive(Clone, Debug)]
enum Act {
    /// Answers with this text as the tool result.
    Reply(&'static str),
    /// Answers with a bare HTTP status and a non-JSON body.
    Status(u16),
    /// Reads the whole request, then closes the connection without answering.
    Drop,
    /// Reads the request and never answers.
    Never,
}

/// The upstream, a stub (`common::stub`): no real upstream fails on cue. `behaviour` decides the `n`-th
/// (1-based) `tools/call` attempt.
async fn upstream(behaviour: impl Fn(usize) -> Act + Send + Sync + 'static) -> Stub {
    Stub::mcp(Era::Stateless)
        .keep_alive(false)
        .start(move |r| match r.rpc_method() {
            "tools/list" => {
                r.result(json!({"tools": [{"name": "flaky", "inputSchema": {"type": "object"}}]}))
            }
            "tools/call" => match behaviour(r.attempt) {
                Act::Reply(text) => r.result(json!({
                    "content": [{"type": "text", "text": text}],
                    "isError": false,
                })),
                Act::Status(status) => Answer::status(status, "text/plain", "overloaded"),
                Act::Drop => Answer::Hangup,
                Act::Never => Answer::Never,
            },
            _ => r.not_found(),
        })
        .await
}

/// The `tools/call` attempts that reached the upstream. Final once the gateway has answered: the stub
/// records a request before it answers (or drops, or holds) it, and the gateway answers only after its
/// last attempt.
fn attempts(upstream: &Stub) -> usize {
    upstream.count("tools/call")
}

/// The gateway's YAML for one MCP route at `/mcp` with `policies` (YAML list items) and `upstream` as its
/// only backend.
fn gateway_yaml(upstream: &Stub, policies: &str) -> String {
    format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: test\n        routes:\n          - name: tools\n            match: {{path: {{prefix: /mcp}}}}\n            policies:\n{}            backends:\n              - name: flaky\n                type: mcp-http\n                address: http://{}\n",
        common::indent(policies, 14),
        upstream.addr
    )
}

fn retry_policy(body: &str) -> String {
    format!("- type: retry\n  retry: {body}\n")
}

/// Calls the upstream's `flaky` tool through the gateway; the reply body and how long it took.
async fn call_flaky(gw: &common::Gateway, id: &str) -> (Value, Duration) {
    let started = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(30),
        common::post_json(
            &gw.url("/mcp"),
            &[],
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "flaky", "arguments": {}}}),
        ),
    )
    .await
    .expect("the gateway answers within 30s");
    let elapsed = started.elapsed();
    let body: Value = serde_json::from_str(&reply.text).unwrap_or_else(|e| {
        panic!(
            "not a JSON-RPC reply ({e}): HTTP {} {}",
            reply.status, reply.text
        )
    });
    assert_eq!(body["id"], id, "HTTP {} {}", reply.status, reply.text);
    (body, elapsed)
}

fn assert_result(body: &Value, text: &str) {
    assert_eq!(
        body["result"]["content"][0]["text"], text,
        "expected the upstream's result, the gateway answered {body}"
    );
    assert!(body.get("error").is_none(), "{body}");
}

/// Asserts a -32002 "upstream failed" whose `data.reason` starts with `reason`.
fn assert_upstream_error(body: &Value, reason: &str) {
    assert_eq!(
        body["error"]["code"], -32002,
        "expected -32002, the gateway answered {body}"
    );
    let given = body["error"]["data"]["reason"].as_str().unwrap_or_default();
    assert!(
        given.starts_with(reason),
        "expected a reason starting with {reason:?}, the gateway answered {body}"
    );
    assert!(body.get("result").is_none(), "{body}");
}

// ---------------------------------------------------------------------------------------------------------
// 1. 5xx
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_503_is_retried_when_retry_on_names_5xx() {
    let upstream = upstream(|n| match n {
        1 | 2 => Act::Status(503),
        _ => Act::Reply("third time lucky"),
    })
    .await;
    let gw = common::gateway(&gateway_yaml(
        &upstream,
        &retry_policy(
            "{attempts: 3, retryOn: [5xx], backoff: {baseInterval: 10ms, maxInterval: 50ms}}",
        ),
    ))
    .await;

    let (body, elapsed) = call_flaky(&gw, "5xx-1").await;
    assert_result(&body, "third time lucky");
    assert_eq!(
        attempts(&upstream),
        3,
        "two 503s and the success (answered in {elapsed:?})"
    );
    eprintln!("5xx retried: 3 attempts, answered in {elapsed:?}");
}

#[tokio::test]
async fn a_503_is_not_retried_when_retry_on_names_only_connect_failure() {
    let upstream = upstream(|n| match n {
        1 | 2 => Act::Status(503),
        _ => Act::Reply("third time lucky"),
    })
    .await;
    let gw = common::gateway(&gateway_yaml(&upstream, &retry_policy(
        "{attempts: 3, retryOn: [connect-failure], backoff: {baseInterval: 10ms, maxInterval: 50ms}}",
    )))
    .await;

    let (body, elapsed) = call_flaky(&gw, "5xx-2").await;
    assert_upstream_error(&body, "HTTP 503");
    assert_eq!(attempts(&upstream), 1, "a 503 is an answer: {body}");
    eprintln!("5xx not retried: 1 attempt, answered in {elapsed:?}: {body}");
}

// ---------------------------------------------------------------------------------------------------------
// 2. reset
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_dropped_connection_is_retried_when_retry_on_names_reset() {
    let upstream = upstream(|n| match n {
        1 | 2 => Act::Drop,
        _ => Act::Reply("after two resets"),
    })
    .await;
    let gw = common::gateway(&gateway_yaml(
        &upstream,
        &retry_policy(
            "{attempts: 3, retryOn: [reset], backoff: {baseInterval: 10ms, maxInterval: 50ms}}",
        ),
    ))
    .await;

    let (body, elapsed) = call_flaky(&gw, "reset-1").await;
    assert_result(&body, "after two resets");
    assert_eq!(
        attempts(&upstream),
        3,
        "two dropped attempts and the success"
    );
    eprintln!("reset retried: 3 attempts, answered in {elapsed:?}");
}

#[tokio::test]
async fn a_dropped_connection_is_not_retried_without_reset() {
    let upstream = upstream(|n| match n {
        1 | 2 => Act::Drop,
        _ => Act::Reply("after two resets"),
    })
    .await;
    let gw = common::gateway(&gateway_yaml(&upstream, &retry_policy(
        "{attempts: 3, retryOn: [5xx, connect-failure], backoff: {baseInterval: 10ms, maxInterval: 50ms}}",
    )))
    .await;

    let (body, elapsed) = call_flaky(&gw, "reset-2").await;
    assert_upstream_error(&body, "connection reset");
    assert_eq!(
        attempts(&upstream),
        1,
        "the request may have run upstream, so it is not sent again: {body}"
    );
    eprintln!("reset not retried: 1 attempt, answered in {elapsed:?}: {body}");
}

// ---------------------------------------------------------------------------------------------------------
// 3. connect-failure
// ---------------------------------------------------------------------------------------------------------

// A connect failure is a connection the kernel refuses, so it cannot be staged by a proxy that accepts
// and then closes (the gateway would see a reset, after its request may have been sent). The honest
// construction is a port with nobody listening: the upstream serves discovery, then stops listening
// (the gateway holds no pooled connection to it: every answer said `Connection: close`), and listens
// again on the same port after `DOWN`. Refused attempts never reach the upstream, so they cannot be
// counted there; instead the tests assert what only retrying can explain (the call succeeds though it
// started while the port was closed, and the upstream saw exactly one call), and what only not retrying
// can explain (an immediate failure, and the upstream, back within `DOWN`, never sees the call).
//
// With attempts 11 the fresh budget (a reserve of ten retries) allows all ten retries; their backoff
// ceilings are 100, 200, then 400 ms, so the probability that ten jittered waits sum to less than
// `DOWN` (150 ms) is about 1e-10.

const DOWN: Duration = Duration::from_millis(150);

#[tokio::test]
async fn a_refused_connection_is_retried_when_retry_on_names_connect_failure() {
    let mut upstream = upstream(|_| Act::Reply("the port is back")).await;
    let gw = common::gateway(&gateway_yaml(&upstream, &retry_policy(
        "{attempts: 11, retryOn: [connect-failure], backoff: {baseInterval: 100ms, maxInterval: 400ms}}",
    )))
    .await;

    upstream.close().await;
    let call = tokio::spawn({
        let url = gw.url("/mcp");
        async move {
            let started = Instant::now();
            let message = json!({"jsonrpc": "2.0", "id": "connect-1", "method": "tools/call", "params": {"name": "flaky", "arguments": {}}});
            let reply = common::post_json(&url, &[], &message).await;
            (reply, started.elapsed())
        }
    });
    tokio::time::sleep(DOWN).await;
    if call.is_finished() {
        let (reply, elapsed) = call.await.unwrap();
        panic!(
            "the call ended after {elapsed:?}, while the port was still closed: {}",
            reply.text
        );
    }
    upstream.reopen().await;
    let (reply, elapsed) = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("answered within 30s")
        .unwrap();
    let body: Value = serde_json::from_str(&reply.text).unwrap();
    assert_result(&body, "the port is back");
    assert!(elapsed >= DOWN, "answered after {elapsed:?}");
    assert_eq!(
        attempts(&upstream),
        1,
        "only the attempt after the port reopened reached the upstream"
    );
    eprintln!("connect-failure retried: succeeded after {elapsed:?} (port closed for {DOWN:?})");
}

#[tokio::test]
async fn a_refused_connection_fails_fast_without_connect_failure() {
    let mut upstream = upstream(|_| Act::Reply("the port is back")).await;
    // `reset` would imply connect-failure (nothing reached the upstream), so only 5xx is named.
    let gw = common::gateway(&gateway_yaml(
        &upstream,
        &retry_policy(
            "{attempts: 11, retryOn: [5xx], backoff: {baseInterval: 100ms, maxInterval: 400ms}}",
        ),
    ))
    .await;

    upstream.close().await;
    let reopen = tokio::spawn(async move {
        tokio::time::sleep(DOWN).await;
        upstream.reopen().await;
        upstream
    });
    let (body, elapsed) = call_flaky(&gw, "connect-2").await;
    assert_upstream_error(&body, "connection failed");
    assert!(
        elapsed < DOWN,
        "a refused connection that is not retried fails at once, not after {elapsed:?}"
    );
    let upstream = reopen.await.unwrap();
    assert_eq!(
        attempts(&upstream),
        0,
        "the call was not sent again once the port was back"
    );
    eprintln!("connect-failure not retried: failed in {elapsed:?}: {body}");
}

// ---------------------------------------------------------------------------------------------------------
// 4. Deadlines
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_retry_never_outlives_the_request_timeout() {
    let upstream = upstream(|_| Act::Never).await;
    let policies = format!(
        "- type: timeout\n  timeout: {{request: 1s}}\n{}",
        retry_policy("{attempts: 5, perTryTimeout: 400ms, retryOn: [reset, 5xx]}")
    );
    let gw = common::gateway(&gateway_yaml(&upstream, &policies)).await;

    let (body, elapsed) = call_flaky(&gw, "deadline-1").await;
    assert_eq!(
        body["error"]["code"], -32001,
        "expected -32001 after the 1s request timeout, the gateway answered {body} after {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(2),
        "answered after {elapsed:?}, expected about 1s: {body}"
    );
    let attempts = attempts(&upstream);
    // 400 ms, a wait of at most 25 ms, 400 ms, at most 50 ms: the third try gets what is left of the second.
    assert!(
        (2..=3).contains(&attempts),
        "{attempts} attempts within a 1s request timeout with perTryTimeout 400ms"
    );
    eprintln!("deadline: -32001 after {elapsed:?}, {attempts} attempts: {body}");
}

// ---------------------------------------------------------------------------------------------------------
// 5. The retry budget
// ---------------------------------------------------------------------------------------------------------

/// Replays src/policy/retry.rs's budget for `calls` sequential calls that always fail retryably: every
/// request earns 2 tenths of a retry (capped at a reserve of 100 tenths, where the budget starts), every
/// retry costs 10 tenths. Returns the total number of attempts.
fn budgeted_attempts(calls: usize, attempts: u32) -> usize {
    let mut tokens: i64 = 100;
    let mut total = 0;
    for _ in 0..calls {
        tokens = (tokens + 2).min(100);
        let mut attempt = 1;
        while attempt < attempts && tokens >= 10 {
            tokens -= 10;
            attempt += 1;
        }
        total += attempt as usize;
    }
    total
}

#[tokio::test]
async fn the_retry_budget_caps_attempts_during_an_outage() {
    const CALLS: usize = 40;
    let upstream = upstream(|_| Act::Status(503)).await;
    let gw = common::gateway(&gateway_yaml(
        &upstream,
        &retry_policy(
            "{attempts: 3, retryOn: [5xx], backoff: {baseInterval: 1ms, maxInterval: 2ms}}",
        ),
    ))
    .await;

    let started = Instant::now();
    for i in 0..CALLS {
        let (body, _) = call_flaky(&gw, &format!("budget-{i}")).await;
        assert_upstream_error(&body, "HTTP 503");
    }
    let elapsed = started.elapsed();
    let attempts = attempts(&upstream);
    // Calls 1–5 spend the reserve (3 attempts each, 8 tenths left), call 6 gets one retry, then every
    // fifth call has earned one: 15 + 2 + 34 + 6 = 57. The general bound is calls + 10 + 20% of calls.
    let expected = budgeted_attempts(CALLS, 3);
    assert_eq!(expected, 57);
    assert!(expected <= CALLS + 10 + CALLS / 5);
    assert_eq!(
        attempts,
        expected,
        "{CALLS} failing calls with attempts 3 (unbudgeted: {})",
        3 * CALLS
    );
    eprintln!("budget: {CALLS} calls → {attempts} attempts in {elapsed:?}");
}

// ---------------------------------------------------------------------------------------------------------
// 6. mTLS end to end
// ---------------------------------------------------------------------------------------------------------

fn client_leaf(ca: &Ca, cn: &str, spiffe: &str) -> Leaf {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = vec![SanType::URI(spiffe.try_into().unwrap())];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    sign(ca, params)
}

/// One HTTPS request to the gateway, trusting `ca_pem`, presenting `client` if given: the status and body.
async fn https(
    addr: SocketAddr,
    ca_pem: &str,
    client: Option<&Leaf>,
    request: http::Request<Full<Bytes>>,
) -> Result<(u16, String), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![leaf.der.clone()],
                PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {}", chain(&e)))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("http handshake: {e}"))?;
    tokio::spawn(connection);
    // In TLS 1.3 the client finishes its handshake before the server has checked the client's
    // certificate, so a refusal can surface here rather than in `connect`.
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {}", chain(&e)))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?;
    Ok((
        status,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    ))
}

/// An error with its causes (hyper hides the TLS alert behind "connection error").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn post_mcp(addr: SocketAddr, message: &Value) -> http::Request<Full<Bytes>> {
    http::Request::post("/mcp")
        .header(http::header::HOST, format!("localhost:{}", addr.port()))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(message.to_string())))
        .unwrap()
}

fn tool_names(status: u16, body: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("tools/list: not JSON ({e}): HTTP {status} {body}"));
    common::tool_names(&value)
}

const WEATHER: &str = "spiffe://cluster.local/ns/agents/sa/weather";
const PLANNER: &str = "spiffe://cluster.local/ns/agents/sa/planner";

#[tokio::test]
async fn mtls_strict_identifies_spiffe_principals_for_mcp_authz() {
    let ca = new_ca("gateway CA");
    let server = server_leaf(&ca);
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (ca_file, cert_file, key_file) = (
        file("ca.pem", &ca.pem),
        file("server.pem", &server.cert),
        file("server.key", &server.key),
    );
    let yaml = format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: test\n        routes:\n          - name: tools\n            match: {{path: {{prefix: /mcp}}}}\n            policies:\n              - type: mcp-authz\n                mcp:\n                  rules:\n                    - principal: \"{WEATHER}\"\n                      allowedTools: [get_weather_data]\n            backends:\n              - name: sample\n                type: sample\nsecurity:\n  mtls:\n    enabled: true\n    mode: STRICT\n    certificateAuthority: {}\n    serverCert: {}\n    serverKey: {}\n",
        ca_file.display(),
        cert_file.display(),
        key_file.display()
    );
    let loaded = agent_gateway::config::load_str(&yaml, "mtls.yaml")
        .unwrap_or_else(|d| panic!("test config invalid: {d:?}"));
    let running = agent_gateway::gateway::runtime::start(&loaded.config)
        .await
        .expect("gateway starts");
    let gw = common::Gateway {
        addr: running.addresses[0],
        running,
    };
    let addr = gw.addr;

    let weather = client_leaf(&ca, "weather", WEATHER);
    let planner = client_leaf(&ca, "planner", PLANNER);

    // Ready (over TLS, with a certificate: /readyz is behind the same listener).
    let mut ready = false;
    for _ in 0..200 {
        let request = http::Request::get("/readyz")
            .header(http::header::HOST, format!("localhost:{}", addr.port()))
            .body(Full::new(Bytes::new()))
            .unwrap();
        if let Ok((200, _)) = https(addr, &ca.pem, Some(&weather), request).await {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the gateway never became ready");

    // No certificate: refused in the handshake, no HTTP answer at all.
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let anonymous = https(addr, &ca.pem, None, post_mcp(addr, &list)).await;
    assert!(
        anonymous.is_err(),
        "a client without a certificate got an HTTP answer: {anonymous:?}"
    );
    let refusal = anonymous.unwrap_err();
    // TLS 1.3: the client's handshake completes before the server checks for a certificate, so the
    // refusal is the server's `certificate_required` alert, on the first request.
    assert_eq!(
        refusal, "request: connection error: received fatal alert: CertificateRequired",
        "expected a TLS alert refusing the missing certificate"
    );
    eprintln!("mTLS without a certificate: {refusal}");
    // Plain HTTP on the TLS port gets no HTTP answer at all: rustls reads the request line as a TLS record
    // and answers with a fatal `decode_error` alert (content type 21, version 3.3, length 2, level 2,
    // description 50), then closes the connection.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{list}",
        list.to_string().len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .expect("the connection is closed")
        .expect("closed cleanly after the alert");
    assert_eq!(
        answer,
        [21, 3, 3, 0, 2, 2, 50],
        "plain HTTP on the TLS port: {}",
        String::from_utf8_lossy(&answer)
    );

    // The weather principal sees exactly its one tool and can call it.
    let (status, body) = https(addr, &ca.pem, Some(&weather), post_mcp(addr, &list))
        .await
        .expect("the weather client is served");
    assert_eq!(status, 200, "{body}");
    assert_eq!(tool_names(status, &body), ["get_weather_data"], "{body}");
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_weather_data", "arguments": {"city": "Tampa, FL"}}});
    let (status, body) = https(addr, &ca.pem, Some(&weather), post_mcp(addr, &call))
        .await
        .expect("the weather client is served");
    let value: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("tools/call: not JSON ({e}): HTTP {status} {body}"));
    assert_eq!(status, 200, "{body}");
    assert!(
        value["result"]["content"].is_array() && value["result"]["isError"] != true,
        "get_weather_data as {WEATHER}: {body}"
    );
    assert_eq!(
        value["result"]["structuredContent"]["city"], "Tampa, FL",
        "{body}"
    );

    // Another valid identity: authenticated, but no rule names it, so it sees nothing...
    let (status, body) = https(addr, &ca.pem, Some(&planner), post_mcp(addr, &list))
        .await
        .expect("the planner client is served (its certificate is valid)");
    assert_eq!(status, 200, "{body}");
    assert_eq!(tool_names(status, &body), Vec::<String>::new(), "{body}");
    // ...and its call is answered like a call to a tool that does not exist.
    let (status, body) = https(addr, &ca.pem, Some(&planner), post_mcp(addr, &call))
        .await
        .expect("the planner client is served");
    let value: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("tools/call: not JSON ({e}): HTTP {status} {body}"));
    assert_eq!(value["error"]["code"], -32602, "HTTP {status} {body}");
    assert_eq!(
        value["error"]["message"], "Unknown tool: get_weather_data",
        "{body}"
    );
}
