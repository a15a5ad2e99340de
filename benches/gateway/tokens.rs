//! Tokens: RS256, signed with the identity tests' committed key (tests/fixtures/identity/rsa-a.der).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::json;

pub const ISSUER: &str = "https://bench.issuer";
pub const PRINCIPAL: &str = "system:serviceaccount:bench:agent";

fn key() -> EncodingKey {
    let der = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/identity/rsa-a.der"),
    )
    .unwrap();
    EncodingKey::from_rsa_der(&der)
}

pub fn jwks() -> Bytes {
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&key(), Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = json!("bench");
    json!({ "keys": [jwk] }).to_string().into()
}

pub fn bearer() -> (HeaderName, HeaderValue) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": ISSUER, "aud": ["agent-gateway"], "sub": PRINCIPAL,
                        "iat": now, "nbf": now, "exp": now + 3600});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("bench".into());
    let token = jsonwebtoken::encode(&header, &claims, &key()).unwrap();
    (
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    )
}
