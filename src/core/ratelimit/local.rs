//! The in-process store: one TAT per key, in a few mutex-guarded shards so concurrent requests for different
//! keys rarely wait on each other.
//!
//! Memory stays bounded by the keys used in the last minute: a key whose TAT has passed is exactly as good as
//! an absent one (see `gcra::step`), so a shard drops all such keys whenever it has grown to twice its size at
//! the last sweep. No background task is needed, and a sweep costs O(keys) once per doubling (amortised O(1)).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::gcra::{self, Rate};

/// Shards: enough that a 2-to-16-core gateway rarely sees two requests on one lock.
const SHARDS: usize = 16;
/// A shard below this size is never swept: sweeping a small map saves nothing.
const SWEEP_FLOOR: usize = 1024;
const MINUTE_NS: u64 = 60_000_000_000;

pub struct LocalStore {
    /// Time zero of the TATs, which are nanoseconds since then.
    epoch: Instant,
    shards: [Mutex<Shard>; SHARDS],
}

struct Shard {
    tats: HashMap<Box<str>, u64>,
    /// Size at which the next sweep runs.
    sweep_at: usize,
}

impl LocalStore {
    pub fn new() -> LocalStore {
        LocalStore {
            epoch: Instant::now(),
            shards: std::array::from_fn(|_| {
                Mutex::new(Shard {
                    tats: HashMap::new(),
                    sweep_at: SWEEP_FLOOR,
                })
            }),
        }
    }

    /// `Ok(())` admits one call for `key`; `Err(wait)` refuses it.
    pub fn check(&self, key: &str, per_minute: u32) -> Result<(), Duration> {
        let Some(rate) = Rate::per_minute(per_minute, MINUTE_NS) else {
            return Err(Duration::from_secs(60));
        };
        self.check_at(key, rate, self.now())
    }

    fn now(&self) -> u64 {
        // u64 nanoseconds last 584 years of uptime.
        self.epoch.elapsed().as_nanos() as u64
    }

    fn check_at(&self, key: &str, rate: Rate, now: u64) -> Result<(), Duration> {
        let mut shard = self.shards[shard_of(key)]
            .lock()
            // A panic while holding the lock cannot leave a TAT half-written; the map is still sound.
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Look up by &str first so the common case (a known key) allocates nothing.
        if let Some(tat) = shard.tats.get_mut(key) {
            *tat = gcra::step(Some(*tat), now, rate).map_err(Duration::from_nanos)?;
            return Ok(());
        }
        let tat = gcra::step(None, now, rate).map_err(Duration::from_nanos)?;
        shard.tats.insert(key.into(), tat);
        if shard.tats.len() >= shard.sweep_at {
            shard.tats.retain(|_, tat| *tat > now);
            shard.sweep_at = (shard.tats.len() * 2).max(SWEEP_FLOOR);
        }
        Ok(())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap().tats.len())
            .sum()
    }
}

fn shard_of(key: &str) -> usize {
    // A fixed hasher is fine here: it only spreads keys over locks; each shard's map has its own random one.
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % SHARDS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_minute: u32) -> Rate {
        Rate::per_minute(per_minute, MINUTE_NS).unwrap()
    }

    #[test]
    fn admits_the_limit_then_refuses_with_one_interval_to_wait() {
        let store = LocalStore::new();
        for _ in 0..5 {
            assert_eq!(store.check_at("r/tool:x", rate(5), 0), Ok(()));
        }
        assert_eq!(
            store.check_at("r/tool:x", rate(5), 0),
            Err(Duration::from_secs(12))
        );
        assert_eq!(
            store.check_at("r/tool:y", rate(5), 0),
            Ok(()),
            "another key is untouched"
        );
    }

    #[test]
    fn idle_keys_are_swept_once_a_shard_grows() {
        let store = LocalStore::new();
        let n = SHARDS * SWEEP_FLOOR * 2;
        for i in 0..n {
            store.check_at(&format!("k{i}"), rate(1), 0).unwrap();
        }
        // At time 0 every key is live, so none may go: dropping one would hand it a fresh burst.
        assert_eq!(store.len(), n);
        // Two minutes on, all are idle. New keys make every shard sweep, and only the new keys stay.
        let later = 2 * MINUTE_NS;
        for i in 0..2 * n {
            store.check_at(&format!("new{i}"), rate(1), later).unwrap();
        }
        assert_eq!(store.len(), 2 * n, "every idle key was dropped");
    }
}
