//! jwt-authn in a cluster, against a fake Kubernetes API server: the in-cluster JWKS fetch (service-account
//! token, cluster CA) and `mode: tokenReview`.

mod common;
mod identity_common;

use agent_gateway::config::{JwtAuthn, JwtMode};
use agent_gateway::core::identity::{AuthError, Authenticator};
use identity_common::*;
use jsonwebtoken::Algorithm;
use serde_json::json;

const JWKS_PATH: &str = "/openid/v1/jwks";
const REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

struct Cluster {
    api: FakeKubeApi,
    signing: TestKey,
    sa_token_file: tempfile::NamedTempFile,
}

/// A cluster whose API server knows the gateway's service-account token (`may_review`: RBAC for TokenReview).
async fn cluster(gateway_token: &str, may_review: bool) -> Cluster {
    let signing = TestKey::load("rsa-a", Algorithm::RS256);
    let api = FakeKubeApi::start(signing.clone()).await;
    api.gateway_tokens
        .lock()
        .unwrap()
        .insert(gateway_token.to_string(), may_review);
    let sa_token_file = tempfile::NamedTempFile::new().unwrap();
    // The kubelet writes the token without a trailing newline; a hand-made file often has one.
    std::fs::write(sa_token_file.path(), format!("{gateway_token}\n")).unwrap();
    Cluster {
        api,
        signing,
        sa_token_file,
    }
}

fn in_cluster_policy(c: &Cluster, mode: JwtMode) -> JwtAuthn {
    JwtAuthn {
        issuer: ISSUER.into(),
        audiences: vec![AUDIENCE.into()],
        jwks_uri: format!("{}{JWKS_PATH}", c.api.url()),
        mode,
        kubernetes: Some(true),
        service_account_token_path: Some(c.sa_token_file.path().to_string_lossy().into()),
        ca_path: Some(fixture("ca.crt").to_string_lossy().into()),
        ..Default::default()
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn in_cluster_jwks_is_fetched_with_the_service_account_and_cluster_ca() {
    let c = cluster("gateway-sa-token", false).await;
    let a = Authenticator::new(&in_cluster_policy(&c, JwtMode::Jwks)).unwrap();
    let id = a
        .authenticate(Some(&bearer(&c.signing.sign(&sa_claims()))))
        .await
        .unwrap();
    assert_eq!(id.principal, WEATHER_SA);
    assert_eq!(c.api.calls(JWKS_PATH), 1);
}

#[tokio::test]
async fn in_cluster_jwks_without_a_valid_service_account_token_is_unavailable() {
    let c = cluster("gateway-sa-token", false).await;
    std::fs::write(c.sa_token_file.path(), "revoked").unwrap();
    let a = Authenticator::new(&in_cluster_policy(&c, JwtMode::Jwks)).unwrap();
    let e = a
        .authenticate(Some(&bearer(&c.signing.sign(&sa_claims()))))
        .await
        .unwrap_err();
    let AuthError::KeysUnavailable(why) = &e else {
        panic!("{e:?}")
    };
    assert!(why.contains("401"), "{why}");
}

#[tokio::test]
async fn the_cluster_ca_is_required_and_public_roots_do_not_trust_it() {
    let c = cluster("gateway-sa-token", false).await;
    // Outside in-cluster mode the compiled-in public roots are used: the private cluster CA is not among them.
    let mut p = in_cluster_policy(&c, JwtMode::Jwks);
    p.kubernetes = Some(false);
    let a = Authenticator::new(&p).unwrap();
    let e = a
        .authenticate(Some(&bearer(&c.signing.sign(&sa_claims()))))
        .await
        .unwrap_err();
    let AuthError::KeysUnavailable(why) = &e else {
        panic!("{e:?}")
    };
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    assert_eq!(c.api.calls(JWKS_PATH), 0, "the TLS handshake failed first");

    // In-cluster with a missing CA bundle: the reason names the file.
    let mut p = in_cluster_policy(&c, JwtMode::Jwks);
    p.ca_path = Some("/nonexistent/ca.crt".into());
    let a = Authenticator::new(&p).unwrap();
    let e = a
        .authenticate(Some(&bearer(&c.signing.sign(&sa_claims()))))
        .await
        .unwrap_err();
    let AuthError::KeysUnavailable(why) = &e else {
        panic!("{e:?}")
    };
    assert!(why.contains("/nonexistent/ca.crt"), "{why}");
}

#[tokio::test]
async fn token_review_authenticates_rejects_and_caches() {
    let c = cluster("gateway-sa-token", true).await;
    let a = Authenticator::new(&in_cluster_policy(&c, JwtMode::TokenReview)).unwrap();

    let good = c.signing.sign(&sa_claims());
    for _ in 0..5 {
        let id = a.authenticate(Some(&bearer(&good))).await.unwrap();
        assert_eq!(id.principal, WEATHER_SA);
        assert_eq!(id.claims["sub"], WEATHER_SA);
        assert_eq!(id.claims["aud"], json!([AUDIENCE]));
        assert_eq!(
            id.claims["groups"],
            json!([
                "system:serviceaccounts",
                "system:serviceaccounts:agent-core-infra",
                "system:authenticated"
            ])
        );
    }
    assert_eq!(c.api.calls(REVIEW_PATH), 1, "answers are reused briefly");
    assert_eq!(a.stats().token_reviews, 1);
    assert_eq!(a.stats().cache_hits, 4);

    // `kubectl create token <sa>` without --audience: the API server refuses it for our audience.
    let wrong_aud = c.signing.sign(&with(sa_claims(), json!({"aud": [ISSUER]})));
    let e = a.authenticate(Some(&bearer(&wrong_aud))).await.unwrap_err();
    let AuthError::Rejected { reason } = &e else {
        panic!("{e:?}")
    };
    assert!(
        reason.contains("is invalid for the target audiences"),
        "{reason}"
    );
    assert!(
        e.operator_hint()
            .contains("kubectl create token <sa> --audience agent-gateway"),
        "{}",
        e.operator_hint()
    );
    assert_eq!(e.status(), 401);
    // A rejected token retried at once gets the same refusal and does not cost another review.
    let again = a.authenticate(Some(&bearer(&wrong_aud))).await.unwrap_err();
    assert_eq!(again, e);
    assert_eq!(c.api.calls(REVIEW_PATH), 2);

    let forged = TestKey::load("rsa-b", Algorithm::RS256).sign(&sa_claims());
    assert!(matches!(
        a.authenticate(Some(&bearer(&forged))).await,
        Err(AuthError::Rejected { .. })
    ));
}

#[tokio::test]
async fn token_review_without_rbac_names_the_missing_grant() {
    let c = cluster("gateway-sa-token", false).await;
    let a = Authenticator::new(&in_cluster_policy(&c, JwtMode::TokenReview)).unwrap();
    let e = a
        .authenticate(Some(&bearer(&c.signing.sign(&sa_claims()))))
        .await
        .unwrap_err();
    let AuthError::ReviewUnavailable(why) = &e else {
        panic!("{e:?}")
    };
    assert!(
        why.contains("403") && why.contains("cannot create resource \"tokenreviews\""),
        "{why}"
    );
    assert!(e.operator_hint().contains("system:auth-delegator"));
    assert_eq!(e.status(), 503);
    // Not cached: once the grant exists the next request succeeds.
    c.api
        .gateway_tokens
        .lock()
        .unwrap()
        .insert("gateway-sa-token".into(), true);
    assert!(
        a.authenticate(Some(&bearer(&c.signing.sign(&sa_claims()))))
            .await
            .is_ok()
    );
}
