//! A replica-local map, bounded so idle callers cannot grow it without limit: a caller key to its
//! upstream session, or a sealed session id to its opened claims. Losing an entry is harmless: the next
//! call opens a fresh upstream session, or opens the id again. Eviction is moka's (recency and frequency,
//! amortised O(1)), never a scan under a lock.

pub struct SessionCache<T: Clone + Send + Sync + 'static> {
    cache: moka::sync::Cache<String, T>,
}

impl<T: Clone + Send + Sync + 'static> SessionCache<T> {
    pub fn new(capacity: usize) -> Self {
        SessionCache {
            cache: moka::sync::Cache::new(capacity.max(1) as u64),
        }
    }

    pub fn get(&self, key: &str) -> Option<T> {
        self.cache.get(key)
    }

    pub fn insert(&self, key: &str, value: T) {
        self.cache.insert(key.to_string(), value);
    }

    pub fn remove(&self, key: &str) -> Option<T> {
        self.cache.remove(key)
    }

    /// Entries held, once pending evictions are applied.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.cache.run_pending_tasks();
        self.cache.entry_count() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_its_capacity_and_keeps_what_is_used() {
        let cache = SessionCache::new(64);
        cache.insert("hot", 0);
        for i in 0..10_000 {
            cache.insert(&format!("k{i}"), i);
            assert_eq!(cache.get("hot"), Some(0));
        }
        assert!(cache.len() <= 64, "{}", cache.len());
        assert_eq!(cache.get("hot"), Some(0));
        assert_eq!(cache.remove("hot"), Some(0));
        assert_eq!(cache.get("hot"), None);
    }
}
