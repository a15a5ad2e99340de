//! The limiter behind the `rate-limit` policy (descriptors such as `key: tool-name`, `value: execute_code`)
//! and the per-principal `rateLimit` of `mcp-authz` rules.
//!
//! One `Limiter` per gateway, shared by all routes. Callers build the full key (`route/tool:execute_code`,
//! `route/principal:alice`, `route/principal+tool:alice|execute_code`) and pass the limit with each check, so
//! one limiter serves every policy and a reload that changes a number needs no new limiter.
//!
//! Both stores run GCRA (`gcra.rs`): N per minute means a burst of N, then one call every 60/N seconds; a
//! refused call learns exactly when the next one would pass, which becomes the HTTP `Retry-After`.
//! - `Limiter::local()`: in this process only. Each replica limits on its own.
//! - `Limiter::redis(url, fail)`: one limit shared by every replica through Redis (5 or newer), with
//!   `FailMode` deciding what happens while Redis cannot answer.
//!
//! Cost per check (estimates from the code's shape, not a benchmark):
//! - local: one SipHash of the key to pick a shard, one uncontended mutex, one map lookup and a few integer
//!   operations: on the order of 100 ns, and no allocation except the first time a key is seen. Memory is
//!   about 100 bytes per key active in the last minute; idle keys are swept (see `local.rs`).
//! - Redis: one round trip (EVALSHA of a ten-line script: TIME, GET, SET) over a shared multiplexed
//!   connection, so the network latency to Redis (typically 0.1-1 ms in a cluster) plus a few microseconds of
//!   Redis CPU; one small allocation for the key. Redis holds one string per key active in the last minute,
//!   expiring by itself. While Redis is down a check costs an atomic load.

mod gcra;
mod global;
mod health;
mod local;

use std::time::Duration;

use crate::config::{RateLimitFailMode, RateLimitStore};

/// What to do with a call while the shared store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Admit it: availability over limits (`failOpen`).
    Open,
    /// Refuse it: limits over availability (`failClosed`).
    Closed,
}

impl From<RateLimitFailMode> for FailMode {
    fn from(mode: RateLimitFailMode) -> FailMode {
        match mode {
            RateLimitFailMode::Open => FailMode::Open,
            RateLimitFailMode::Closed => FailMode::Closed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; one call would pass after `retry_after`.
    Limited {
        retry_after: Duration,
    },
}

/// What a fail-closed limiter tells a refused caller while the store is down: soon, since it may be back.
const FAIL_CLOSED_RETRY: Duration = Duration::from_secs(1);

pub struct Limiter {
    store: Store,
}

enum Store {
    // Both boxed: the stores are large (the local shards are a kilobyte) and a `Limiter` is moved around
    // while the gateway is built; one pointer hop per check costs nothing next to a check.
    Local(Box<local::LocalStore>),
    Global(Box<global::GlobalStore>),
}

impl Limiter {
    /// Limits kept in this process.
    pub fn local() -> Limiter {
        Limiter {
            store: Store::Local(Box::new(local::LocalStore::new())),
        }
    }

    /// Limits shared through the Redis at `url` (`redis://[:password@]host:port[/db]`). Fails only on a URL
    /// that cannot work; an unreachable Redis is logged and handled by `fail` until it answers.
    pub async fn redis(url: &str, fail: FailMode) -> Result<Limiter, String> {
        Ok(Limiter {
            store: Store::Global(Box::new(global::GlobalStore::connect(url, fail).await?)),
        })
    }

    /// The limiter the config asks for: Redis when `rateLimitStore` is set, else local.
    pub async fn from_config(store: Option<&RateLimitStore>) -> Result<Limiter, String> {
        match store {
            Some(s) => Limiter::redis(&s.redis_url, s.fail_mode.into()).await,
            None => Ok(Limiter::local()),
        }
    }

    /// Counts one call against `key`, limited to `per_minute`. A limit of 0 refuses everything.
    pub async fn check(&self, key: &str, per_minute: u32) -> Decision {
        if per_minute == 0 {
            return Decision::Limited {
                retry_after: Duration::from_secs(60),
            };
        }
        let verdict = match &self.store {
            Store::Local(s) => s.check(key, per_minute),
            Store::Global(s) => match s.check(key, per_minute).await {
                Some(verdict) => verdict,
                None if s.health.fail_mode() == FailMode::Open => Ok(()),
                None => Err(FAIL_CLOSED_RETRY),
            },
        };
        match verdict {
            Ok(()) => Decision::Allowed,
            Err(retry_after) => Decision::Limited { retry_after },
        }
    }

    /// Checks the shared store could not answer, each decided by the fail mode; 0 for a local limiter.
    /// A counter for metrics (e.g. `ratelimit_store_errors_total`).
    pub fn redis_errors(&self) -> u64 {
        match &self.store {
            Store::Local(_) => 0,
            Store::Global(s) => s.health.errors(),
        }
    }

    /// Whether the shared store answered last time it was asked; always true for a local limiter.
    /// A gauge for metrics and health pages.
    pub fn store_up(&self) -> bool {
        match &self.store {
            Store::Local(_) => true,
            Store::Global(s) => s.health.is_up(),
        }
    }
}

impl Decision {
    /// `Retry-After` in whole seconds, rounded up so a client that waits that long is admitted.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Decision::Allowed => None,
            Decision::Limited { retry_after } => {
                Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_limits_each_key_on_its_own() {
        let limiter = Limiter::local();
        for _ in 0..3 {
            assert_eq!(limiter.check("r/tool:a", 3).await, Decision::Allowed);
        }
        let refused = limiter.check("r/tool:a", 3).await;
        assert_eq!(refused.retry_after_secs(), Some(20));
        assert_eq!(limiter.check("r/tool:b", 3).await, Decision::Allowed);
        assert_eq!(limiter.redis_errors(), 0);
    }

    #[tokio::test]
    async fn zero_refuses_and_retry_after_rounds_up() {
        assert!(matches!(
            Limiter::local().check("k", 0).await,
            Decision::Limited { .. }
        ));
        let d = Decision::Limited {
            retry_after: Duration::from_millis(8_571),
        };
        assert_eq!(d.retry_after_secs(), Some(9));
    }
}
