//! KAgent's MCP client through the guide's gateway, end to end.
//!
//! The client is `tests/peers/kagent_client.py` under `.tools/venv-mcp1` (Python `mcp` 1.28.0, the version
//! KAgent v0.9.12's agent runtime locks). It opens its session the way KAgent's runtime (google-adk's
//! `MCPSessionManager`) does: `streamablehttp_client(url, headers, timeout, sse_read_timeout,
//! terminate_on_close)`, `ClientSession`, `initialize`, `list_tools`, `call_tool`, then close. Its settings come
//! from `deploy/kagent/remotemcpserver.yaml`, translated as KAgent's controller translates a `RemoteMCPServer`:
//! `headersFrom` → headers (a Secret's value used whole; the Secret is a temporary file here), `timeout` and
//! `sseReadTimeout` → seconds, `terminateOnClose` (CRD default true). Only the URL is replaced by the test
//! gateway's.
//!
//! The gateway is the guide's step 3.1 ConfigMap (`examples/eks/config.yaml`) with only the JWKS URI, the
//! issuer, the ports and the MCP backend's address substituted, in front of a second in-process gateway that
//! serves the built-in sample upstream (the guide's six tools). Tokens are minted from the committed test keys.

mod common;
mod identity_common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use identity_common::{ISSUER, JwksServer, TestKey, WEATHER_SA, sa_claims, with};
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};
use yaml_rust2::{Yaml, YamlLoader};

const REMOTE_MCP_SERVER: &str = "deploy/kagent/remotemcpserver.yaml";
/// The weather agent's `allowedTools` in the guide, which are also the sample upstream's six tools.
const SIX_TOOLS: [&str; 6] = [
    "get_weather_data",
    "generate_analysis_code",
    "execute_code",
    "store_user_preferences",
    "get_activity_preferences",
    "store_activity_plan",
];

// ---------------------------------------------------------------------------------------------------------------
// The guide's gateway (after tests/policy_e2e/guide.rs)
// ---------------------------------------------------------------------------------------------------------------

fn guide_yaml(jwks_uri: &str, upstream: SocketAddr) -> String {
    common::guide::yaml(ISSUER, jwks_uri, upstream)
}

/// The guide's gateway, the sample-serving gateway behind it, and the JWKS server its tokens verify against.
struct Guide {
    front: common::Gateway,
    _upstream: common::Gateway,
    _jwks: JwksServer,
    key: TestKey,
}

impl Guide {
    async fn start() -> Guide {
        let upstream =
            common::gateway(&common::route_yaml("- name: sample\n  type: sample\n")).await;
        let key = TestKey::load("rsa-a", Algorithm::RS256);
        let jwks = JwksServer::start(&[&key]).await;
        let yaml = guide_yaml(&jwks.url(), upstream.addr);
        let loaded = agent_gateway::config::load_str(&yaml, common::guide::CONFIG)
            .unwrap_or_else(|d| panic!("the guide's config does not load: {d:?}"));
        let running = agent_gateway::gateway::runtime::start(&loaded.config)
            .await
            .expect("the guide's gateway starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], running.addresses[0].port()));
        let front = common::Gateway { addr, running };
        common::wait_ready(&front.url("/readyz")).await;
        Guide {
            front,
            _upstream: upstream,
            _jwks: jwks,
            key,
        }
    }

    fn mcp(&self) -> String {
        self.front.url("/mcp")
    }

    /// A token as `kubectl create token ekspoc-v6-kagent-agent-sa --audience agent-gateway` gives it.
    fn token(&self) -> String {
        self.key
            .sign(&with(sa_claims(), json!({ "sub": WEATHER_SA })))
    }

    /// A raw session-era request on an existing session, as the client would send it after `initialize`.
    async fn on_session(&self, token: &str, session: &str, body: &Value) -> common::Reply {
        let bearer = format!("Bearer {token}");
        common::post_json(
            &self.mcp(),
            &[
                ("accept", "application/json, text/event-stream"),
                ("authorization", &bearer),
                ("mcp-session-id", session),
                ("mcp-protocol-version", "2025-11-25"),
            ],
            body,
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------------------------------
// KAgent's configuration of the client
// ---------------------------------------------------------------------------------------------------------------

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => json!(i),
        Yaml::Real(s) => json!(s.parse::<f64>().unwrap()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().expect("string keys").to_string(),
                        yaml_to_json(v),
                    )
                })
                .collect::<Map<_, _>>(),
        ),
        other => panic!("{REMOTE_MCP_SERVER}: unsupported YAML node {other:?}"),
    }
}

