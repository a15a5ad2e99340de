//! `claimToHeaders`: the upstream sees the token's claim, never a caller's forged copy of the header.

use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::identity_common::{ISSUER, JwksServer, TestKey, WEATHER_SA, sa_claims, with};
use crate::{OTHER_SA, common, recording_upstream};

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
