//! `X-Forwarded-Host`/`-Proto` name the gateway's public URL in what it hands out (here: an agent card
//! rewritten for the caller, from a real a2a-sdk agent). They are believed only from a peer listed in
//! `security.trustedProxies`; from any other peer they are dropped, so a client cannot make the gateway
//! advertise a host of the client's choosing.

mod common;

use serde_json::Value;

async fn card_url(gw: &common::Gateway) -> String {
    let card: Value = reqwest::Client::new()
        .get(gw.url("/agents/weather-agent/.well-known/agent-card.json"))
        .header("x-forwarded-host", "gw.example.com")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    card["url"].as_str().unwrap().to_string()
}

fn yaml(agent: &str, security: &str) -> String {
    format!(
        "binds:\n- port: 0\n  address: 127.0.0.1\n  listeners:\n  - name: a2a\n    routes:\n    - name: agents\n      match: {{path: {{prefix: /agents}}}}\n      backends:\n      - {{name: weather, address: '{agent}', agentName: weather-agent}}\n{security}"
    )
}

#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    let (_agent, base) = common::a2a_agent("venv-a2a03", "weather-agent", &[]).await;

    let untrusting = common::gateway(&yaml(&base, "")).await;
    assert_eq!(
        card_url(&untrusting).await,
        format!("http://{}/agents/weather-agent/", untrusting.addr),
        "a client's X-Forwarded-* headers were believed"
    );

    let elsewhere =
        common::gateway(&yaml(&base, "security: {trustedProxies: [10.0.0.0/8]}\n")).await;
    assert_eq!(
        card_url(&elsewhere).await,
        format!("http://{}/agents/weather-agent/", elsewhere.addr),
        "believed from a peer outside trustedProxies"
    );

    let trusting = common::gateway(&yaml(&base, "security: {trustedProxies: [127.0.0.1]}\n")).await;
    assert_eq!(
        card_url(&trusting).await,
        "https://gw.example.com/agents/weather-agent/",
        "a trusted proxy's headers name the public URL"
    );
}
