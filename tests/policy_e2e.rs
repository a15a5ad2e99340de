//! The policies of the user's guide enforced end to end, over HTTP, through the real gateway:
//!
//! - the guide's step 3.1 ConfigMap (`examples/eks/config.yaml`), loaded verbatim but for what cannot exist
//!   here (the JWKS URI, the bind port, the MCP backend's address), in front of a second in-process gateway
//!   serving the built-in sample upstream (the guide's six tools). Tokens are minted here from the committed
//!   test keys and verified against a real JWKS server;
//! - `claimToHeaders` against a stub upstream (`common::stub`) that keeps every header it receives;
//! - two gateway processes (the real binary) sharing one real `redis-server`, holding one global limit.

mod common;
mod identity_common;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use common::redis::RedisServer;
use common::stub::{Era, Stub};
use identity_common::{ISSUER, JwksServer, TestKey, WEATHER_SA, now, sa_claims, with};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

const OTHER_SA: &str = "system:serviceaccount:agent-core-infra:planning-agent-sa";
/// The weather agent's `allowedTools` in the guide, which are also the sample upstream's six tools.
const SIX_TOOLS: [&str; 6] = [
    "get_weather_data",
    "generate_analysis_code",
    "execute_code",
    "store_user_preferences",
    "get_activity_preferences",
    "store_activity_plan",
];

fn guide_yaml(jwks_uri: &str, upstream: SocketAddr) -> String {
    common::guide::yaml(ISSUER, jwks_uri, upstream)
}