/// The `spec` of the deploy files' RemoteMCPServer.
fn remote_mcp_server_spec() -> Value {
    let text = std::fs::read_to_string(common::repo().join(REMOTE_MCP_SERVER)).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let doc = yaml_to_json(&docs[0]);
    assert_eq!(doc["apiVersion"], "kagent.dev/v1alpha2", "{doc}");
    assert_eq!(doc["kind"], "RemoteMCPServer", "{doc}");
    doc["spec"].clone()
}

/// The client's command line for `spec`, as KAgent's controller translates it (translateStreamableHttpTool):
/// every `headersFrom` entry becomes a header (a Secret's value whole, read here from `secret`), and
/// `timeout`, `sseReadTimeout` and `terminateOnClose` pass through when set (the client applies the CRD's and
/// google-adk's defaults when not). The URL is the test gateway's.
fn kagent_args(spec: &Value, url: &str, secret: &Path) -> Vec<String> {
    assert_eq!(
        spec["protocol"], "STREAMABLE_HTTP",
        "KAgent uses streamablehttp_client for this protocol: {spec}"
    );
    assert!(
        spec["url"].as_str().unwrap().ends_with(":8080/mcp"),
        "the deploy file points at the gateway's MCP route: {spec}"
    );
    let mut args = vec!["--url".to_string(), url.to_string()];
    let mut secrets = 0;
    for h in spec["headersFrom"].as_array().expect("headersFrom") {
        let name = h["name"].as_str().unwrap();
        if let Some(value) = h["value"].as_str() {
            args.extend(["--header".into(), format!("{name}={value}")]);
        } else {
            assert_eq!(h["valueFrom"]["type"], "Secret", "{h}");
            secrets += 1;
            args.extend([
                "--header-from-secret".into(),
                format!("{name}={}", secret.display()),
            ]);
        }
    }
    assert_eq!(
        secrets, 1,
        "one Secret holds the Authorization header: {spec}"
    );
    for (field, flag) in [
        ("timeout", "--timeout"),
        ("sseReadTimeout", "--sse-read-timeout"),
    ] {
        if let Some(v) = spec[field].as_str() {
            args.extend([flag.into(), v.into()]);
        }
    }
    if let Some(v) = spec["terminateOnClose"].as_bool() {
        args.extend(["--terminate-on-close".into(), v.to_string()]);
    }
    args
}

/// The Secret `headersFrom` reads: its value is the whole header value, `Bearer <token>`.
fn secret_file(token: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("Bearer {token}")).unwrap();
    file
}

/// Runs the KAgent-configured client against the guide's gateway; Ok(its JSON line) on exit 0, Err(its error
/// object) on exit 1.
async fn kagent(g: &Guide, token: &str, extra: &[&str]) -> Result<Value, Value> {
    let secret = secret_file(token);
    let mut args = kagent_args(&remote_mcp_server_spec(), &g.mcp(), secret.path());
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(common::tool("venv-mcp1/bin/python"))
            .arg(common::repo().join("tests/peers/kagent_client.py"))
            .args(&args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kagent_client.py finishes within 120s")
    .expect("kagent_client.py starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "kagent_client.py printed nothing ({}): {stderr}",
            output.status
        )
    });
    let out: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    match output.status.code() {
        Some(0) => Ok(out),
        Some(1) => Err(out["error"].clone()),
        _ => panic!(
            "kagent_client.py: {}: {stdout}\nstderr: {stderr}",
            output.status
        ),
    }
}

fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn kagent_weather_agent_lists_its_six_tools_and_calls_get_weather_data() {
    let g = Guide::start().await;
    let out = kagent(
        &g,
        &g.token(),
        &[
            "--call",
            "get_weather_data",
            "--args",
            r#"{"city": "Tampa, FL"}"#,
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("KAgent's client failed: {e}"));

    // mcp 1.28 speaks the session era: initialize, then a session id.
    assert_eq!(out["protocolVersion"], "2025-11-25", "{out}");
    assert_eq!(out["serverInfo"]["name"], "agent-gateway", "{out}");
    assert!(
        out["sessionId"].as_str().is_some_and(|s| !s.is_empty()),
        "{out}"
    );

    let tools: Vec<&str> = out["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {out}"))
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tools.len(), 6, "no duplicates: {tools:?}");
    assert_eq!(
        tools.into_iter().collect::<BTreeSet<_>>(),
        SIX_TOOLS.into_iter().collect::<BTreeSet<_>>()
    );

    let call = &out["call"];
    assert_eq!(call["isError"], false, "{call}");
    let weather = &call["structuredContent"];
    assert_eq!(weather["city"], "Tampa, FL", "{call}");
    assert_eq!(weather["source"], "synthetic", "{call}");
    assert_eq!(
        weather["days"].as_array().map(Vec::len),
        Some(7),
        "{weather}"
    );
    // The text content carries the same result, for clients that read only text.
    let text = call["content"][0]["text"].as_str().expect("text content");
    assert_eq!(&serde_json::from_str::<Value>(text).unwrap(), weather);
}

