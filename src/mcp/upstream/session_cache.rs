//! A replica-local map, bounded (least recently used out first) so idle callers cannot grow it without
//! limit: a caller key to its upstream session, or a sealed session id to its opened claims. Losing an
//! entry is harmless: the next call opens a fresh upstream session, or opens the id again.

use std::collections::HashMap;
use std::sync::Mutex;

pub struct SessionCache<T: Clone> {
    inner: Mutex<Inner<T>>,
    capacity: usize,
}

struct Inner<T> {
    map: HashMap<String, (T, u64)>,
    tick: u64,
}

impl<T: Clone> SessionCache<T> {
    pub fn new(capacity: usize) -> Self {
        SessionCache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                tick: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, key: &str) -> Option<T> {
        let mut inner = self.inner.lock().unwrap();
        inner.tick += 1;
        let tick = inner.tick;
        inner.map.get_mut(key).map(|(value, used)| {
            *used = tick;
            value.clone()
        })
    }

    pub fn insert(&self, key: &str, value: T) {
        let mut inner = self.inner.lock().unwrap();
        inner.tick += 1;
        let tick = inner.tick;
        if inner.map.len() >= self.capacity && !inner.map.contains_key(key) {
            // Evict the least recently used entry; O(n) but only when full.
            if let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            {
                inner.map.remove(&oldest);
            }
        }
        inner.map.insert(key.to_string(), (value, tick));
    }

    pub fn remove(&self, key: &str) -> Option<T> {
        self.inner.lock().unwrap().map.remove(key).map(|(v, _)| v)
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let cache = SessionCache::new(2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        assert_eq!(cache.get("a"), Some(1));
        cache.insert("c", 3);
        assert_eq!(cache.get("b"), None);
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("c"), Some(3));
        assert_eq!(cache.remove("a"), Some(1));
        assert_eq!(cache.len(), 1);
    }
}
