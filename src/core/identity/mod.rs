//! Who is calling: bearer tokens checked for the `jwt-authn` policy, either locally against the issuer's JWKS
//! or through the Kubernetes TokenReview API.
//!
//! An `Authenticator` is built once per route from its policy and shared by all requests on it. It starts its
//! background JWKS refresh on first use, so it can be built outside a Tokio runtime.
//!
//! Fields of `jwt:` beyond the guide's `issuer`, `audiences`, `jwksUri`, `claimToHeaders`:
//! - `leeway` (30s): clock skew allowed on `exp`, `nbf`, `iat`.
//! - `mode`: `jwks` (default, local verification) or `tokenReview` (ask the API server).
//! - `kubernetes`: send the pod's service-account token and trust only the cluster CA when fetching; by default
//!   on when `jwksUri`'s host is `kubernetes.default.svc` (and always for `tokenReview`).
//! - `serviceAccountTokenPath`, `caPath`: default `/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}`.
//! - `apiServer`: where TokenReviews go; default the origin of `jwksUri`.
//! - `jwksRefreshInterval` (5m) and `jwksMinRefreshInterval` (10s, the least time between fetches caused by
//!   unknown `kid`s or a failing issuer).

mod cache;
mod claims;
mod error;
mod fetch;
mod headers;
mod jwks;
mod keys;
mod review;
mod settings;
mod token;
mod verify;

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderName, HeaderValue};

use crate::config::{JwtAuthn, JwtMode};
pub use error::{AuthError, REALM};
use fetch::Fetcher;
use headers::ClaimHeaders;
use keys::KeyStore;
pub use review::TOKEN_REVIEW_PATH;
use review::TokenReviewer;
use settings::Settings;
pub use settings::is_cluster_host;
use verify::JwtVerifier;

/// An authenticated caller. `principal` is what authorization rules name: `sub`, which for a Kubernetes
/// service-account token is `system:serviceaccount:<namespace>:<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub principal: String,
    pub claims: serde_json::Value,
}

pub struct Authenticator {
    backend: Backend,
    headers: ClaimHeaders,
}

/// Boxed: the two differ much in size and only one lives per route.
enum Backend {
    Jwt(Box<JwtVerifier>),
    Review(Box<TokenReviewer>),
}

/// Counters for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthStats {
    /// Signatures actually checked (cache misses that got as far as a key).
    pub signature_verifications: u64,
    /// Requests answered from the verification or TokenReview cache.
    pub cache_hits: u64,
    /// JWKS downloads attempted.
    pub jwks_fetches: u64,
    /// TokenReview calls made.
    pub token_reviews: u64,
}

impl Authenticator {
    pub fn new(cfg: &JwtAuthn) -> Result<Authenticator, String> {
        let s = Settings::of(cfg)?;
        if cfg.audiences.iter().all(|a| a.trim().is_empty()) {
            // Without an audience any token of the issuer would do, including one minted for another service.
            return Err("jwt-authn needs at least one audience (e.g. agent-gateway)".into());
        }
        let fetcher = Fetcher::new(s.kube);
        let backend = match cfg.mode {
            JwtMode::TokenReview => Backend::Review(Box::new(TokenReviewer::new(
                &s.api_server,
                cfg.audiences.clone(),
                fetcher,
            ))),
            JwtMode::Jwks => {
                if cfg.issuer.is_empty() {
                    return Err("jwt-authn needs an issuer".into());
                }
                let keys = KeyStore::new(cfg.jwks_uri.clone(), fetcher, s.refresh, s.min_refresh);
                Backend::Jwt(Box::new(JwtVerifier::new(
                    cfg.issuer.clone(),
                    cfg.audiences.clone(),
                    s.leeway,
                    keys,
                )))
            }
        };
        Ok(Authenticator {
            backend,
            headers: ClaimHeaders::new(&cfg.claim_to_headers)?,
        })
    }

    /// Checks the `Authorization` header of a request.
    pub async fn authenticate(
        &self,
        authorization_header: Option<&str>,
    ) -> Result<Identity, AuthError> {
        let token = token::bearer(authorization_header)?;
        match &self.backend {
            Backend::Jwt(v) => v.verify(token).await,
            Backend::Review(r) => r.review(token).await,
        }
    }

    /// The `claimToHeaders` headers for an identity, to add toward the upstream.
    pub fn claim_headers(&self, identity: &Identity) -> Vec<(HeaderName, HeaderValue)> {
        self.headers.of(&identity.claims)
    }

    /// Every header `claimToHeaders` may set: remove client-sent copies of these before adding ours, or a caller
    /// could claim any identity toward the upstream.
    pub fn injected_header_names(&self) -> Vec<HeaderName> {
        self.headers.names()
    }

    pub fn stats(&self) -> AuthStats {
        match &self.backend {
            Backend::Jwt(v) => AuthStats {
                signature_verifications: v.verifications.load(Ordering::Relaxed),
                cache_hits: v.cache_hits.load(Ordering::Relaxed),
                jwks_fetches: v.keys.fetches(),
                token_reviews: 0,
            },
            Backend::Review(r) => AuthStats {
                cache_hits: r.cache_hits.load(Ordering::Relaxed),
                token_reviews: r.reviews.load(Ordering::Relaxed),
                ..AuthStats::default()
            },
        }
    }
}

/// Seconds since the epoch, the unit of JWT time claims.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
