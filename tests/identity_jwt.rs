//! jwt-authn against a real JWKS server that rotates its keys, with tokens minted here from real keys.

mod common;
mod identity_common;

use std::time::{Duration, Instant};

use agent_gateway::config::{ClaimToHeader, JwtAuthn};
use agent_gateway::core::identity::{AuthError, Authenticator};
use identity_common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn policy(jwks_uri: &str) -> JwtAuthn {
    JwtAuthn {
        issuer: ISSUER.into(),
        audiences: vec![AUDIENCE.into()],
        jwks_uri: jwks_uri.into(),
        claim_to_headers: vec![ClaimToHeader {
            claim: "sub".into(),
            header: "x-agent-identity".into(),
        }],
        ..Default::default()
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn auth(a: &Authenticator, token: &str) -> Result<String, AuthError> {
    a.authenticate(Some(&bearer(token)))
        .await
        .map(|i| i.principal)
}

#[tokio::test]
async fn every_accepted_algorithm_verifies_and_names_the_principal() {
    let rsa = TestKey::load("rsa-a", Algorithm::RS256);
    let p256 = TestKey::load("ec-p256", Algorithm::ES256);
    let p384 = TestKey::load("ec-p384", Algorithm::ES384);
    let ed = TestKey::load("ed25519", Algorithm::EdDSA);
    let server = JwksServer::start(&[&rsa, &p256, &p384, &ed]).await;
    let a = Authenticator::new(&policy(&server.url())).unwrap();
    let claims = sa_claims();
    for (key, alg) in [
        (&rsa, Algorithm::RS256),
        (&rsa, Algorithm::RS384),
        (&rsa, Algorithm::RS512),
        (&rsa, Algorithm::PS256),
        (&p256, Algorithm::ES256),
        (&p384, Algorithm::ES384),
        (&ed, Algorithm::EdDSA),
    ] {
        let id = a
            .authenticate(Some(&bearer(&key.sign_as(alg, &claims))))
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
        assert_eq!(id.principal, WEATHER_SA);
        assert_eq!(id.claims["kubernetes.io"]["namespace"], "agent-core-infra");
        let headers = a.claim_headers(&id);
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].0, "x-agent-identity");
        assert_eq!(headers[0].1, WEATHER_SA);
    }
    assert_eq!(a.injected_header_names(), ["x-agent-identity"]);
    assert_eq!(server.fetches(), 1, "one JWKS download serves every key");
}

