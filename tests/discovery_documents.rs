//! The discovery documents, filtered per caller: an MCP route's server card (`<route>/server-card`) lists
//! the tools the caller may call, and `/.well-known/ai-catalog.json` the MCP routes and A2A agents (a real
//! a2a-sdk agent) it may use; both are marked private to the caller. Tokens from a test JWKS.

mod common;
mod identity_common;

use identity_common::{ISSUER, JwksServer, TestKey, WEATHER_SA, sa_claims, with};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

const OTHER_SA: &str = "system:serviceaccount:agent-core-infra:planning-agent-sa";

fn yaml(jwks: &str, agent: &str) -> String {
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
            policies:
              - {authn}
              - {{type: mcp-authz, mcp: {{rules: [{{principal: '{WEATHER_SA}', allowedTools: [get_weather_data, execute_code]}}]}}}}
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
    let gw = common::gateway(&yaml(&jwks.url(), &agent_url)).await;
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
