//! What a one-request caller holds on a stdio or legacy-SSE upstream: a child process or a stream of its
//! own. A caller that is anonymous and has no session cannot be told from the next one, so each of its
//! requests gets its own upstream connection, ended with the request (as HTTP upstreams get a one-request
//! session). They are kept apart from the per-caller cache, so a flood of them evicts no other caller's,
//! and at most a few exist at once per backend: a request past that waits (within its timeout) for one
//! to end, so anonymous callers cannot make the gateway fork or connect without bound.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One-request connections (children, streams) one backend holds at once.
pub const AT_ONCE: usize = 4;

pub struct OneRequest<T> {
    slots: Arc<Semaphore>,
    held: Mutex<HashMap<String, (T, OwnedSemaphorePermit)>>,
}

impl<T: Clone> Default for OneRequest<T> {
    fn default() -> Self {
        OneRequest {
            slots: Arc::new(Semaphore::new(AT_ONCE)),
            held: Mutex::default(),
        }
    }
}

impl<T: Clone> OneRequest<T> {
    /// The request's connection: the one it already has, else one made by `make` once a slot is free.
    pub async fn get_or_make<E, F: Future<Output = Result<T, E>>>(
        &self,
        key: &str,
        make: impl FnOnce() -> F,
    ) -> Result<T, E> {
        if let Some((held, _)) = self.held.lock().unwrap().get(key) {
            return Ok(held.clone());
        }
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let made = make().await?;
        self.held
            .lock()
            .unwrap()
            .insert(key.to_string(), (made.clone(), slot));
        Ok(made)
    }

    /// The request ended: its connection is dropped (a child is stopped) and its slot freed.
    pub fn end(&self, key: &str) {
        let ended = self.held.lock().unwrap().remove(key);
        drop(ended);
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.held.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_a_few_at_once_and_each_ends_with_its_request() {
        let one = Arc::new(OneRequest::<u32>::default());
        for n in 0..AT_ONCE as u32 {
            let got = one
                .get_or_make(&format!("r{n}"), || async move { Ok::<_, ()>(n) })
                .await;
            assert_eq!(got, Ok(n));
        }
        // The same request gets what it has; a new one waits for a slot.
        assert_eq!(
            one.get_or_make("r0", || async { Ok::<_, ()>(99) }).await,
            Ok(0)
        );
        let waiting = tokio::spawn({
            let one = one.clone();
            async move { one.get_or_make("late", || async { Ok::<_, ()>(7) }).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "a request past the bound did not wait"
        );
        one.end("r1");
        assert_eq!(waiting.await.unwrap(), Ok(7));
        assert_eq!(one.held(), AT_ONCE);
    }
}
