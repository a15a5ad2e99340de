//! A2A routes apply the same pipeline as MCP routes: `rate-limit`, `retry`, `timeout`, `limits` and
//! `jwt-authn`'s `claimToHeaders`, from the config, through the in-process gateway to a real a2a-sdk agent.
//!
//! The agent is real (`tests/peers/a2a_agent.py`, a2a-sdk 0.3 as KAgent's). To make it fail on cue for the
//! retry tests, a stub front (`common::stub`) sits between gateway and agent: it answers the first N POSTs
//! with 503 and forwards everything else unchanged, recording the headers it saw. That front is a fault
//! injector, the one thing here that is not a real peer: no real agent fails on demand.

mod common;
mod identity_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::stub::{Answer, Stub};
use identity_common::{JwksServer, TestKey, WEATHER_SA, sa_claims};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

/// Forwards to `agent`, but answers the first `fail` POSTs with 503 "busy", keeping every request it saw.
struct Front {
    stub: Stub,
    fail: Arc<AtomicUsize>,
}

impl Front {
    async fn start(agent: String) -> Front {
        let fail = Arc::new(AtomicUsize::new(0));
        let failures = fail.clone();
        let stub = Stub::http()
            .start(move |r| {
                let failing = r.method == http::Method::POST
                    && failures
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                if failing {
                    Answer::status(503, "text/plain", "busy")
                } else {
                    Answer::Forward(agent.clone())
                }
            })
            .await;
        Front { stub, fail }
    }

    fn url(&self) -> String {
        format!("http://{}", self.stub.addr)
    }

    /// How many POSTs reached the front (failed or forwarded).
    fn posts(&self) -> usize {
        self.stub
            .requests()
            .iter()
            .filter(|r| r.method == http::Method::POST)
            .count()
    }

    /// The headers of the last request that reached the front.
    fn last_headers(&self) -> http::HeaderMap {
        let requests = self.stub.requests();
        requests
            .last()
            .expect("a request reached the agent")
            .headers
            .clone()
    }
}

fn yaml(policies: &str, agent: &str, limits: &str) -> String {
    format!(
        "binds:\n- port: 0\n  address: 127.0.0.1\n  listeners:\n  - name: a2a\n    routes:\n    - name: agents\n      match: {{path: {{prefix: /agents}}}}\n      policies: {policies}\n      backends:\n      - {{name: weather, address: '{agent}', agentName: weather-agent}}\n{limits}"
    )
}

fn send(id: u64, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": format!("m{id}"), "role": "user",
        "parts": [{"kind": "text", "text": text}]}}})
}

async fn post(g: &common::Gateway, body: &Value, token: Option<&str>) -> common::Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("a2a-version", "0.3")];
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    common::post_json(&g.url("/agents/weather-agent"), &headers, body).await
}

