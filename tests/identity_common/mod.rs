//! Shared by the identity tests: real keys from tests/fixtures/identity, token minting, a JWKS server that can
//! rotate its keys, and a fake Kubernetes API server over TLS (both on `common::stub`; a test that uses this
//! module declares `mod common;` too).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::StatusCode;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::stub::{Answer, Request, Stub};

pub const ISSUER: &str = "https://kubernetes.default.svc";
pub const AUDIENCE: &str = "agent-gateway";
pub const WEATHER_SA: &str = "system:serviceaccount:agent-core-infra:ekspoc-v6-kagent-agent-sa";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/identity")
        .join(name)
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A private key from the fixtures, with its kid and the algorithm tokens are signed with.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pub key: EncodingKey,
}

impl TestKey {
    /// `rsa-a`, `rsa-b` (PKCS#1 DER), `ec-p256`, `ec-p384`, `ed25519` (PKCS#8 DER).
    pub fn load(file: &str, alg: Algorithm) -> TestKey {
        let der = std::fs::read(fixture(&format!("{file}.der"))).unwrap();
        let key = match file {
            f if f.starts_with("rsa") => EncodingKey::from_rsa_der(&der),
            f if f.starts_with("ec") => EncodingKey::from_ec_der(&der),
            _ => EncodingKey::from_ed_der(&der),
        };
        TestKey {
            kid: file.to_string(),
            alg,
            key,
        }
    }

    /// The public JWK as an issuer publishes it (no `alg`, as Kubernetes does for RSA; `use: sig`).
    pub fn jwk(&self) -> Value {
        let jwk = Jwk::from_encoding_key(&self.key, self.alg).unwrap();
        let mut v = serde_json::to_value(jwk).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("alg");
        o.insert("kid".into(), json!(self.kid));
        o.insert("use".into(), json!("sig"));
        v
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.alg, claims)
    }

    pub fn sign_as(&self, alg: Algorithm, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

pub fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
}

/// Claims as `kubectl create token ekspoc-v6-kagent-agent-sa --audience agent-gateway` gives them.
pub fn sa_claims() -> Value {
    let now = now();
    json!({
        "aud": [AUDIENCE],
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "iss": ISSUER,
        "jti": "6a8b1c1e-3c5e-4c8e-9d2e-1f2a3b4c5d6e",
        "kubernetes.io": {
            "namespace": "agent-core-infra",
            "serviceaccount": {"name": "ekspoc-v6-kagent-agent-sa", "uid": "0d7f8a90-1111-2222-3333-444455556666"}
        },
        "sub": WEATHER_SA
    })
}

