//! A replica-local map, bounded so idle callers cannot grow it without limit: a caller key to its
//! upstream session, or a sealed session id to its opened claims. Losing an entry is harmless: the next
//! call opens a fresh upstream session, or opens the id again. Eviction is quick_cache's (S3-FIFO: O(1), in
//! sharded locks), never a scan under a lock. Not moka: an entry here costs about 170 bytes less
//! (`docs/architecture.md`, Packages), and these maps hold one entry per caller.

pub struct SessionCache<T: Clone + Send + Sync + 'static> {
    cache: quick_cache::sync::Cache<String, T>,
}

impl<T: Clone + Send + Sync + 'static> SessionCache<T> {
    pub fn new(capacity: usize) -> Self {
        SessionCache {
            cache: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    pub fn get(&self, key: &str) -> Option<T> {
        self.cache.get(key)
    }

    pub fn insert(&self, key: &str, value: T) {
        self.cache.insert(key.to_string(), value);
    }

    pub fn remove(&self, key: &str) -> Option<T> {
        self.cache.remove(key).map(|(_, value)| value)
    }

    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.cache.len()
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