/// The guide's gateway, the sample-serving gateway behind it, and the JWKS server its tokens verify against.
struct Guide {
    front: common::Gateway,
    _upstream: common::Gateway,
    _jwks: JwksServer,
    key: TestKey,
    /// Held for the test's duration: one guide gateway at a time (its config names fixed ports, e.g. the
    /// metrics port 9090, that two copies could not share).
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

static GUIDE_SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Guide {
    async fn start() -> Guide {
        let serial = GUIDE_SERIAL.lock().await;
        let upstream =
            common::gateway(&common::route_yaml("- name: sample\n  type: sample\n")).await;
        let key = TestKey::load("rsa-a", Algorithm::RS256);
        let jwks = JwksServer::start(&[&key]).await;
        let yaml = guide_yaml(&jwks.url(), upstream.addr);
        let loaded = agent_gateway::config::load_str(&yaml, "examples/eks/config.yaml")
            .unwrap_or_else(|d| panic!("the guide's config does not load: {d:?}"));
        let running = agent_gateway::gateway::runtime::start(&loaded.config)
            .await
            .expect("the guide's gateway starts");
        let bound = running.addresses[0];
        assert!(
            bound.ip().is_unspecified(),
            "the guide's bind has no address, so the default 0.0.0.0 applies: {bound}"
        );
        let addr = SocketAddr::from(([127, 0, 0, 1], bound.port()));
        let front = common::Gateway { addr, running };
        common::wait_ready(&front.url("/readyz")).await;
        Guide {
            front,
            _upstream: upstream,
            _jwks: jwks,
            key,
            _serial: serial,
        }
    }

    fn mcp(&self) -> String {
        self.front.url("/mcp")
    }

    /// A token as `kubectl create token <sa> --audience agent-gateway` gives it, for `sub`.
    fn token(&self, sub: &str) -> String {
        self.key.sign(&with(sa_claims(), json!({ "sub": sub })))
    }

    async fn rpc(&self, token: Option<&str>, body: &Value) -> common::Reply {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        common::post_json(&self.mcp(), &headers, body).await
    }

    async fn call(&self, token: &str, id: i64, tool: &str, arguments: Value) -> common::Reply {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": tool, "arguments": arguments}});
        self.rpc(Some(token), &body).await
    }

    async fn tool_names(&self, token: &str) -> Vec<String> {
        let reply = self
            .rpc(
                Some(token),
                &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            )
            .await;
        assert_eq!(reply.status, 200, "tools/list: {}", reply.text);
        let body = reply.json();
        assert!(
            body.get("error").is_none(),
            "tools/list failed: {}",
            reply.text
        );
        assert!(
            body["result"].get("nextCursor").is_none(),
            "one page: {}",
            reply.text
        );
        body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("no tools array: {}", reply.text))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The structured result of a successful `tools/call`, or a panic showing the gateway's answer.
fn structured(reply: &common::Reply, what: &str) -> Value {
    assert_eq!(reply.status, 200, "{what}: {}", reply.text);
    let body = reply.json();
    assert!(body.get("error").is_none(), "{what}: {}", reply.text);
    assert_ne!(
        body["result"]["isError"], true,
        "{what}: tool error: {}",
        reply.text
    );
    body["result"]["structuredContent"].clone()
}

#[tokio::test]
async fn guide_weather_agent_sees_and_calls_its_six_tools() {
    let g = Guide::start().await;
    let token = g.token(WEATHER_SA);
    let names = g.tool_names(&token).await;
    assert_eq!(names.len(), 6, "no duplicates: {names:?}");
    assert_eq!(
        names.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        SIX_TOOLS.into_iter().collect::<BTreeSet<_>>()
    );

    let reply = g
        .call(&token, 2, "get_weather_data", json!({"city": "Tampa, FL"}))
        .await;
    let weather = structured(&reply, "get_weather_data");
    assert_eq!(reply.json()["id"], 2);
    assert_eq!(weather["source"], "synthetic");
    assert_eq!(
        weather["days"].as_array().map(Vec::len),
        Some(7),
        "{weather}"
    );
}

#[tokio::test]
async fn guide_other_principal_sees_nothing_and_a_denial_looks_like_an_unknown_tool() {
    let g = Guide::start().await;
    let token = g.token(OTHER_SA);
    assert_eq!(g.tool_names(&token).await, Vec::<String>::new());

    let denied = g
        .call(&token, 7, "get_weather_data", json!({"city": "Tampa, FL"}))
        .await;
    let unknown = g
        .call(&token, 7, "no_such_tool", json!({"city": "Tampa, FL"}))
        .await;
    assert_eq!(
        (denied.status, denied.headers.get("content-type")),
        (unknown.status, unknown.headers.get("content-type")),
        "denied: {} / unknown: {}",
        denied.text,
        unknown.text
    );
    // The only difference allowed is the name the caller itself sent.
    assert_eq!(
        denied.text.replace("get_weather_data", "TOOL"),
        unknown.text.replace("no_such_tool", "TOOL"),
        "a denied call must be answered exactly like an unknown tool"
    );
    let error = &denied.json()["error"];
    assert!(error.is_object(), "a denial is an error: {}", denied.text);
    assert!(
        denied.json().get("result").is_none(),
        "the upstream was not called: {}",
        denied.text
    );

    // The same principal is denied for every one of the six tools; the weather agent is not.
    for tool in SIX_TOOLS {
        let r = g.call(&token, 8, tool, json!({})).await;
        let u = g.call(&token, 8, "no_such_tool", json!({})).await;
        assert_eq!(
            r.text.replace(tool, "TOOL"),
            u.text.replace("no_such_tool", "TOOL"),
            "{tool}"
        );
    }
}

#[tokio::test]
async fn guide_execute_code_is_limited_at_ten_per_minute() {
    let g = Guide::start().await;
    let token = g.token(WEATHER_SA);
    let weather = structured(
        &g.call(&token, 1, "get_weather_data", json!({"city": "Tampa, FL"}))
            .await,
        "get_weather_data",
    );
    let analysis = structured(
        &g.call(
            &token,
            2,
            "generate_analysis_code",
            json!({ "weather_data": weather }),
        )
        .await,
        "generate_analysis_code",
    );
    let code = analysis["python_code"].as_str().expect("python_code");

    for i in 1..=10 {
        let reply = g
            .call(
                &token,
                100 + i,
                "execute_code",
                json!({ "python_code": code }),
            )
            .await;
        let result = structured(&reply, &format!("execute_code call {i} of 10"));
        assert_eq!(
            result["classifications"].as_array().map(Vec::len),
            Some(7),
            "call {i}: {result}"
        );
    }

    let limited = g
        .call(&token, 111, "execute_code", json!({ "python_code": code }))
        .await;
    let (status, code, message) = limited.error();
    assert_eq!(
        (status, code),
        (429, -32029),
        "the 11th call: {}",
        limited.text
    );
    assert!(
        message.starts_with("Rate limit exceeded: 10 calls per minute; retry in "),
        "{message}"
    );
    let data = &limited.json()["error"]["data"];
    assert_eq!(
        (&data["limit"], &data["per"]),
        (&json!(10), &json!("tool")),
        "{data}"
    );
    let retry_after: u64 = limited
        .headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", limited.headers))
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds");
    // Ten a minute is one every six seconds.
    assert!((1..=6).contains(&retry_after), "Retry-After {retry_after}");
    assert!(
        limited
            .headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{:?}",
        limited.headers
    );
    let body = limited.json();
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["id"], 111, "{body}");
    assert_eq!(body["error"]["code"], -32029, "{body}");
    assert!(body.get("result").is_none(), "{body}");

    // The limit is on execute_code only: other tools still answer. The rate limit runs before the schema
    // check (docs/architecture.md, the pipeline's order), so a flood of invalid calls is cut as cheaply.
    structured(
        &g.call(
            &token,
            112,
            "get_weather_data",
            json!({"city": "Tampa, FL"}),
        )
        .await,
        "get_weather_data after execute_code was limited",
    );
    let invalid = g.call(&token, 113, "execute_code", json!({})).await;
    assert_eq!(
        (invalid.status, invalid.json()["error"]["code"].clone()),
        (429, json!(-32029)),
        "the rate limit comes before schema validation: {}",
        invalid.text
    );
}

#[tokio::test]
async fn guide_authentication_failures_answer_401_with_a_bearer_challenge() {
    let g = Guide::start().await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let metadata_url = format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        g.front.addr
    );

