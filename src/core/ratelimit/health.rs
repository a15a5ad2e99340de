//! Whether the shared store answers: logged once per change of state (not once per request, which would
//! flood the log during an outage), counted for metrics, and used as a breaker so that while the store is
//! down requests are decided at once instead of each waiting out a timeout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::FailMode;

/// While the store is down, it is tried again at most this often; calls in between go straight to the fail mode.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

pub struct Health {
    /// What the log lines call the store, e.g. `redis://10.0.0.5:6379/`.
    name: String,
    fail: FailMode,
    up: AtomicBool,
    /// Checks the store did not answer (each decided by the fail mode).
    errors: AtomicU64,
    epoch: Instant,
    /// Milliseconds since `epoch` before which the store is not tried again.
    retry_at_ms: AtomicU64,
}

impl Health {
    pub fn new(name: String, fail: FailMode) -> Health {
        Health {
            name,
            fail,
            // Assumed up until shown otherwise, so the first failure is logged.
            up: AtomicBool::new(true),
            errors: AtomicU64::new(0),
            epoch: Instant::now(),
            retry_at_ms: AtomicU64::new(0),
        }
    }

    /// Whether to ask the store now: always while it is up; once per `PROBE_INTERVAL` while it is down.
    pub fn should_try(&self) -> bool {
        if self.up.load(Ordering::Relaxed) {
            return true;
        }
        let now = self.now_ms();
        let at = self.retry_at_ms.load(Ordering::Relaxed);
        // Only the caller that moves `retry_at` forward probes; the others keep using the fail mode.
        now >= at
            && self
                .retry_at_ms
                .compare_exchange(
                    at,
                    now + PROBE_INTERVAL.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    pub fn succeeded(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!(store = %self.name, "rate-limit store reachable again; global limits apply");
        }
    }

    /// Records a check the store did not answer; `error` is `None` when it was skipped while down.
    pub fn failed(&self, error: Option<&str>) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if error.is_none() {
            return;
        }
        self.retry_at_ms.store(
            self.now_ms() + PROBE_INTERVAL.as_millis() as u64,
            Ordering::Relaxed,
        );
        if self.up.swap(false, Ordering::Relaxed) {
            let outcome = match self.fail {
                FailMode::Open => "failing open: calls are not limited until it is back",
                FailMode::Closed => {
                    "failing closed: calls under a limit are refused until it is back"
                }
            };
            tracing::warn!(store = %self.name, error = error.unwrap_or_default(), "rate-limit store unreachable; {outcome}");
        }
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn fail_mode(&self) -> FailMode {
        self.fail
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_opens_the_breaker_for_one_probe_interval() {
        let h = Health::new("test".into(), FailMode::Open);
        assert!(h.should_try());
        h.failed(Some("connection refused"));
        assert!(!h.is_up());
        assert!(!h.should_try(), "no second try within the probe interval");
        h.failed(None);
        assert_eq!(h.errors(), 2, "skipped checks count too");
        h.succeeded();
        assert!(h.is_up() && h.should_try());
    }

    #[test]
    fn after_the_interval_exactly_one_caller_probes() {
        let h = Health::new("test".into(), FailMode::Closed);
        h.failed(Some("timeout"));
        std::thread::sleep(PROBE_INTERVAL + Duration::from_millis(20));
        assert!(h.should_try());
        assert!(
            !h.should_try(),
            "the next caller waits for the probe's outcome"
        );
    }
}
