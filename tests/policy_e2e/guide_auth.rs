//! The guide's `jwt-authn`: a missing, expired or wrongly addressed token is answered 401 with a bearer
//! challenge pointing at the resource metadata, which a client cannot redirect.

use serde_json::{Value, json};

use crate::common;
use crate::guide::Guide;
use crate::identity_common::{ISSUER, WEATHER_SA, now, sa_claims, with};

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