    let missing = g.rpc(None, &list).await;
    assert_eq!(
        missing.error(),
        (401, -32600, "Unauthorized: no bearer token".into())
    );
    let challenge = www_authenticate(&missing);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{challenge}"
    );

    // A client cannot point the challenge elsewhere: no proxy is trusted (`security.trustedProxies`).
    let spoofed = common::post_json(
        &g.mcp(),
        &[
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
        ],
        &list,
    )
    .await;
    assert!(
        www_authenticate(&spoofed).contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{}",
        www_authenticate(&spoofed)
    );

    let metadata = reqwest::get(&metadata_url).await.unwrap();
    assert_eq!(metadata.status(), 200);
    assert!(
        metadata
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{:?}",
        metadata.headers()
    );
    let metadata: Value = metadata.json().await.unwrap();
    assert_eq!(
        metadata["resource"],
        format!("http://{}/mcp", g.front.addr),
        "{metadata}"
    );
    assert_eq!(
        metadata["authorization_servers"],
        json!([ISSUER]),
        "{metadata}"
    );

    let now = now();
    let expired = g.key.sign(&with(
        sa_claims(),
        json!({"exp": now - 600, "iat": now - 4000, "nbf": now - 4000}),
    ));
    let reply = g.rpc(Some(&expired), &list).await;
    assert_eq!(
        reply.error(),
        (
            401,
            -32600,
            format!("Unauthorized: token expired (exp {})", now - 600)
        )
    );
    let challenge = www_authenticate(&reply);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");

    // `kubectl create token <sa>` without `--audience agent-gateway`.
    let wrong_audience = g.key.sign(&with(sa_claims(), json!({ "aud": [ISSUER] })));
    let reply = g.rpc(Some(&wrong_audience), &list).await;
    assert_eq!(
        reply.error(),
        (
            401,
            -32600,
            format!("Unauthorized: token audience [\"{ISSUER}\"] is not accepted")
        )
    );
    assert!(
        www_authenticate(&reply).contains("error=\"invalid_token\""),
        "{}",
        www_authenticate(&reply)
    );

    // None of these reached a tool: the weather agent's own token still works.
    let names = g.tool_names(&g.token(WEATHER_SA)).await;
    assert_eq!(names.len(), 6);
}

