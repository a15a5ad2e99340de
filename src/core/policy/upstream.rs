//! The upstream stage: `timeout` (the deadline a call lives in) and `retry` (attempts within it, each
//! bounded by `perTryTimeout`, spaced by jittered backoff and paid for from a retry budget). One loop for
//! MCP upstreams and A2A agents; the protocol supplies how to make one attempt.

use std::future::Future;
use std::time::Duration;

use super::retry::Retry;
use crate::config::{RetryPolicy, TimeoutPolicy};
use crate::core::error::{Error, UpstreamError};
use crate::core::telemetry::metrics;

pub struct UpstreamPolicy {
    route: String,
    /// `timeout.request`.
    pub request: Option<Duration>,
    /// `timeout.idle`: the longest a streamed answer may go without an upstream event.
    pub idle: Option<Duration>,
    pub retry: Option<Retry>,
}

impl UpstreamPolicy {
    pub fn new(
        route: &str,
        timeout: Option<&TimeoutPolicy>,
        retry: Option<&RetryPolicy>,
    ) -> UpstreamPolicy {
        UpstreamPolicy {
            route: route.to_string(),
            request: timeout.and_then(|t| t.request),
            idle: timeout.and_then(|t| t.idle),
            retry: retry.map(Retry::new),
        }
    }

    /// The time a call to a backend may take: the shorter of the backend's own timeout and the route's
    /// `timeout.request`, else `default`.
    pub fn deadline(&self, backend: Option<Duration>, default: Duration) -> Duration {
        match (backend, self.request) {
            (Some(b), Some(r)) => b.min(r),
            (b, r) => b.or(r).unwrap_or(default),
        }
    }

    /// Whether an upstream's HTTP status `code` would be retried, so a protocol that relays such answers
    /// as they are (A2A) turns them into a failure only then.
    pub fn retries_status(&self, code: u16) -> bool {
        self.retry.as_ref().is_some_and(|r| r.retries_status(code))
    }

    /// Runs attempts until one succeeds, fails in a way `retry` does not retry, or `timeout` is spent.
    /// `start(n)` begins attempt `n` (1-based) and returns what `finish` gets back with its outcome (a
    /// trace span, say), so every attempt is recorded however it ends, a timed-out one included.
    pub async fn run<S, T, F>(
        &self,
        backend: &str,
        timeout: Duration,
        mut start: impl FnMut(u32) -> (S, F),
        mut finish: impl FnMut(S, &Result<T, UpstreamError>),
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, UpstreamError>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let retry = self.retry.as_ref();
        if let Some(retry) = retry {
            retry.on_request();
        }
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let per_try = retry
                .and_then(|r| r.per_try_timeout)
                .map_or(remaining, |p| p.min(remaining));
            let (state, future) = start(attempt);
            let result = match tokio::time::timeout(per_try, future).await {
                Ok(result) => result,
                Err(_) if per_try < remaining => Err(UpstreamError::Reset(format!(
                    "no answer within perTryTimeout {per_try:?}"
                ))),
                Err(_) => Err(UpstreamError::Timeout),
            };
            finish(state, &result);
            match result {
                Ok(value) => return Ok(value),
                Err(error) if retry.is_some_and(|r| r.should_retry(&error, attempt)) => {
                    metrics::retry(backend);
                    let wait = retry
                        .map_or(Duration::ZERO, |r| r.backoff(attempt))
                        .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
                    tracing::info!(route = %self.route, upstream = backend, attempt, error = %error, "retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(UpstreamError::Timeout) => {
                    metrics::timeout(backend);
                    return Err(Error::UpstreamTimeout {
                        backend: backend.to_string(),
                    });
                }
                Err(source) => {
                    return Err(Error::Upstream {
                        backend: backend.to_string(),
                        source,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::config::Backoff;

    fn policy(attempts: u32, per_try: Option<Duration>) -> UpstreamPolicy {
        policy_on(attempts, per_try, &["connect-failure", "5xx"])
    }

    fn policy_on(attempts: u32, per_try: Option<Duration>, on: &[&str]) -> UpstreamPolicy {
        UpstreamPolicy::new(
            "r",
            Some(&TimeoutPolicy {
                request: Some(Duration::from_secs(10)),
                idle: None,
            }),
            Some(&RetryPolicy {
                attempts,
                per_try_timeout: per_try,
                retry_on: on.iter().map(|s| s.to_string()).collect(),
                backoff: Some(Backoff {
                    base_interval: Duration::from_secs(1),
                    max_interval: Duration::from_secs(4),
                }),
            }),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn retries_what_retry_on_names_within_the_deadline_and_records_every_attempt() {
        let p = policy(3, None);
        let tries = AtomicU32::new(0);
        let mut finished = Vec::new();
        let result: Result<&str, Error> = p
            .run(
                "b",
                p.deadline(None, Duration::from_secs(60)),
                |n| {
                    tries.fetch_add(1, Ordering::Relaxed);
                    (n, async move {
                        if n < 3 {
                            Err(UpstreamError::Status(503, String::new()))
                        } else {
                            Ok("answer")
                        }
                    })
                },
                |n, r| finished.push((n, r.is_ok())),
            )
            .await;
        assert_eq!(result.unwrap(), "answer");
        assert_eq!(finished, [(1, false), (2, false), (3, true)]);
        // A protocol error is an answer, never retried.
        let once: Result<(), Error> = p
            .run(
                "b",
                Duration::from_secs(10),
                |_| {
                    ((), async {
                        Err(UpstreamError::Protocol("bad JSON".into()))
                    })
                },
                |_, _| {},
            )
            .await;
        assert!(matches!(
            once,
            Err(Error::Upstream {
                source: UpstreamError::Protocol(_),
                ..
            })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_attempt_is_cut_by_per_try_timeout_and_the_last_by_the_deadline() {
        // A try cut by perTryTimeout may have reached the upstream: retried only under `reset`.
        let p = policy_on(10, Some(Duration::from_secs(4)), &["reset"]);
        let started = tokio::time::Instant::now();
        let mut ends = Vec::new();
        let result: Result<(), Error> = p
            .run(
                "b",
                Duration::from_secs(10),
                |_| ((), std::future::pending()),
                |_, r: &Result<(), UpstreamError>| ends.push(r.clone().unwrap_err()),
            )
            .await;
        assert!(matches!(result, Err(Error::UpstreamTimeout { .. })));
        // Never past the deadline, however many attempts were allowed.
        assert!(started.elapsed() <= Duration::from_secs(10));
        assert!(
            matches!(ends.first(), Some(UpstreamError::Reset(m)) if m.contains("perTryTimeout"))
        );
        assert_eq!(ends.last(), Some(&UpstreamError::Timeout));
        let not_reset = policy(10, Some(Duration::from_secs(4)));
        let once: Result<(), Error> = not_reset
            .run(
                "b",
                Duration::from_secs(10),
                |_| ((), std::future::pending()),
                |_, _| {},
            )
            .await;
        assert!(matches!(
            once,
            Err(Error::Upstream {
                source: UpstreamError::Reset(_),
                ..
            })
        ));
    }

    #[test]
    fn the_deadline_is_the_shorter_of_backend_and_route() {
        let p = policy(1, None);
        assert_eq!(
            p.deadline(Some(Duration::from_secs(3)), Duration::from_secs(60)),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.deadline(Some(Duration::from_secs(30)), Duration::from_secs(60)),
            Duration::from_secs(10)
        );
        assert_eq!(
            UpstreamPolicy::new("r", None, None).deadline(None, Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }
}
