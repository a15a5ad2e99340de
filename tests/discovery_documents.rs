//! Discovery, filtered per caller: an MCP route's server card (`<route>/server-card`) lists the tools the
//! caller may call, and `/.well-known/ai-catalog.json` the MCP routes and A2A agents (a real a2a-sdk
//! agent) it may use, both marked private to the caller; progressive discovery (`search_tools`,
//! `describe_tools`) searches and describes only the caller's tools. Tokens from a test JWKS.

mod common;
mod identity_common;

use identity_common::{ISSUER, JwksServer, TestKey, WEATHER_SA, sa_claims, with};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

const OTHER_SA: &str = "system:serviceaccount:agent-core-infra:planning-agent-sa";
const ALL_SA: &str = "system:serviceaccount:agent-core-infra:admin-sa";

/// An MCP route over the sample tools (`mcp` its `mcp:` settings), the weather SA allowed two of them and
/// `ALL_SA` every one, and an A2A route to `agent` for the weather SA.
fn yaml(jwks: &str, agent: &str, mcp: &str) -> String {
    let authn = format!(
        "{{type: jwt-authn, jwt: {{issuer: '{ISSUER}', audiences: [agent-gateway], jwksUri: '{jwks}'}}}}"
    );
    format!(
        "binds:
  - port: 0
    address: 127.0.0.1
    listeners:
      - name: l
        routes:
          - name: tools
            match: {{path: {{prefix: /mcp}}}}
            mcp: {{{mcp}}}
            policies:
              - {authn}
              - {{type: mcp-authz, mcp: {{rules: [{{principal: '{WEATHER_SA}', allowedTools: [get_weather_data, execute_code]}}, {{principal: '{ALL_SA}', allowedTools: ['*']}}]}}}}
            backends:
              - {{name: sample, type: sample}}
          - name: agents
            match: {{path: {{prefix: /agents}}}}
            policies:
              - {authn}
              - {{type: a2a-authz, a2a: {{rules: [{{source: '{WEATHER_SA}', target: weather-agent, allowed: true}}]}}}}
            backends:
              - {{name: weather, address: '{agent}', agentName: weather-agent}}
"
    )
}