fn www_authenticate(reply: &common::Reply) -> String {
    reply
        .headers
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("401 without WWW-Authenticate: {:?}", reply.headers))
        .to_str()
        .unwrap()
        .to_string()
}

/// An MCP upstream that keeps every request with its headers: a stub (`common::stub`), as no real peer shows
/// the headers it received.
async fn recording_upstream() -> Stub {
    Stub::mcp(Era::Session)
        .start(|r| match r.rpc_method() {
            "tools/list" => {
                r.result(json!({"tools": [{"name": "whoami", "inputSchema": {"type": "object"}}]}))
            }
            "tools/call" => r.result(json!({"content": [{"type": "text", "text": "recorded"}]})),
            _ => r.not_found(),
        })
        .await
}

#[tokio::test]
async fn claim_to_headers_overrides_a_forged_identity_header() {
    let upstream = recording_upstream().await;
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let jwks = JwksServer::start(&[&key]).await;
    // The guide's jwt-authn policy, as written there, in front of the recording upstream.
    let yaml = format!(
        "binds:
  - port: 0
    address: 127.0.0.1
    listeners:
      - name: mcp-listener
        routes:
          - name: agent-to-mcp-tools
            match:
              path:
                prefix: /mcp
            policies:
              - type: jwt-authn
                jwt:
                  issuer: {ISSUER}
                  audiences:
                    - agent-gateway
                  jwksUri: {}
                  claimToHeaders:
                    - claim: sub
                      header: x-agent-identity
            backends:
              - name: recorder
                type: mcp-http
                address: http://{}
                mcp:
                  endpoint: /mcp
                  protocol: http
",
        jwks.url(),
        upstream.addr
    );
    let gw = common::gateway(&yaml).await;

    for (n, (sub, forged)) in [
        (WEATHER_SA, OTHER_SA),
        (OTHER_SA, WEATHER_SA),
        (WEATHER_SA, "admin"),
    ]
    .into_iter()
    .enumerate()
    {
        let token = key.sign(&with(sa_claims(), json!({ "sub": sub })));
        let bearer = format!("Bearer {token}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("x-agent-identity", forged),
            ("X-Agent-Identity", forged),
        ];
        let call = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}});
        let before = upstream.count("tools/call");
        let reply = common::post_json(&gw.url("/mcp"), &headers, &call).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.json()["result"]["content"][0]["text"],
            "recorded",
            "{}",
            reply.text
        );
        let calls = upstream.rpc("tools/call");
        assert_eq!(
            calls.len(),
            before + 1,
            "one tools/call reached the upstream"
        );
        let identity: Vec<&str> = calls[before]
            .headers
            .get_all("x-agent-identity")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            identity,
            [sub],
            "the upstream must see the token's sub only, never the client's {forged:?}"
        );
    }

    // Without a token nothing reaches the upstream, forged header or not.
    let before = upstream.requests().len();
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}});
    let reply =
        common::post_json(&gw.url("/mcp"), &[("x-agent-identity", WEATHER_SA)], &call).await;
    assert_eq!(
        reply.error(),
        (401, -32600, "Unauthorized: no bearer token".into())
    );
    assert_eq!(upstream.requests().len(), before);
}

fn limited_config(redis_port: u16) -> String {
    format!(
        "rateLimitStore: {{redis: redis://127.0.0.1:{redis_port}, failMode: failClosed}}
binds:
  - port: 0
    address: 127.0.0.1
    listeners:
      - name: mcp-listener
        routes:
          - name: agent-to-mcp-tools
            match:
              path:
                prefix: /mcp
            policies:
              - type: rate-limit
                rateLimit:
                  descriptors:
                    - key: tool-name
                      value: get_weather_data
                      rateLimit:
                        requestsPerMinute: 6
            backends:
              - name: sample
                type: sample
"
    )
}

