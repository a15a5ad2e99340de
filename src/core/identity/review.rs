//! `mode: tokenReview`: the Kubernetes API server judges the token (`authentication.k8s.io/v1` TokenReview).

use std::sync::atomic::{AtomicU64, Ordering};

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Identity;
use super::cache::{TokenCache, key_of};
use super::error::AuthError;
use super::fetch::Fetcher;
use super::token;

pub const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
/// Long enough to spare the API server a call per request, short enough that a deleted service account loses
/// access quickly (bound tokens are invalidated when their pod or account goes).
const REVIEW_TTL_SECS: i64 = 10;
const CACHE_CAPACITY: usize = 10_000;

pub struct TokenReviewer {
    url: String,
    audiences: Vec<String>,
    fetcher: Fetcher,
    cache: TokenCache<Result<Identity, AuthError>>,
    pub(super) reviews: AtomicU64,
    pub(super) cache_hits: AtomicU64,
}

#[derive(Deserialize)]
struct Review {
    #[serde(default)]
    status: ReviewStatus,
}

#[derive(Deserialize, Default)]
struct ReviewStatus {
    #[serde(default)]
    authenticated: bool,
    #[serde(default)]
    user: Value,
    audiences: Option<Vec<String>>,
    error: Option<String>,
}

impl TokenReviewer {
    pub fn new(api_server: &str, audiences: Vec<String>, fetcher: Fetcher) -> Self {
        TokenReviewer {
            url: format!("{}{TOKEN_REVIEW_PATH}", api_server.trim_end_matches('/')),
            audiences,
            fetcher,
            cache: TokenCache::new(CACHE_CAPACITY),
            reviews: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    pub async fn review(&self, token: &str) -> Result<Identity, AuthError> {
        let now = super::now();
        let key = key_of(token);
        if let Some(answer) = self.cache.get(&key, now) {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            return answer;
        }
        let answer = self.ask(token).await;
        // Both verdicts are reused briefly (a rejected token retried in a loop must not become one API call per
        // try); a failed call is not, so the next request tries again.
        if !matches!(answer, Err(AuthError::ReviewUnavailable(_))) {
            let mut until = now + REVIEW_TTL_SECS;
            if let Some(exp) = token::unverified_exp(token) {
                until = until.min(exp);
            }
            self.cache.insert(key, answer.clone(), until, now);
        }
        answer
    }

    async fn ask(&self, token: &str) -> Result<Identity, AuthError> {
        self.reviews.fetch_add(1, Ordering::Relaxed);
        let request = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token, "audiences": self.audiences},
        });
        let (status, body) = self
            .fetcher
            .post_json(&self.url, request.to_string().into_bytes())
            .await
            .map_err(|e| AuthError::ReviewUnavailable(e.to_string()))?;
        if status != StatusCode::CREATED && status != StatusCode::OK {
            return Err(AuthError::ReviewUnavailable(format!(
                "POST {} answered {status}: {}",
                self.url,
                status_message(&body)
            )));
        }
        let review: Review = serde_json::from_slice(&body).map_err(|e| {
            AuthError::ReviewUnavailable(format!("TokenReview answer does not parse: {e}"))
        })?;
        let s = review.status;
        if !s.authenticated {
            let reason = s.error.unwrap_or_else(|| "not authenticated".into());
            return Err(AuthError::Rejected { reason });
        }
        // The API server should only authenticate for the audiences asked for; the API docs ask clients to check
        // `status.audiences` all the same, since an authenticator may not support audiences at all.
        if let Some(found) = &s.audiences
            && !found.iter().any(|a| self.audiences.contains(a))
        {
            return Err(AuthError::WrongAudience {
                found: found.clone(),
            });
        }
        let username = s
            .user
            .get("username")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or(AuthError::MissingClaim("username"))?
            .to_string();
        // Shaped like JWT claims so `claimToHeaders: [{claim: sub, ...}]` works in both modes.
        let mut claims = json!({"sub": username});
        for field in ["uid", "groups", "extra"] {
            if let Some(v) = s.user.get(field) {
                claims[field] = v.clone();
            }
        }
        if let Some(aud) = s.audiences {
            claims["aud"] = json!(aud);
        }
        Ok(Identity {
            principal: username,
            claims,
        })
    }
}

/// The `message` of a Kubernetes `Status` object (what 401/403 answers carry), or the start of the body.
fn status_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned())
}
