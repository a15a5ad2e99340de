//! A parsed JWKS: the issuer's public signing keys, and which algorithm each may verify.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::error::AuthError;

pub struct KeySet {
    keys: Vec<Key>,
}

struct Key {
    kid: Option<String>,
    /// The algorithms this key may verify: its family, narrowed by its curve and by the JWK's own `alg`.
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    pub fn empty() -> KeySet {
        KeySet { keys: Vec::new() }
    }

    /// Parses a JWKS document. Keys we cannot use are skipped rather than failing the set: an issuer may publish
    /// encryption keys or newer key types beside the one that signs our tokens. Symmetric (`oct`) keys are never
    /// loaded: a published secret is no secret.
    pub fn parse(body: &[u8]) -> Result<KeySet, String> {
        let doc: Document =
            serde_json::from_slice(body).map_err(|e| format!("JWKS is not valid JSON: {e}"))?;
        let keys: Vec<Key> = doc.keys.into_iter().filter_map(usable).collect();
        if keys.is_empty() {
            return Err("JWKS holds no usable signing key".into());
        }
        Ok(KeySet { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The key for a token header. With a `kid` only that key is considered; without one, the only key that can
    /// verify `alg` (several candidates would mean guessing, so that is refused as an unknown key).
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<&DecodingKey, AuthError> {
        let mismatch = || AuthError::KeyAlgorithmMismatch {
            kid: kid.map(str::to_string),
            alg: format!("{alg:?}"),
        };
        match kid {
            Some(kid) => {
                let mut named = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .peekable();
                if named.peek().is_none() {
                    return Err(AuthError::UnknownKey {
                        kid: Some(kid.to_string()),
                    });
                }
                named
                    .find(|k| k.algorithms.contains(&alg))
                    .map(|k| &k.key)
                    .ok_or_else(mismatch)
            }
            None => {
                let mut fits = self.keys.iter().filter(|k| k.algorithms.contains(&alg));
                match (fits.next(), fits.next()) {
                    (Some(k), None) => Ok(&k.key),
                    _ => Err(AuthError::UnknownKey { kid: None }),
                }
            }
        }
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref())
    }
}

fn usable(value: serde_json::Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let family: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            vec![Algorithm::EdDSA]
        }
        _ => return None,
    };
    let algorithms = match jwk.common.key_algorithm {
        None => family,
        Some(declared) => {
            let declared = Algorithm::try_from(declared).ok()?;
            family.into_iter().filter(|a| *a == declared).collect()
        }
    };
    if algorithms.is_empty() {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id,
        algorithms,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any base64url decodes into components; these tests never verify a signature.
    const RSA_N: &str = "sXchDaQebHnPiGvy";

    #[test]
    fn hmac_encryption_and_mismatched_keys_are_skipped() {
        let doc = serde_json::json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "h"},
            {"kty": "RSA", "use": "enc", "kid": "e", "n": RSA_N, "e": "AQAB"},
            {"kty": "RSA", "alg": "RS256", "kid": "r", "n": RSA_N, "e": "AQAB"},
            {"kty": "RSA", "alg": "HS256", "kid": "bad", "n": RSA_N, "e": "AQAB"},
            {"kty": "XYZ", "kid": "future"}
        ]});
        let set = KeySet::parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.kids().collect::<Vec<_>>(), ["r"]);
        assert!(set.find(Some("r"), Algorithm::RS256).is_ok());
        assert_eq!(
            set.find(Some("r"), Algorithm::PS256).err(),
            Some(AuthError::KeyAlgorithmMismatch {
                kid: Some("r".into()),
                alg: "PS256".into()
            })
        );
        assert_eq!(
            set.find(Some("h"), Algorithm::RS256).err(),
            Some(AuthError::UnknownKey {
                kid: Some("h".into())
            })
        );
        assert!(set.find(None, Algorithm::RS256).is_ok());
    }

    #[test]
    fn a_set_without_usable_keys_is_an_error() {
        assert!(KeySet::parse(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
        assert!(KeySet::parse(b"<html>").is_err());
    }
}
