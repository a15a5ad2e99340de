//! Local JWT verification: header, key, signature, claims, and the cache that spares the hot path all four.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::Identity;
use super::cache::{TokenCache, key_of};
use super::claims::{self, ClaimRules};
use super::error::AuthError;
use super::jwks::KeySet;
use super::keys::KeyStore;
use super::token;

/// Enough for every workload of a large cluster; each entry is a hash, a principal and its claims.
const CACHE_CAPACITY: usize = 10_000;

pub struct JwtVerifier {
    issuer: String,
    audiences: Vec<String>,
    leeway: i64,
    pub(super) keys: Arc<KeyStore>,
    cache: TokenCache<Cached>,
    pub(super) verifications: AtomicU64,
    pub(super) cache_hits: AtomicU64,
}

#[derive(Clone)]
struct Cached {
    identity: Identity,
    kid: Option<String>,
}

impl JwtVerifier {
    pub fn new(issuer: String, audiences: Vec<String>, leeway: i64, keys: KeyStore) -> Self {
        JwtVerifier {
            issuer,
            audiences,
            leeway,
            keys: Arc::new(keys),
            cache: TokenCache::new(CACHE_CAPACITY),
            verifications: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let now = super::now();
        let cache_key = key_of(token);
        if let Some(hit) = self.cache.get(&cache_key, now) {
            // A cached answer holds only while its signing key is still published: removing a key from the JWKS
            // revokes what it signed at the next request, not at the tokens' expiry.
            let keys = self.keys.current().await?;
            if hit.kid.as_deref().is_none_or(|kid| keys.has_kid(kid)) {
                self.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit.identity);
            }
        }
        let header = token::header(token)?;
        let kid = header.kid.as_deref();
        let mut keys = self.keys.current().await?;
        if let Err(AuthError::UnknownKey { .. }) = keys.find(kid, header.alg) {
            keys = self.keys.refresh_for(kid).await;
        }
        let claims = self.signed_claims(token, &keys, kid, header.alg)?;
        let rules = ClaimRules {
            issuer: &self.issuer,
            audiences: &self.audiences,
            leeway: self.leeway,
        };
        let checked = claims::check(&claims, &rules, now)?;
        let identity = Identity {
            principal: checked.principal,
            claims,
        };
        let cached = Cached {
            identity: identity.clone(),
            kid: header.kid,
        };
        let until = checked.exp.saturating_add(self.leeway);
        self.cache.insert(cache_key, cached, until, now);
        Ok(identity)
    }

    fn signed_claims(
        &self,
        token: &str,
        keys: &KeySet,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Value, AuthError> {
        let key: &DecodingKey = keys.find(kid, alg)?;
        // The signature only: claims are checked by `claims::check`, which can say what it found.
        let mut validation = Validation::new(alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let data =
            jsonwebtoken::decode::<Value>(token, key, &validation).map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidEddsaKey
                | ErrorKind::InvalidRsaKey(_) => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm => AuthError::KeyAlgorithmMismatch {
                    kid: kid.map(str::to_string),
                    alg: format!("{alg:?}"),
                },
                _ => AuthError::Malformed(e.to_string()),
            })?;
        if !data.claims.is_object() {
            return Err(AuthError::Malformed("claims are not a JSON object".into()));
        }
        Ok(data.claims)
    }
}
