//! Reading a bearer token and its JOSE header, before any key is looked up.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::error::AuthError;

/// The signature algorithms we verify. HMAC and `none` are absent on purpose (see `AuthError::AlgorithmNotAllowed`).
const ALLOWED: &[(&str, Algorithm)] = &[
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// Tokens longer than this are refused before any decoding: Kubernetes tokens are about 1 KB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 7235).
pub fn bearer(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed("not a Bearer token".into()));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Malformed("empty Bearer token".into()));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Malformed("token too long".into()));
    }
    Ok(token)
}

pub struct JoseHeader {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// The header of a compact JWS, with `alg` checked against the allow-list. We parse it ourselves rather than
/// through jsonwebtoken so that `none` and `HS256` are named in the error instead of "unparseable".
pub fn header(token: &str) -> Result<JoseHeader, AuthError> {
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed("not three dot-separated parts".into()));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| AuthError::Malformed("header is not base64url".into()))?;
    let raw: RawHeader = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::Malformed("header is not a JSON object".into()))?;
    let alg = raw
        .alg
        .ok_or(AuthError::Malformed("header has no alg".into()))?;
    // RFC 7515 4.1.11: extensions we do not understand must not be ignored.
    if raw.crit.is_some() {
        return Err(AuthError::Malformed("unsupported crit header".into()));
    }
    let Some(&(_, alg)) = ALLOWED.iter().find(|(name, _)| *name == alg) else {
        return Err(AuthError::AlgorithmNotAllowed { alg });
    };
    Ok(JoseHeader { alg, kid: raw.kid })
}

/// The `exp` of a token, unverified: only used to bound how long a TokenReview answer is reused.
pub fn unverified_exp(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("exp")?.as_f64().map(|f| f as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer(Some("bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("Bearer  abc ")), Ok("abc"));
        assert_eq!(bearer(None), Err(AuthError::Missing));
        assert!(matches!(
            bearer(Some("Basic abc")),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            bearer(Some("Bearer")),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn none_and_hmac_are_refused_by_name() {
        for alg in ["none", "HS256", "HS512", "RSA-OAEP"] {
            let t = format!("{}.{}.", b64(&format!("{{\"alg\":\"{alg}\"}}")), b64("{}"));
            assert_eq!(
                header(&t).err(),
                Some(AuthError::AlgorithmNotAllowed { alg: alg.into() })
            );
        }
    }

    #[test]
    fn crit_and_shape_are_checked() {
        let t = format!(
            "{}.{}.x",
            b64(r#"{"alg":"RS256","crit":["b64"]}"#),
            b64("{}")
        );
        assert!(matches!(header(&t), Err(AuthError::Malformed(_))));
        assert!(matches!(header("a.b"), Err(AuthError::Malformed(_))));
        let t = format!("{}.{}.x", b64(r#"{"alg":"ES256","kid":"k"}"#), b64("{}"));
        let h = header(&t).unwrap();
        assert_eq!((h.alg, h.kid.as_deref()), (Algorithm::ES256, Some("k")));
    }
}
