//! Revoked ids shared by the replicas through the Redis of `rateLimitStore`. A revocation is a key that
//! expires with the id it revokes (`SET … EXAT`), so the set is pruned by expiry only, and a message on
//! one channel, so replicas learn of it within a round trip. Each replica keeps its own bounded copy
//! (the route state) and fills it from here: from the channel while connected, and by one scan of the
//! keys whenever it (re)subscribes, which covers a replica that starts late or lost its connection.
//! The window left: a revocation made while a replica is cut off from Redis reaches it when it
//! reconnects (retried every second).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "agent-gateway:revocations";
const PREFIX: &str = "agent-gateway:revoked:";
/// Longest a revocation waits for Redis before it is logged as not shared.
const BUDGET: Duration = Duration::from_millis(500);

/// Called with (scope, id) for every revocation heard of, own ones included.
pub type OnRevoked = Arc<dyn Fn(&str, &str) + Send + Sync>;

pub struct SharedRevocations {
    client: redis::Client,
    conn: ConnectionManager,
}

impl SharedRevocations {
    pub fn new(url: &str) -> Result<SharedRevocations, String> {
        let client = redis::Client::open(url).map_err(|e| format!("rateLimitStore URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(BUDGET))
            .set_response_timeout(Some(BUDGET));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| format!("rateLimitStore: {e}"))?;
        Ok(SharedRevocations { client, conn })
    }

    /// Records `id` of `scope` as revoked until `expires_at` (unix seconds) and tells the other replicas.
    pub async fn revoke(&self, scope: &str, id: &str, expires_at: u64) {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(format!("{PREFIX}{scope}:{id}"))
            .arg(1)
            .arg("EXAT")
            .arg(expires_at)
            .ignore()
            .cmd("PUBLISH")
            .arg(CHANNEL)
            .arg(format!("{scope}\n{id}"))
            .ignore();
        match tokio::time::timeout(BUDGET, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(scope, error = %e, "revocation not shared: Redis refused it; other replicas accept the id until it expires")
            }
            Err(_) => {
                tracing::warn!(
                    scope,
                    "revocation not shared: Redis did not answer in 500 ms; other replicas accept the id until it expires"
                )
            }
        }
    }

    /// Hands every revocation, past and future, to `on` until `stop`.
    pub fn follow(self: &Arc<Self>, on: OnRevoked, stop: CancellationToken) {
        let shared = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = tokio::select! {
                    result = shared.follow_once(&on) => result,
                    _ = stop.cancelled() => return,
                } {
                    tracing::warn!(error = %e, "revocations: lost Redis; retrying in 1 s");
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.cancelled() => return,
                }
            }
        });
    }

    /// Subscribes, then reads the keys already there (so nothing falls between the two), then follows.
    async fn follow_once(&self, on: &OnRevoked) -> redis::RedisResult<()> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        let mut conn = self.conn.clone();
        let mut keys: redis::AsyncIter<String> = conn.scan_match(format!("{PREFIX}*")).await?;
        let mut known = Vec::new();
        while let Some(key) = keys.next_item().await {
            known.push(key?);
        }
        drop(keys);
        for key in &known {
            if let Some((scope, id)) = key.strip_prefix(PREFIX).and_then(|k| k.rsplit_once(':')) {
                on(scope, id);
            }
        }
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let payload: String = message.get_payload()?;
            if let Some((scope, id)) = payload.split_once('\n') {
                on(scope, id);
            }
        }
        Err((redis::ErrorKind::Io, "subscription ended").into())
    }
}