#[tokio::test]
async fn time_audience_and_issuer_failures_are_exact() {
    let rsa = TestKey::load("rsa-a", Algorithm::RS256);
    let server = JwksServer::start(&[&rsa]).await;
    let a = Authenticator::new(&policy(&server.url())).unwrap();
    let now = now();

    let exp = now - 120;
    let t = rsa.sign(&with(
        sa_claims(),
        json!({"exp": exp, "iat": now - 4000, "nbf": now - 4000}),
    ));
    assert_eq!(auth(&a, &t).await, Err(AuthError::Expired { exp }));

    // Inside the default 30s leeway an expired token still passes: clocks drift.
    let t = rsa.sign(&with(sa_claims(), json!({"exp": now - 10})));
    assert_eq!(auth(&a, &t).await, Ok(WEATHER_SA.to_string()));

    let nbf = now + 300;
    let t = rsa.sign(&with(sa_claims(), json!({"nbf": nbf})));
    assert_eq!(auth(&a, &t).await, Err(AuthError::NotYetValid { nbf }));

    let iat = now + 300;
    let t = rsa.sign(&with(sa_claims(), json!({"iat": iat})));
    assert_eq!(auth(&a, &t).await, Err(AuthError::IssuedInFuture { iat }));

    // `kubectl create token <sa>` without --audience: the API server's own audience.
    let t = rsa.sign(&with(sa_claims(), json!({"aud": [ISSUER]})));
    let e = auth(&a, &t).await.unwrap_err();
    assert_eq!(
        e,
        AuthError::WrongAudience {
            found: vec![ISSUER.into()]
        }
    );
    assert!(
        e.operator_hint()
            .contains("kubectl create token <sa> --audience agent-gateway")
    );
    assert_eq!(e.status(), 401);

    // An EKS token: its issuer is the cluster's OIDC URL.
    let eks = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let t = rsa.sign(&with(sa_claims(), json!({"iss": eks})));
    let e = auth(&a, &t).await.unwrap_err();
    assert_eq!(e, AuthError::WrongIssuer { found: eks.into() });
    assert!(
        e.operator_hint()
            .contains("kubectl get --raw /.well-known/openid-configuration")
    );
    assert!(
        e.www_authenticate("https://gw/.well-known/oauth-protected-resource/mcp")
            .starts_with("Bearer realm=\"agent-gateway\", error=\"invalid_token\", error_description=\"token issuer")
    );

    let mut no_sub = sa_claims();
    no_sub.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        auth(&a, &rsa.sign(&no_sub)).await,
        Err(AuthError::MissingClaim("sub"))
    );
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let rsa = TestKey::load("rsa-a", Algorithm::RS256);
    let other = TestKey {
        kid: "rsa-a".into(),
        ..TestKey::load("rsa-b", Algorithm::RS256)
    };
    let server = JwksServer::start(&[&rsa]).await;
    let a = Authenticator::new(&policy(&server.url())).unwrap();
    let good = rsa.sign(&sa_claims());

    // Tampered payload, original signature.
    let parts: Vec<&str> = good.split('.').collect();
    let evil = with(
        payload(&good),
        json!({"sub": "system:serviceaccount:kube-system:admin"}),
    );
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(evil.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(auth(&a, &tampered).await, Err(AuthError::BadSignature));

    // Right kid, wrong private key.
    assert_eq!(
        auth(&a, &other.sign(&sa_claims())).await,
        Err(AuthError::BadSignature)
    );

    // alg: none with an empty signature.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(sa_claims().to_string().as_bytes())
    );
    assert_eq!(
        auth(&a, &none).await,
        Err(AuthError::AlgorithmNotAllowed { alg: "none".into() })
    );

    // The key-confusion attack: HS256 keyed with the issuer's public RSA key.
    let public_pem = std::fs::read(fixture("rsa-a.pub.pem")).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-a".into());
    let confused = jsonwebtoken::encode(
        &header,
        &sa_claims(),
        &EncodingKey::from_secret(&public_pem),
    )
    .unwrap();
    assert_eq!(
        auth(&a, &confused).await,
        Err(AuthError::AlgorithmNotAllowed {
            alg: "HS256".into()
        })
    );

    // An EC algorithm naming the RSA key.
    let p256 = TestKey {
        kid: "rsa-a".into(),
        ..TestKey::load("ec-p256", Algorithm::ES256)
    };
    assert_eq!(
        auth(&a, &p256.sign(&sa_claims())).await,
        Err(AuthError::KeyAlgorithmMismatch {
            kid: Some("rsa-a".into()),
            alg: "ES256".into()
        })
    );

    assert_eq!(a.authenticate(None).await, Err(AuthError::Missing));
    assert!(matches!(
        a.authenticate(Some("Basic dXNlcjpwYXNz")).await,
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        a.authenticate(Some("Bearer not-a-jwt")).await,
        Err(AuthError::Malformed(_))
    ));
    assert_eq!(auth(&a, &good).await, Ok(WEATHER_SA.to_string()));
}