#[tokio::test]
async fn two_gateway_processes_sharing_one_redis_enforce_one_limit() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut gateways = Vec::new();
    let mut urls = Vec::new();
    for name in ["a", "b"] {
        let config = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&config, limited_config(redis.port)).unwrap();
        let (gateway, addr) = common::gateway_process(&config, &[], &[]).await;
        gateways.push(gateway);
        urls.push(format!("http://{addr}"));
    }

    let mut outcomes = Vec::new();
    for i in 0..14 {
        let url = format!("{}/mcp", urls[i % 2]);
        let call = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                          "params": {"name": "get_weather_data", "arguments": {"city": "Tampa, FL"}}});
        let reply = common::post_json(&url, &[], &call).await;
        match reply.status {
            200 => {
                structured(&reply, &format!("call {i} on gateway {}", i % 2));
            }
            429 => {
                assert!(
                    reply.headers.contains_key("retry-after"),
                    "{:?}",
                    reply.headers
                );
                assert_eq!(reply.json()["error"]["code"], -32029, "{}", reply.text);
            }
            other => panic!(
                "call {i} on gateway {}: HTTP {other}: {}",
                i % 2,
                reply.text
            ),
        }
        outcomes.push(reply.status);
    }
    let allowed = outcomes.iter().filter(|s| **s == 200).count();
    assert_eq!(
        allowed, 6,
        "six calls in all across both gateways, not six each: {outcomes:?}"
    );
    assert_eq!(
        outcomes,
        [[200; 6].as_slice(), [429; 8].as_slice()].concat(),
        "the first six pass (three on each gateway), every later one is refused"
    );
    drop(gateways);
}