/// GET `url` with `token`: status, the privacy headers, and the JSON body.
async fn get(url: &str, token: Option<&str>) -> (u16, (String, String), Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let privacy = (header("cache-control"), header("vary"));
    let status = response.status().as_u16();
    (
        status,
        privacy,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn cards_and_the_catalog_show_each_caller_its_own_view() {
    let (_agent, agent_url) = common::a2a_agent("venv-a2a", "weather-agent", &[]).await;
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let jwks = JwksServer::start(&[&key]).await;
    let gw = common::gateway(&yaml(&jwks.url(), &agent_url, "")).await;
    let token = |sub: &str| key.sign(&with(sa_claims(), json!({"sub": sub})));
    let (weather, other) = (token(WEATHER_SA), token(OTHER_SA));
    let private = (
        "private, max-age=60".to_string(),
        "Authorization".to_string(),
    );

    let (status, privacy, card) = get(&gw.url("/mcp/server-card"), Some(&weather)).await;
    assert_eq!((status, &privacy), (200, &private), "{card}");
    assert_eq!(
        names(&card["tools"]),
        ["get_weather_data", "execute_code"],
        "{card}"
    );
    assert_eq!(card["remotes"][0]["url"], gw.url("/mcp"), "{card}");
    let (_, _, card) = get(&gw.url("/mcp/server-card"), Some(&other)).await;
    assert_eq!(card["tools"], json!([]), "denied by default: {card}");
    assert_eq!(get(&gw.url("/mcp/server-card"), None).await.0, 401);

    let (status, privacy, catalog) =
        get(&gw.url("/.well-known/ai-catalog.json"), Some(&weather)).await;
    assert_eq!((status, &privacy), (200, &private), "{catalog}");
    assert_eq!(names(&catalog["mcpServers"]), ["tools"], "{catalog}");
    assert_eq!(
        catalog["mcpServers"][0]["card"],
        gw.url("/mcp/server-card"),
        "{catalog}"
    );
    assert_eq!(names(&catalog["agents"]), ["weather-agent"], "{catalog}");
    let agent_card = catalog["agents"][0]["card"].as_str().unwrap().to_string();
    let (status, _, card) = get(&agent_card, Some(&weather)).await;
    assert_eq!(
        (status, card["name"].as_str()),
        (200, Some("weather-agent")),
        "{agent_card}: {card}"
    );

    // Another caller sees neither the tools nor the agent; a caller without a token, nothing at all.
    let (_, _, catalog) = get(&gw.url("/.well-known/ai-catalog.json"), Some(&other)).await;
    assert_eq!(catalog, json!({"mcpServers": [], "agents": []}));
    let (status, _, catalog) = get(&gw.url("/.well-known/ai-catalog.json"), None).await;
    assert_eq!(
        (status, catalog),
        (200, json!({"mcpServers": [], "agents": []}))
    );
}

async fn rpc(url: &str, token: &str, id: u64, method: &str, params: Value) -> Value {
    let bearer = format!("Bearer {token}");
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let reply = common::post_json(url, &[("authorization", &bearer)], &body).await;
    reply.messages().pop().expect("a JSON-RPC answer")
}

async fn listed(url: &str, token: &str) -> Vec<String> {
    common::tool_names(&rpc(url, token, 1, "tools/list", json!({})).await)
}

async fn search(url: &str, token: &str, query: &str) -> Vec<String> {
    let answer = rpc(
        url,
        token,
        2,
        "tools/call",
        json!({"name": "search_tools", "arguments": {"query": query}}),
    )
    .await;
    let found = answer["result"]["structuredContent"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    found
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn progressive_discovery_searches_and_describes_only_the_callers_tools() {
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let jwks = JwksServer::start(&[&key]).await;
    let token = |sub: &str| key.sign(&with(sa_claims(), json!({"sub": sub})));
    let (weather, all) = (token(WEATHER_SA), token(ALL_SA));
    let gw = common::gateway(&yaml(
        &jwks.url(),
        "http://127.0.0.1:9",
        "discovery: progressive",
    ))
    .await;
    let url = gw.url("/mcp");

    assert_eq!(
        listed(&url, &weather).await,
        ["search_tools", "describe_tools"]
    );
    assert_eq!(
        search(&url, &all, "weather data").await[0],
        "get_weather_data"
    );
    assert_eq!(
        search(&url, &all, "store preferences").await.len(),
        3,
        "store_user_preferences, get_activity_preferences, store_activity_plan"
    );
    assert_eq!(
        search(&url, &weather, "store preferences").await,
        Vec::<String>::new(),
        "not in the caller's view"
    );
    assert_eq!(
        search(&url, &weather, "execute code").await[0],
        "execute_code"
    );

    let described = rpc(&url, &weather, 3, "tools/call", json!({"name": "describe_tools", "arguments": {"names": ["get_weather_data", "store_user_preferences", "nope"]}})).await;
    let result = &described["result"]["structuredContent"];
    assert_eq!(names(&result["tools"]), ["get_weather_data"], "{described}");
    assert!(result["tools"][0]["inputSchema"].is_object(), "{described}");
    assert_eq!(
        result["unknown"],
        json!(["store_user_preferences", "nope"]),
        "a tool out of view is unknown"
    );

    // Every tool in the view is still called directly; one out of it is refused as before.
    let called = rpc(
        &url,
        &weather,
        4,
        "tools/call",
        json!({"name": "get_weather_data", "arguments": {"city": "Tampa, FL"}}),
    )
    .await;
    assert_eq!(
        called["result"]["structuredContent"]["city"], "Tampa, FL",
        "{called}"
    );
    let refused = rpc(
        &url,
        &weather,
        5,
        "tools/call",
        json!({"name": "store_user_preferences", "arguments": {}}),
    )
    .await;
    assert!(refused.get("error").is_some(), "{refused}");
    let bad = rpc(
        &url,
        &weather,
        6,
        "tools/call",
        json!({"name": "search_tools", "arguments": {}}),
    )
    .await;
    assert_eq!(bad["error"]["code"], -32602, "{bad}");

    // Above a number of visible tools only: two are listed whole, six are searched.
    let gw = common::gateway(&yaml(
        &jwks.url(),
        "http://127.0.0.1:9",
        "discovery: progressive, progressiveAbove: 3",
    ))
    .await;
    let url = gw.url("/mcp");
    assert_eq!(
        listed(&url, &weather).await,
        ["get_weather_data", "execute_code"]
    );
    assert_eq!(listed(&url, &all).await, ["search_tools", "describe_tools"]);
}
