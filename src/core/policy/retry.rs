//! `retry`: which failed upstream attempts are tried again, how long to wait, and a budget so retries
//! cannot multiply load during an outage. `attempts` counts every try, the first included.
//!
//! A failure is retried only when `retryOn` names its kind: `connect-failure` (nothing reached the
//! upstream, always safe), `reset` (the connection broke after the request may have arrived; includes
//! connect-failure), `5xx` (any server error), `gateway-error` (502/503/504; includes connect-failure) and
//! `retriable-4xx` (409, a conflict the upstream says may clear). A JSON-RPC error reply is an answer,
//! never retried. `refused-stream` is HTTP/2's and cannot occur on our HTTP/1.1 connections.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::config::RetryPolicy;
use crate::core::error::UpstreamError;

pub struct Retry {
    pub attempts: u32,
    pub per_try_timeout: Option<Duration>,
    on_5xx: bool,
    on_gateway_error: bool,
    on_409: bool,
    on_reset: bool,
    on_connect_failure: bool,
    base: Duration,
    max: Duration,
    budget: Budget,
}

/// Every request earns a fifth of a retry, up to a reserve of ten; each retry spends one. In steady
/// state retries add at most 20% load, while a burst of failures can still be retried at once.
struct Budget {
    /// In tenths of a retry.
    tokens: AtomicI64,
}

const EARN_PER_REQUEST: i64 = 2;
const COST_PER_RETRY: i64 = 10;
const RESERVE: i64 = 100;

impl Budget {
    fn earn(&self) {
        let _ = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some((t + EARN_PER_REQUEST).min(RESERVE))
            });
    }

    fn spend(&self) -> bool {
        self.tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t >= COST_PER_RETRY).then_some(t - COST_PER_RETRY)
            })
            .is_ok()
    }
}

impl Retry {
    pub fn new(config: &RetryPolicy) -> Retry {
        let on = |kind: &str| config.retry_on.iter().any(|k| k == kind);
        let (base, max) = config.backoff.as_ref().map_or(
            (Duration::from_millis(25), Duration::from_millis(250)),
            |b| (b.base_interval, b.max_interval),
        );
        Retry {
            attempts: config.attempts.max(1),
            per_try_timeout: config.per_try_timeout,
            on_5xx: on("5xx"),
            on_gateway_error: on("gateway-error"),
            on_409: on("retriable-4xx"),
            on_reset: on("reset"),
            on_connect_failure: on("connect-failure") || on("reset") || on("gateway-error"),
            base,
            max,
            budget: Budget {
                tokens: AtomicI64::new(RESERVE),
            },
        }
    }

    /// Called once per request, before its first attempt.
    pub fn on_request(&self) {
        self.budget.earn();
    }

    /// Whether the failure of attempt number `attempt` (1-based) is tried again; spends budget if so.
    pub fn should_retry(&self, error: &UpstreamError, attempt: u32) -> bool {
        let retryable = match error {
            UpstreamError::Connect(_) => self.on_connect_failure,
            UpstreamError::Reset(_) => self.on_reset,
            UpstreamError::Status(code, _) => self.retries_status(*code),
            UpstreamError::Protocol(_) | UpstreamError::Timeout | UpstreamError::Unavailable(_) => {
                false
            }
        };
        retryable && attempt < self.attempts && self.budget.spend()
    }

    /// Whether `retryOn` names an HTTP status.
    pub fn retries_status(&self, code: u16) -> bool {
        (code >= 500 && self.on_5xx)
            || (matches!(code, 502..=504) && self.on_gateway_error)
            || (code == 409 && self.on_409)
    }

    /// Exponential backoff with full jitter: uniform in [0, min(max, base·2^(attempt-1))].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1 << (attempt.saturating_sub(1)).min(16))
            .min(self.max);
        let mut bytes = [0u8; 8];
        let _ = getrandom::getrandom(&mut bytes);
        let fraction = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Backoff;

    fn retry(on: &[&str]) -> Retry {
        Retry::new(&RetryPolicy {
            attempts: 3,
            per_try_timeout: None,
            retry_on: on.iter().map(|s| s.to_string()).collect(),
            backoff: Some(Backoff {
                base_interval: Duration::from_millis(100),
                max_interval: Duration::from_millis(300),
            }),
        })
    }

    #[test]
    fn retries_only_what_retry_on_names_and_only_up_to_attempts() {
        let r = retry(&["5xx", "connect-failure"]);
        assert!(r.should_retry(&UpstreamError::Status(503, String::new()), 1));
        assert!(!r.should_retry(&UpstreamError::Status(404, String::new()), 1));
        assert!(r.should_retry(&UpstreamError::Connect("refused".into()), 2));
        assert!(
            !r.should_retry(&UpstreamError::Connect("refused".into()), 3),
            "the third attempt was the last"
        );
        assert!(
            !r.should_retry(&UpstreamError::Reset("broken".into()), 1),
            "a reset may have reached the upstream"
        );
        assert!(!r.should_retry(&UpstreamError::Timeout, 1));
        assert!(retry(&["reset"]).should_retry(&UpstreamError::Reset("broken".into()), 1));
        let gateway = retry(&["gateway-error", "retriable-4xx"]);
        assert!(gateway.should_retry(&UpstreamError::Status(503, String::new()), 1));
        assert!(!gateway.should_retry(&UpstreamError::Status(500, String::new()), 1));
        assert!(gateway.should_retry(&UpstreamError::Status(409, String::new()), 1));
        assert!(!gateway.should_retry(&UpstreamError::Status(429, String::new()), 1));
        assert!(gateway.should_retry(&UpstreamError::Connect("refused".into()), 1));
    }

    #[test]
    fn the_budget_caps_retries_during_an_outage() {
        let r = retry(&["connect-failure"]);
        let error = UpstreamError::Connect("refused".into());
        let granted = (0..100).filter(|_| r.should_retry(&error, 1)).count();
        assert_eq!(
            granted, 10,
            "the reserve allows ten retries without traffic"
        );
        for _ in 0..10 {
            r.on_request();
        }
        assert_eq!(
            (0..100).filter(|_| r.should_retry(&error, 1)).count(),
            2,
            "ten requests earn two retries"
        );
    }

    #[test]
    fn backoff_is_jittered_below_the_ceiling() {
        let r = retry(&[]);
        for attempt in 1..6 {
            let ceiling = Duration::from_millis((100u64 << (attempt - 1)).min(300));
            for _ in 0..50 {
                assert!(r.backoff(attempt) <= ceiling);
            }
        }
    }
}