/// The guide's step 7 flow through its a2a-listener: the planning agent may call the weather agent, the
/// orchestrator any agent, anyone else none; agents are named by their cards (the guide gives no names).
#[tokio::test]
async fn guide_agent_to_agent_flow_with_its_two_principals() {
    let serial = GUIDE_SERIAL.lock().await;
    let start = |name: &'static str| common::a2a_agent("venv-a2a", name, &["--compat"]);
    let ((_weather, weather), (_planning, planning)) =
        tokio::join!(start("weather-agent-v6"), start("planning-agent"));
    let upstream = common::gateway(&common::route_yaml("- name: sample\n  type: sample\n")).await;
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let jwks = JwksServer::start(&[&key]).await;
    let yaml = guide_yaml(&jwks.url(), upstream.addr);
    let yaml = common::guide::substitute(
        &yaml,
        "http://weather-agent-service.agent-core-infra.svc.cluster.local:8080",
        &weather,
        1,
    );
    let yaml = common::guide::substitute(
        &yaml,
        "http://planning-agent-service.agent-core-infra.svc.cluster.local:8080",
        &planning,
        1,
    );
    let loaded = agent_gateway::config::load_str(&yaml, "examples/eks/config.yaml")
        .unwrap_or_else(|d| panic!("{d:?}"));
    let running = agent_gateway::gateway::runtime::start(&loaded.config)
        .await
        .unwrap();
    let front = common::Gateway {
        addr: SocketAddr::from(([127, 0, 0, 1], running.addresses[0].port())),
        running,
    };
    common::wait_ready(&front.url("/readyz")).await;
    let token = |sub: &str| {
        format!(
            "Bearer {}",
            key.sign(&with(sa_claims(), json!({ "sub": sub })))
        )
    };
    let planning_sa = token("system:serviceaccount:agent-core-infra:planning-agent-sa");
    let orchestrator = token("system:serviceaccount:agent-core-infra:orchestrator-agent-sa");
    let weather_sa = token("system:serviceaccount:agent-core-infra:ekspoc-v6-kagent-agent-sa");

    // The guide's curl, verbatim body.
    let task = json!({"task": "Get weather forecast for Tampa, FL this weekend"});
    let url = front.url("/agents/weather-agent-v6");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let reply = loop {
        let reply = common::post_json(&url, &[("authorization", &planning_sa)], &task).await;
        // Agent names come from cards fetched at start; allow the first fetch to land.
        if reply.status != 404 || tokio::time::Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.json()["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("Tampa"),
        "{}",
        reply.text
    );

    let to_planning = common::post_json(
        &front.url("/agents/planning-agent"),
        &[("authorization", &planning_sa)],
        &task,
    )
    .await;
    assert_eq!(
        to_planning.error(),
        (
            403,
            -32000,
            "principal may not use agent 'planning-agent'".into()
        ),
        "the planning agent may call only the weather agent"
    );
    let by_orchestrator = common::post_json(
        &front.url("/agents/planning-agent"),
        &[("authorization", &orchestrator)],
        &task,
    )
    .await;
    assert_eq!(by_orchestrator.status, 200, "{}", by_orchestrator.text);
    assert_eq!(
        common::post_json(&url, &[("authorization", &weather_sa)], &task)
            .await
            .error(),
        (
            403,
            -32000,
            "principal may not use agent 'weather-agent-v6'".into()
        ),
        "no rule: denied"
    );
    assert_eq!(
        common::post_json(&url, &[], &task).await.error(),
        (401, -32600, "Unauthorized: no bearer token".into())
    );

    let listed: Value = reqwest::Client::new()
        .get(front.url("/agents"))
        .header("authorization", &planning_sa)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["weather-agent-v6"]);

    // Agent calls and denials are counted (the process-wide registry: assert what this test added).
    let metrics = reqwest::get(format!("http://{}/metrics", front.running.metrics.unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |fragments: &[&str]| -> f64 {
        metrics
            .lines()
            .filter(|l| fragments.iter().all(|f| l.contains(f)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(
        count(&[
            "a2a_calls_total{",
            "planning-agent-sa",
            "status=\"ok\"",
            "target=\"weather-agent-v6\""
        ]) >= 1.0,
        "{metrics}"
    );
    assert!(
        count(&["a2a_calls_total{", "status=\"denied\""]) >= 2.0,
        "{metrics}"
    );
    assert!(
        count(&[
            "agent_gateway_authz_denials_total{",
            "kind=\"agent\"",
            "route=\"agent-to-agent\""
        ]) >= 2.0,
        "{metrics}"
    );
    drop(serial);
}

/// A caller that `mcp-authz` gives nothing on a backend makes the gateway open no upstream session there
/// and forward no `logging/setLevel` on its behalf; a caller with a tool there does both.
#[tokio::test]
async fn a_caller_without_rights_on_a_backend_costs_it_nothing() {
    let upstream = recording_upstream().await;
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let jwks = JwksServer::start(&[&key]).await;
    let yaml = format!(
        "binds:
  - port: 0
    address: 127.0.0.1
    listeners:
      - name: mcp-listener
        routes:
          - name: tools
            match: {{path: {{prefix: /mcp}}}}
            policies:
              - type: jwt-authn
                jwt: {{issuer: {ISSUER}, audiences: [agent-gateway], jwksUri: {}}}
              - type: mcp-authz
                mcp:
                  rules:
                    - {{principal: \"{WEATHER_SA}\", allowedTools: [whoami]}}
            backends:
{}",
        jwks.url(),
        common::indent(&upstream.backend("recorder", None), 14)
    );
    let gw = common::gateway(&yaml).await;
    let url = gw.url("/mcp");
    let session_of = |sub: &'static str| {
        let (token, url) = (
            key.sign(&with(sa_claims(), json!({ "sub": sub }))),
            url.clone(),
        );
        async move {
            let bearer = format!("Bearer {token}");
            let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
            let reply = common::post_json(&url, &[("authorization", &bearer)], &init).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            let session = reply.headers["mcp-session-id"]
                .to_str()
                .unwrap()
                .to_string();
            let level = json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "debug"}});
            let reply = common::post_json(
                &url,
                &[("authorization", &bearer), ("mcp-session-id", &session)],
                &level,
            )
            .await;
            assert_eq!(reply.json()["result"], json!({}), "{}", reply.text);
        }
    };
    let (initializes, levels) = (
        upstream.count("initialize"),
        upstream.count("logging/setLevel"),
    );
    session_of(OTHER_SA).await;
    assert_eq!(
        upstream.count("initialize"),
        initializes,
        "a session opened for a caller without rights"
    );
    assert_eq!(
        upstream.count("logging/setLevel"),
        levels,
        "setLevel forwarded for a caller without rights"
    );
    session_of(WEATHER_SA).await;
    assert_eq!(upstream.count("initialize"), initializes + 1);
    assert_eq!(upstream.count("logging/setLevel"), levels + 1);
}