pub fn with(mut claims: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The payload of a token, unverified (for the fake API server and for tampering).
pub fn payload(token: &str) -> Value {
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

/// A JSON answer.
pub fn respond(status: StatusCode, body: impl Into<Bytes>) -> Answer {
    Answer::status(status.as_u16(), "application/json", body)
}

/// A JWKS endpoint whose keys the test replaces at will, counting every fetch: a stub (`common::stub`) in
/// the role of the issuer, so the test decides when keys rotate and when the issuer fails.
pub struct JwksServer {
    pub addr: SocketAddr,
    body: Arc<Mutex<(StatusCode, String)>>,
    stub: Stub,
}

impl JwksServer {
    pub async fn start(keys: &[&TestKey]) -> JwksServer {
        let body = Arc::new(Mutex::new((StatusCode::OK, jwks(keys))));
        let b = body.clone();
        let stub = Stub::http()
            .start(move |req| {
                if req.path != "/jwks" {
                    return respond(StatusCode::NOT_FOUND, "{}");
                }
                let (status, text) = b.lock().unwrap().clone();
                respond(status, text)
            })
            .await;
        JwksServer {
            addr: stub.addr,
            body,
            stub,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    pub fn rotate(&self, keys: &[&TestKey]) {
        *self.body.lock().unwrap() = (StatusCode::OK, jwks(keys));
    }

    pub fn fail(&self) {
        *self.body.lock().unwrap() = (StatusCode::INTERNAL_SERVER_ERROR, "oops".into());
    }

    pub fn fetches(&self) -> usize {
        self.stub
            .requests()
            .iter()
            .filter(|r| r.path == "/jwks")
            .count()
    }
}

/// A Kubernetes API server as far as the gateway uses it: `GET /openid/v1/jwks` and `POST
/// /apis/authentication.k8s.io/v1/tokenreviews`, over TLS with a certificate from the fixture CA, both requiring
/// the gateway's service-account token (401 `Status` otherwise) and `tokenreviews` additionally the RBAC grant
/// (403 `Status` for a service account without it). A TokenReview verifies the token's signature against the
/// cluster's signing key and checks its audiences the way the API server does. A stub (`common::stub`): no
/// Kubernetes API server runs here.
pub struct FakeKubeApi {
    pub addr: SocketAddr,
    /// Bearer tokens of the gateway's service account, mapped to whether it may create TokenReviews.
    pub gateway_tokens: Arc<Mutex<HashMap<String, bool>>>,
    stub: Stub,
}

impl FakeKubeApi {
    pub async fn start(signing: TestKey) -> FakeKubeApi {
        let gateway_tokens: Arc<Mutex<HashMap<String, bool>>> = Arc::default();
        let g = gateway_tokens.clone();
        let handler = move |req: &Request| {
            let path = req.path.clone();
            let bearer = req
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string);
            let Some(may_review) = bearer.and_then(|t| g.lock().unwrap().get(&t).copied()) else {
                return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
            };
            match (req.method.as_str(), path.as_str()) {
                ("GET", "/openid/v1/jwks") => respond(StatusCode::OK, jwks(&[&signing])),
                ("POST", "/apis/authentication.k8s.io/v1/tokenreviews") if !may_review => status(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "tokenreviews.authentication.k8s.io is forbidden: User \"system:serviceaccount:agent-core-infra:agent-gateway\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope",
                ),
                ("POST", "/apis/authentication.k8s.io/v1/tokenreviews") => {
                    token_review(&signing, req)
                }
                _ => status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            }
        };
        let stub = Stub::http().tls(tls_config()).start(handler).await;
        FakeKubeApi {
            addr: stub.addr,
            gateway_tokens,
            stub,
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// How many requests for `path` arrived.
    pub fn calls(&self, path: &str) -> usize {
        self.stub
            .requests()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }
}

/// A `metav1.Status` failure, as the API server sends with 401/403/404.
fn status(code: StatusCode, reason: &str, message: &str) -> Answer {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code.as_u16()});
    respond(code, body.to_string())
}

fn token_review(signing: &TestKey, req: &Request) -> Answer {
    let Ok(review) = serde_json::from_slice::<Value>(&req.body) else {
        return status(StatusCode::BAD_REQUEST, "BadRequest", "bad body");
    };
    if review["apiVersion"] != "authentication.k8s.io/v1" || review["kind"] != "TokenReview" {
        return status(StatusCode::BAD_REQUEST, "BadRequest", "not a TokenReview");
    }
    let spec = review["spec"].clone();
    let token = spec["token"].as_str().unwrap_or_default();
    let wanted: Vec<String> = serde_json::from_value(spec["audiences"].clone()).unwrap_or_default();
    let key = jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(signing.jwk()).unwrap())
        .unwrap();
    let mut v = jsonwebtoken::Validation::new(signing.alg);
    v.validate_aud = false;
    v.set_issuer(&[ISSUER]);
    let status_json = match jsonwebtoken::decode::<Value>(token, &key, &v) {
        Err(_) => {
            json!({"user": {}, "error": "[invalid bearer token, square/go-jose: error in cryptographic primitive]"})
        }
        Ok(data) => {
            let aud: Vec<String> =
                serde_json::from_value(data.claims["aud"].clone()).unwrap_or_default();
            // The API server's default audience is its issuer when the review names none.
            let wanted = if wanted.is_empty() {
                vec![ISSUER.to_string()]
            } else {
                wanted
            };
            let matched: Vec<&String> = wanted.iter().filter(|a| aud.contains(a)).collect();
            if matched.is_empty() {
                json!({"user": {}, "error": format!(
                    "[invalid bearer token, token audiences {aud:?} is invalid for the target audiences {wanted:?}]")})
            } else {
                let ns = data.claims["kubernetes.io"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                json!({
                    "authenticated": true,
                    "user": {
                        "username": data.claims["sub"],
                        "uid": data.claims["kubernetes.io"]["serviceaccount"]["uid"],
                        "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"],
                        "extra": {"authentication.kubernetes.io/credential-id": [format!("JTI={}", data.claims["jti"].as_str().unwrap_or_default())]}
                    },
                    "audiences": matched
                })
            }
        }
    };
    let body = json!({"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                      "metadata": {"creationTimestamp": null}, "spec": spec, "status": status_json});
    respond(StatusCode::CREATED, body.to_string())
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_file(fixture("apiserver.crt")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(fixture("apiserver.pk8.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    Arc::new(config)
}
