//! Answers already computed for a token, keyed by its SHA-256 so the cache never holds a usable credential.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

pub type TokenKey = [u8; 32];

pub fn key_of(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

/// A map bounded in size whose entries carry their own expiry (seconds since the epoch). When full, expired
/// entries go first, then arbitrary ones: a flood of distinct valid tokens can only cost re-verification, never
/// memory.
pub struct TokenCache<V> {
    entries: Mutex<HashMap<TokenKey, (V, i64)>>,
    capacity: usize,
}

impl<V: Clone> TokenCache<V> {
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The value for `key` if it is still good at `now`.
    pub fn get(&self, key: &TokenKey, now: i64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, until)| now <= *until)
            .map(|(v, _)| v.clone())
    }

    pub fn insert(&self, key: TokenKey, value: V, until: i64, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, u)| now <= *u);
            if entries.len() >= self.capacity {
                // Dropping a slice of the map at once keeps the cost of a full cache amortised.
                let drop: Vec<TokenKey> = entries
                    .keys()
                    .take(self.capacity / 8 + 1)
                    .copied()
                    .collect();
                for k in drop {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key, (value, until));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_size_is_bounded() {
        let c = TokenCache::new(16);
        c.insert(key_of("a"), 1, 100, 0);
        assert_eq!(c.get(&key_of("a"), 100), Some(1));
        assert_eq!(c.get(&key_of("a"), 101), None);
        for i in 0..1000 {
            c.insert(key_of(&i.to_string()), i, 1_000, 0);
        }
        assert!(c.len() <= 16);
    }
}