#[tokio::test]
async fn rotation_is_learnt_on_an_unknown_kid_at_a_limited_rate() {
    let key_a = TestKey::load("rsa-a", Algorithm::RS256);
    let key_b = TestKey::load("rsa-b", Algorithm::RS256);
    let server = JwksServer::start(&[&key_a]).await;
    let mut cfg = policy(&server.url());
    cfg.jwks_min_refresh_interval = Some(Duration::from_millis(700));
    let a = Authenticator::new(&cfg).unwrap();
    // Every token is signed before the clock starts: RSA signing in a debug build on a loaded machine can
    // take longer than the refresh interval, which would let a legitimate second fetch in.
    let token_a = key_a.sign(&sa_claims());
    let token_b = key_b.sign(&sa_claims());
    let flood: Vec<String> = (0..100)
        .map(|i| {
            TestKey {
                kid: format!("forged-{i}"),
                ..key_b.clone()
            }
            .sign(&sa_claims())
        })
        .collect();

    // Before the first fetch, so at least as long before the store's own record of it.
    let first_fetch = Instant::now();
    assert_eq!(auth(&a, &token_a).await, Ok(WEATHER_SA.to_string()));
    assert_eq!(server.fetches(), 1);

    // The issuer rotates: b replaces a.
    server.rotate(&[&key_b]);

    // The last fetch was just now, so the unknown kid is refused without asking the issuer again...
    assert_eq!(
        auth(&a, &token_b).await,
        Err(AuthError::UnknownKey {
            kid: Some("rsa-b".into())
        })
    );
    // ...and so is a flood of made-up kids.
    for t in &flood {
        assert!(matches!(
            auth(&a, t).await,
            Err(AuthError::UnknownKey { .. })
        ));
    }
    assert_eq!(server.fetches(), 1, "unknown kids did not reach the issuer");

    // Once the 700ms since that fetch have passed, the unknown kid is worth one more fetch. Asked until it is
    // accepted (the store measures the interval with the real clock, so this waits for it); every refusal
    // before that costs no fetch.
    let accepted_after = loop {
        match auth(&a, &token_b).await {
            Ok(principal) => {
                assert_eq!(principal, WEATHER_SA);
                break first_fetch.elapsed();
            }
            Err(e) => {
                assert_eq!(
                    e,
                    AuthError::UnknownKey {
                        kid: Some("rsa-b".into())
                    }
                );
                assert_eq!(server.fetches(), 1, "refused, yet the issuer was asked");
                assert!(
                    first_fetch.elapsed() < Duration::from_secs(10),
                    "the new key was never learnt"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert!(
        accepted_after >= Duration::from_millis(700),
        "the new key was learnt {accepted_after:?} after the first fetch, within the 700ms interval"
    );
    assert_eq!(server.fetches(), 2, "one refresh learnt the new key");

    // Flooding again right after the refresh costs at most one more fetch, however many requests.
    let floods = flood.iter().map(|t| auth(&a, t));
    for r in futures_util::future::join_all(floods).await {
        assert!(matches!(r, Err(AuthError::UnknownKey { .. })));
    }
    assert_eq!(server.fetches(), 2);

    // Key a left the JWKS: its token, though cached as verified, is no longer accepted.
    assert_eq!(
        auth(&a, &token_a).await,
        Err(AuthError::UnknownKey {
            kid: Some("rsa-a".into())
        })
    );
    assert_eq!(a.stats().jwks_fetches, server.fetches() as u64);
}

#[tokio::test]
async fn verified_tokens_are_served_from_the_cache() {
    let key = TestKey::load("ec-p256", Algorithm::ES256);
    let server = JwksServer::start(&[&key]).await;
    let a = Authenticator::new(&policy(&server.url())).unwrap();
    let t1 = key.sign(&sa_claims());
    for _ in 0..50 {
        assert_eq!(auth(&a, &t1).await, Ok(WEATHER_SA.to_string()));
    }
    let s = a.stats();
    assert_eq!((s.signature_verifications, s.cache_hits), (1, 49));

    let t2 = key.sign(&with(sa_claims(), json!({"jti": "another"})));
    assert_eq!(auth(&a, &t2).await, Ok(WEATHER_SA.to_string()));
    assert_eq!(a.stats().signature_verifications, 2);

    // Failures are not cached as successes: a tampered copy of a cached token is checked and refused.
    let mut tampered = t1.clone();
    tampered.pop();
    tampered.push(if t1.ends_with('A') { 'B' } else { 'A' });
    assert!(auth(&a, &tampered).await.is_err());
    assert_eq!(a.stats().signature_verifications, 3);
}

#[tokio::test]
async fn a_failing_issuer_keeps_the_last_good_keys() {
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let server = JwksServer::start(&[&key]).await;
    let mut cfg = policy(&server.url());
    cfg.jwks_refresh_interval = Some(Duration::from_millis(100));
    cfg.jwks_min_refresh_interval = Some(Duration::from_millis(50));
    let a = Authenticator::new(&cfg).unwrap();
    assert!(auth(&a, &key.sign(&sa_claims())).await.is_ok());

    server.fail();
    // The background refresher keeps trying (every 100ms: after a failure it waits the refresh interval, never
    // less than the minimum): wait until three refreshes have failed.
    let failing_since = server.fetches();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.fetches() < failing_since + 3 {
        assert!(
            Instant::now() < deadline,
            "{} background refreshes in 10s",
            server.fetches() - failing_since
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A token never seen (so not cached) still verifies with the kept key.
    let fresh = key.sign(&with(sa_claims(), json!({"jti": "fresh"})));
    assert_eq!(auth(&a, &fresh).await, Ok(WEATHER_SA.to_string()));
}

#[tokio::test]
async fn an_unreachable_issuer_is_unavailable_not_a_bad_token() {
    let (_held, nobody) = common::refusing_addr();
    let a = Authenticator::new(&policy(&format!("http://{nobody}/jwks"))).unwrap();
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let e = auth(&a, &key.sign(&sa_claims())).await.unwrap_err();
    assert!(matches!(e, AuthError::KeysUnavailable(_)), "{e:?}");
    assert_eq!(e.status(), 503);
    assert!(
        e.operator_hint().contains("jwksUri"),
        "{}",
        e.operator_hint()
    );
    // Repeated failures do not retry the issuer on every request: the next one gets the same answer from
    // the failure on record.
    let again = auth(&a, &key.sign(&sa_claims())).await.unwrap_err();
    assert_eq!(again, e);
    assert_eq!(a.stats().jwks_fetches, 1, "no second fetch");
}

#[test]
fn the_policy_fields_are_read_from_yaml() {
    let yaml = r#"
binds:
- port: 8080
  listeners:
  - name: l
    routes:
    - name: r
      match: {path: {prefix: /mcp}}
      policies:
      - type: jwt-authn
        jwt:
          issuer: https://kubernetes.default.svc
          audiences: [agent-gateway]
          jwksUri: https://kubernetes.default.svc/openid/v1/jwks
          leeway: 10s
          mode: tokenReview
          kubernetes: true
          serviceAccountTokenPath: /tmp/token
          caPath: /tmp/ca.crt
          apiServer: https://10.100.0.1:443
          jwksRefreshInterval: 1m
          jwksMinRefreshInterval: 5s
          claimToHeaders:
          - {claim: sub, header: x-agent-identity}
      backends: [{name: s, type: sample}]
"#;
    let loaded = agent_gateway::config::load_str(yaml, "t.yaml").unwrap();
    let agent_gateway::config::PolicyKind::JwtAuthn(j) =
        &loaded.config.binds[0].listeners[0].routes[0].policies[0].kind
    else {
        panic!()
    };
    assert_eq!(j.leeway, Some(Duration::from_secs(10)));
    assert_eq!(j.mode, agent_gateway::config::JwtMode::TokenReview);
    assert_eq!(j.kubernetes, Some(true));
    assert_eq!(j.service_account_token_path.as_deref(), Some("/tmp/token"));
    assert_eq!(j.ca_path.as_deref(), Some("/tmp/ca.crt"));
    assert_eq!(j.api_server.as_deref(), Some("https://10.100.0.1:443"));
    assert_eq!(j.jwks_refresh_interval, Some(Duration::from_secs(60)));
    assert_eq!(j.jwks_min_refresh_interval, Some(Duration::from_secs(5)));
    assert!(Authenticator::new(j).is_ok());
}