#[tokio::test]
async fn kagent_token_without_the_gateway_audience_fails_with_401() {
    let g = Guide::start().await;
    let mut no_aud = sa_claims();
    no_aud.as_object_mut().unwrap().remove("aud");
    // `kubectl create token` without `--audience` gives the API server's audience instead.
    let api_aud = with(sa_claims(), json!({"aud": [ISSUER]}));
    for (what, claims) in [("aud missing", no_aud), ("aud of the API server", api_aud)] {
        let token = g.key.sign(&claims);
        let error = kagent(&g, &token, &["--call", "get_weather_data"])
            .await
            .expect_err(what);
        assert_eq!(error["httpStatus"], 401, "{what}: {error}");
        assert_eq!(
            error["stage"], "create_session",
            "{what}: refused at initialize: {error}"
        );
        assert_eq!(error["type"], "HTTPStatusError", "{what}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains("401"),
            "{what}: {error}"
        );

        // The same token on a raw request: 401 with the RFC 6750 challenge.
        let reply = common::post_json(
            &g.mcp(),
            &[("authorization", &format!("Bearer {token}"))],
            &tools_list(),
        )
        .await;
        let (status, code, message) = reply.error();
        assert_eq!((status, code), (401, -32600), "{what}: {}", reply.text);
        let audiences = if what == "aud missing" {
            "[]".to_string()
        } else {
            format!("[\"{ISSUER}\"]")
        };
        assert_eq!(
            message,
            format!("Unauthorized: token audience {audiences} is not accepted"),
            "{what}"
        );
        let challenge = reply.headers.get("www-authenticate").unwrap();
        assert!(
            challenge.to_str().unwrap().starts_with("Bearer"),
            "{what}: {challenge:?}"
        );
    }
}

#[tokio::test]
async fn kagent_terminate_on_close_deletes_the_session() {
    let g = Guide::start().await;
    let token = g.token();
    let spec = remote_mcp_server_spec();
    assert!(
        spec.get("terminateOnClose").is_none(),
        "the deploy file leaves terminateOnClose to its CRD default (true): {spec}"
    );

    // The deploy file's settings: the client sends DELETE on close, so the session id is dead afterwards.
    let out = kagent(&g, &token, &[]).await.unwrap();
    let closed = out["sessionId"].as_str().unwrap();
    let reply = g.on_session(&token, closed, &tools_list()).await;
    assert_eq!(
        reply.error(),
        (404, -32600, common::NO_SESSION.into()),
        "a session KAgent closed must be gone"
    );

    // Control: with terminateOnClose false the same client leaves its session open, and it still serves.
    let out = kagent(&g, &token, &["--terminate-on-close", "false"])
        .await
        .unwrap();
    let open = out["sessionId"].as_str().unwrap();
    assert_ne!(open, closed);
    let reply = g.on_session(&token, open, &tools_list()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let messages = reply.messages();
    let listed = messages
        .iter()
        .find(|m| m["id"] == 9)
        .unwrap_or_else(|| panic!("no answer: {}", reply.text));
    assert_eq!(
        listed["result"]["tools"].as_array().map(Vec::len),
        Some(6),
        "{listed}"
    );

    // Another principal's token cannot use that session either (sessions are bound to their principal), and
    // the open session still answers its owner afterwards.
    let other = g.key.sign(&with(
        sa_claims(),
        json!({"sub": "system:serviceaccount:agent-core-infra:planning-agent-sa"}),
    ));
    let reply = g.on_session(&other, open, &tools_list()).await;
    assert_eq!(reply.error(), (404, -32600, common::NO_SESSION.into()));
    let reply = g.on_session(&token, open, &tools_list()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}