fn forecast(reply: &common::Reply) {
    let v = reply.json();
    assert_eq!(reply.status, 200, "{v}");
    assert!(
        v["result"]["artifacts"][0]["parts"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Forecast for")),
        "the agent's answer: {v}"
    );
}

#[tokio::test]
async fn rate_limits_and_the_body_limit_apply_to_agent_calls() {
    let (_agent, base) = common::a2a_agent("venv-a2a03", "weather-agent", &[]).await;
    let g = common::gateway(&yaml(
        "[{type: rate-limit, rateLimit: {descriptors: [{key: agent, value: 'weather-*', rateLimit: {requestsPerMinute: 2}}]}}]",
        &base,
        "limits: {maxBodyBytes: 2048}\n",
    ))
    .await;
    forecast(&post(&g, &send(1, "Tampa"), None).await);
    forecast(&post(&g, &send(2, "Tampa"), None).await);
    let limited = post(&g, &send(3, "Tampa"), None).await;
    let v = limited.json();
    assert_eq!(
        (limited.status, v["error"]["code"].clone()),
        (429, json!(-32029)),
        "{v}"
    );
    assert_eq!(v["id"], 3, "{v}");
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    // The card is not a call: it is served whatever the budget.
    let card = reqwest::get(g.url("/agents/weather-agent/.well-known/agent-card.json"))
        .await
        .unwrap();
    assert_eq!(card.status(), 200);
    // `limits.maxBodyBytes` holds on A2A routes too (it was a fixed 4 MiB).
    let big = send(4, &"x".repeat(4096));
    let refused = post(&g, &big, None).await;
    assert_eq!(refused.status, 413, "{}", refused.text);
    assert_eq!(refused.json()["error"]["code"], -32600, "{}", refused.text);
}

#[tokio::test]
async fn failed_attempts_are_retried_as_retry_on_says_and_no_more() {
    let (_agent, base) = common::a2a_agent("venv-a2a03", "weather-agent", &[]).await;
    let front = Front::start(base).await;
    let g = common::gateway(&yaml(
        "[{type: retry, retry: {attempts: 3, retryOn: [5xx], backoff: {baseInterval: 10ms, maxInterval: 20ms}}}]",
        &front.url(),
        "",
    ))
    .await;
    front.fail.store(2, Ordering::SeqCst);
    forecast(&post(&g, &send(1, "Tampa"), None).await);
    assert_eq!(front.posts(), 3, "two 503s, then the answer");

    // Three failures exhaust the three attempts: a 502 that names the kind of failure, not the body.
    front.fail.store(3, Ordering::SeqCst);
    let failed = post(&g, &send(2, "Tampa"), None).await;
    let v = failed.json();
    assert_eq!(
        (failed.status, v["error"]["code"].clone()),
        (502, json!(-32603)),
        "{v}"
    );
    assert!(
        !failed.text.contains("busy"),
        "the agent's body stays in the log: {v}"
    );
    assert_eq!(front.posts(), 6);
}

#[tokio::test]
async fn without_retry_an_agents_503_is_relayed_as_it_answered() {
    let (_agent, base) = common::a2a_agent("venv-a2a03", "weather-agent", &[]).await;
    let front = Front::start(base).await;
    let g = common::gateway(&yaml("[]", &front.url(), "")).await;
    front.fail.store(1, Ordering::SeqCst);
    let relayed = post(&g, &send(1, "Tampa"), None).await;
    assert_eq!((relayed.status, relayed.text.as_str()), (503, "busy"));
    assert_eq!(front.posts(), 1);
}

#[tokio::test]
async fn the_request_timeout_ends_a_call_the_agent_does_not_answer() {
    let (_agent, base) = common::a2a_agent("venv-a2a03", "weather-agent", &[]).await;
    let g = common::gateway(&yaml(
        "[{type: timeout, timeout: {request: 1s}}]",
        &base,
        "",
    ))
    .await;
    // "wait" keeps the task working for 30 s; a blocking message/send waits for it.
    let started = Instant::now();
    let answer = post(&g, &send(1, "wait in Tampa"), None).await;
    let v = answer.json();
    assert_eq!(
        (answer.status, v["error"]["code"].clone()),
        (502, json!(-32603)),
        "{v}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn claim_headers_reach_the_agent_and_the_callers_token_does_not() {
    let (_agent, base) = common::a2a_agent("venv-a2a03", "weather-agent", &[]).await;
    let front = Front::start(base).await;
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let jwks = JwksServer::start(&[&key]).await;
    let policies = format!(
        "[{{type: jwt-authn, jwt: {{issuer: '{}', audiences: [agent-gateway], jwksUri: '{}', claimToHeaders: [{{claim: sub, header: x-agent-identity}}]}}}}]",
        identity_common::ISSUER,
        jwks.url()
    );
    let g = common::gateway(&yaml(&policies, &front.url(), "")).await;
    let token = key.sign(&sa_claims());
    forecast(&post(&g, &send(1, "Tampa"), Some(&token)).await);
    let call = front.last_headers();
    assert_eq!(call["x-agent-identity"], WEATHER_SA);
    assert!(call.get("authorization").is_none(), "{call:?}");
    // A caller cannot set the header itself: only the gateway's value goes through.
    let forged = common::post_json(
        &g.url("/agents/weather-agent"),
        &[
            ("a2a-version", "0.3"),
            ("authorization", &format!("Bearer {token}")),
            ("x-agent-identity", "system:serviceaccount:x:admin"),
        ],
        &send(2, "Tampa"),
    )
    .await;
    forecast(&forged);
    let last = front.last_headers();
    let identities: Vec<&http::HeaderValue> = last.get_all("x-agent-identity").iter().collect();
    assert_eq!(
        identities,
        [WEATHER_SA],
        "only the gateway's value: {last:?}"
    );
}

#[tokio::test]
async fn timeout_idle_ends_an_agent_stream_that_goes_quiet() {
    let (_agent, base) = common::a2a_agent("venv-a2a03", "weather-agent", &[]).await;
    let g = common::gateway(&yaml(
        "[{type: timeout, timeout: {idle: 300ms}}]",
        &base,
        "",
    ))
    .await;
    // "slow" puts a second between the agent's events: longer than the route allows a stream to be quiet.
    let mut stream = send(1, "slow Tampa");
    stream["method"] = json!("message/stream");
    let started = Instant::now();
    let reply = common::post(
        &g.url("/agents/weather-agent"),
        &[
            ("a2a-version", "0.3"),
            ("content-type", "application/json"),
            ("accept", "text/event-stream"),
        ],
        stream.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let events = reply.messages();
    assert!(!events.is_empty(), "the stream started: {}", reply.text);
    assert!(
        !reply.text.contains("\"completed\""),
        "the stream was cut before the task completed: {}",
        reply.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
