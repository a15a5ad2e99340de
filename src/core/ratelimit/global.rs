//! The shared store: GCRA in Redis, one atomic script call per check, for limits that hold across replicas.
//!
//! Why GCRA and not a sliding window: it keeps one integer per key (a sliding log keeps one entry per call),
//! it is exact where a sliding-window counter only approximates, it gives the Retry-After directly, and it is
//! the same arithmetic as the local store, so moving a gateway from local to global limits changes nothing
//! a client can see except that the limit is shared. The script is sent once and then called by its SHA
//! (EVALSHA); after a Redis restart has emptied the script cache the crate reloads it on NOSCRIPT.
//!
//! Connections: a `redis` `ConnectionManager` multiplexes every check over one connection and reconnects
//! when it drops. While Redis is down the `Health` breaker answers from the fail mode and lets one probe
//! through per second; a probe that fails also replaces the manager, so recovery never depends on the state
//! the old connection was left in.

use std::time::Duration;

use arc_swap::ArcSwap;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use super::FailMode;
use super::health::Health;

/// Longest a check waits for Redis. A healthy Redis answers in well under a millisecond; past this the
/// request is decided by the fail mode rather than held up.
const BUDGET: Duration = Duration::from_millis(250);
/// Keys are namespaced so the limiter can share a Redis with other users.
const PREFIX: &str = "agent-gateway:ratelimit:";
const MINUTE_US: u64 = 60_000_000;

pub struct GlobalStore {
    client: Client,
    conn: ArcSwap<ConnectionManager>,
    script: Script,
    pub health: Health,
}

impl GlobalStore {
    /// Checks the URL, then tries Redis once. An unreachable Redis is not an error here: the gateway starts,
    /// applies the fail mode, and keeps trying, because a shared store that is down for a moment should not
    /// stop every replica from starting.
    pub async fn connect(url: &str, fail: FailMode) -> Result<GlobalStore, String> {
        let client =
            Client::open(url).map_err(|e| format!("rate-limit store URL \"{url}\": {e}"))?;
        let store = GlobalStore {
            conn: ArcSwap::from_pointee(manager(&client)?),
            health: Health::new(client.get_connection_info().addr().to_string(), fail),
            client,
            script: Script::new(include_str!("gcra.lua")),
        };
        let mut conn = store.conn.load_full().as_ref().clone();
        match tokio::time::timeout(BUDGET, store.script.prepare_invoke().load_async(&mut conn))
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => store.health.failed(Some(&e.to_string())),
            Err(_) => store.health.failed(Some("no answer within 250ms")),
        }
        Ok(store)
    }

    /// `Some(Ok(()))` admits, `Some(Err(wait))` refuses, `None` means Redis gave no answer.
    pub async fn check(&self, key: &str, per_minute: u32) -> Option<Result<(), Duration>> {
        if !self.health.should_try() {
            self.health.failed(None);
            return None;
        }
        let interval = (MINUTE_US / u64::from(per_minute)).max(1);
        let mut conn = self.conn.load_full().as_ref().clone();
        let mut call = self.script.key(format!("{PREFIX}{key}"));
        call.arg(interval).arg(per_minute);
        let error = match tokio::time::timeout(BUDGET, call.invoke_async::<u64>(&mut conn)).await {
            Ok(Ok(0)) => {
                self.health.succeeded();
                return Some(Ok(()));
            }
            Ok(Ok(wait_us)) => {
                self.health.succeeded();
                return Some(Err(Duration::from_micros(wait_us)));
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 250ms".to_string(),
        };
        let was_up = self.health.is_up();
        self.health.failed(Some(&error));
        // The first failure leaves the manager to reconnect on its own; a failed probe starts afresh.
        if !was_up && let Ok(fresh) = manager(&self.client) {
            self.conn.store(fresh.into());
        }
        None
    }
}

/// A manager that connects on first use, so building one never blocks on an unreachable Redis.
fn manager(client: &Client) -> Result<ConnectionManager, String> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(BUDGET))
        .set_response_timeout(Some(BUDGET))
        // The breaker paces retries once Redis is down; the manager's own retries only cover a short blip.
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(20))
        .set_max_delay(Duration::from_millis(100));
    ConnectionManager::new_lazy_with_config(client.clone(), config)
        .map_err(|e| format!("rate-limit store: {e}"))
}
