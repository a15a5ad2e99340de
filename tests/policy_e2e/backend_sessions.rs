//! A caller without rights on a backend costs it nothing: no upstream session, no forwarded `logging/setLevel`.

use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::identity_common::{ISSUER, JwksServer, TestKey, WEATHER_SA, sa_claims, with};
use crate::{OTHER_SA, common, recording_upstream};

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
