//! The issuer's key set: fetched on first use, refreshed in the background and when a token names a `kid` we
//! have not seen, never more often than `min_interval` on demand, and kept when a refresh fails.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
// tokio's clock, so the minimum refresh interval can be tested in paused time.
use tokio::time::Instant;

use arc_swap::ArcSwap;

use super::error::AuthError;
use super::fetch::Fetcher;
use super::jwks::KeySet;

pub struct KeyStore {
    uri: String,
    fetcher: Fetcher,
    keys: ArcSwap<KeySet>,
    loaded: AtomicBool,
    /// Serialises fetches, so a burst of requests for one new `kid` causes one download, not one each.
    state: tokio::sync::Mutex<FetchState>,
    interval: Duration,
    min_interval: Duration,
    fetches: AtomicU64,
    refresher_started: AtomicBool,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

impl KeyStore {
    pub fn new(uri: String, fetcher: Fetcher, interval: Duration, min_interval: Duration) -> Self {
        KeyStore {
            uri,
            fetcher,
            keys: ArcSwap::from_pointee(KeySet::empty()),
            loaded: AtomicBool::new(false),
            state: tokio::sync::Mutex::new(FetchState::default()),
            interval,
            min_interval,
            fetches: AtomicU64::new(0),
            refresher_started: AtomicBool::new(false),
        }
    }

    /// How many times the JWKS was requested (successfully or not).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The current keys, loading them first if this is the first request.
    pub async fn current(self: &Arc<Self>) -> Result<Arc<KeySet>, AuthError> {
        self.start_refresher();
        if !self.loaded.load(Ordering::Acquire) {
            let mut state = self.state.lock().await;
            if !self.loaded.load(Ordering::Acquire) && self.may_fetch(&state) {
                self.fetch(&mut state).await;
            }
            if !self.loaded.load(Ordering::Acquire) {
                let why = state.last_error.clone().unwrap_or_default();
                return Err(AuthError::KeysUnavailable(why));
            }
        }
        Ok(self.keys.load_full())
    }

    /// The keys after trying to learn `kid`: refreshes unless another request just did, or the last fetch was
    /// less than `min_interval` ago. A flood of made-up `kid`s therefore costs the issuer one request per interval.
    pub async fn refresh_for(&self, kid: Option<&str>) -> Arc<KeySet> {
        let mut state = self.state.lock().await;
        let keys = self.keys.load_full();
        let known = kid.is_some_and(|kid| keys.has_kid(kid));
        if !known && self.may_fetch(&state) {
            self.fetch(&mut state).await;
            return self.keys.load_full();
        }
        keys
    }

    fn may_fetch(&self, state: &FetchState) -> bool {
        state
            .last_attempt
            .is_none_or(|t| t.elapsed() >= self.min_interval)
    }

    async fn fetch(&self, state: &mut FetchState) {
        state.last_attempt = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self
            .fetcher
            .get(&self.uri)
            .await
            .map_err(|e| e.to_string())
            .and_then(|body| KeySet::parse(&body));
        match result {
            Ok(set) => {
                let kids: Vec<&str> = set.kids().collect();
                tracing::debug!(jwks_uri = %self.uri, ?kids, "jwt-authn: signing keys loaded");
                self.keys.store(Arc::new(set));
                self.loaded.store(true, Ordering::Release);
                state.last_error = None;
            }
            Err(why) => {
                // The previous key set stays in use: an issuer hiccup must not lock every caller out.
                tracing::warn!(jwks_uri = %self.uri, error = %why, kept_keys = self.keys.load().len(),
                    "jwt-authn: JWKS refresh failed");
                state.last_error = Some(why);
            }
        }
    }

    /// The periodic refresh, started on first use (construction may happen outside a runtime). It holds only a
    /// weak reference, so it ends when the route that owns the store is dropped on a config reload.
    fn start_refresher(self: &Arc<Self>) {
        // A plain load first: this runs on every request, and a swap would write a shared cache line each time.
        if self.refresher_started.load(Ordering::Relaxed)
            || self.refresher_started.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let weak: Weak<KeyStore> = Arc::downgrade(self);
        let interval = self.interval;
        tokio::spawn(async move {
            let mut wait = interval;
            loop {
                tokio::time::sleep(wait).await;
                let Some(store) = weak.upgrade() else { return };
                let mut state = store.state.lock().await;
                store.fetch(&mut state).await;
                // After a failure try again sooner than a full interval, but not in a tight loop.
                wait = if state.last_error.is_some() {
                    interval
                        .min(Duration::from_secs(30))
                        .max(store.min_interval)
                } else {
                    interval
                };
            }
        });
    }
}
