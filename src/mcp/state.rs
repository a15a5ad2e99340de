//! What an MCP route keeps between requests on this replica. It is kept by route name across config
//! reloads (the gateway's `RouteStates`), so a reload does not bring back DELETEd sessions, orphan a legacy
//! SSE client, drop a pending elicitation or a cancellation, or reopen every upstream session. Every map is
//! bounded; the caches expire entries by time, never by clearing.
//!
//! | state | bound | after the bound |
//! |---|---|---|
//! | revoked session ids | 1,000,000, each kept for the session lifetime; shared by the replicas through Redis with `rateLimitStore` (`core/revocations.rs`), else this replica's only | the least recently revoked returns until it expires (logged) |
//! | opened session ids (decrypt cache) | 2,048 | reopened by decrypting |
//! | log levels of sessions | 100,000, kept for the session lifetime | the upstream default |
//! | pending server-to-client requests | 10,000 per route and 32 per call, 10 minutes each, dropped when their call ends | refused: the upstream gets an error reply |
//! | calls in flight (for `notifications/cancelled`) | 100,000 | the call runs, not cancellable |
//! | calls of 2026-07-28 callers waiting for an answer (`parked`) | 1,000, 10 minutes each | refused (busy); past its time the call ends |
//! | legacy SSE streams | 10,000 | the stream is refused (503) |
//! | GET notification streams of one session | 4 | the stream is refused (503) |
//! | resource subscriptions | 10,000 | the subscription is refused |
//! | followed upstream GET streams (one per session and session-era backend) | 10,000, each ended with its session | not followed: the upstream's requests there are not relayed |
//! | upstream clients (sessions, stdio children) | one per configured backend | — |

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dashmap::DashMap;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::mcp::server::session::OpenedSessions;
use crate::mcp::upstream::Upstream;

const MAX_REVOKED: u64 = 1_000_000;
const MAX_LOG_LEVELS: u64 = 100_000;
const MAX_PENDING: u64 = 10_000;
/// Server-to-client requests one call may have waiting for the caller's answer.
pub const MAX_PENDING_PER_CALL: usize = 32;
/// How long a relayed server-to-client request waits for the caller's answer.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
pub const MAX_IN_FLIGHT: usize = 100_000;
pub const MAX_LEGACY_STREAMS: usize = 10_000;
pub const MAX_SUBSCRIPTIONS: usize = 10_000;
/// GET notification streams one session may hold open at once.
pub const MAX_STREAMS_PER_SESSION: usize = 4;

/// A server-to-client request relayed to a caller, awaiting the caller's reply. The reply must reach the
/// replica that holds the upstream stream anyway, so this is replica-local by nature.
pub struct PendingReply {
    /// The id the upstream gave its request, restored on the reply.
    pub upstream_id: Value,
    /// Which session may answer.
    pub session: String,
    reply: Mutex<Option<oneshot::Sender<Value>>>,
}

impl PendingReply {
    pub fn new(upstream_id: Value, session: String, reply: oneshot::Sender<Value>) -> PendingReply {
        PendingReply {
            upstream_id,
            session,
            reply: Mutex::new(Some(reply)),
        }
    }

    /// Answers the upstream's request itself (the gateway refuses it) under the upstream's own id,
    /// unless the caller's answer went first.
    pub fn refuse(&self, why: &str) {
        let error = crate::core::jsonrpc::error(
            &self.upstream_id,
            crate::core::jsonrpc::METHOD_NOT_FOUND,
            why,
        );
        if let Some(reply) = self.reply.lock().unwrap().take() {
            let _ = reply.send(error);
        }
    }
}

/// The caches and the event channel are built on first use: an empty moka cache costs about 31 KB and a
/// 256-slot channel about 21 KB, which every route would pay at start whether it ever sees a DELETE, a
/// `logging/setLevel`, a relayed request or a subscription or not.
/// One open GET stream of a session, counted until dropped.
pub struct StreamSlot {
    state: Arc<RouteState>,
    handle: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some(mut open) = self.state.streams.get_mut(&self.handle) {
            *open -= 1;
        }
        self.state
            .streams
            .remove_if(&self.handle, |_, open| *open == 0);
    }
}

pub struct RouteState {
    session_ttl: Duration,
    /// Sessions closed by DELETE on this replica; others expire with their sealed lifetime.
    revoked: OnceLock<moka::sync::Cache<String, ()>>,
    /// Session ids recently opened here, so a session's requests do not decrypt its id every time.
    pub opened: OpenedSessions,
    /// `logging/setLevel` of each session (the sealed id cannot change after initialize).
    log_levels: OnceLock<moka::sync::Cache<String, String>>,
    pending: OnceLock<moka::sync::Cache<String, Arc<PendingReply>>>,
    /// Calls in flight by session handle + client request id, for `notifications/cancelled`.
    pub in_flight: DashMap<String, CancellationToken>,
    /// Calls of 2026-07-28 callers waiting for the answer to an upstream's question (`parked`).
    pub parked: Arc<crate::mcp::parked::ParkedCalls>,
    /// Open legacy HTTP+SSE streams by session handle. That transport answers POSTs on a stream held by
    /// one replica, so it cannot move between replicas (a property of the 2024-11-05 protocol).
    pub legacy_streams: DashMap<String, mpsc::Sender<String>>,
    /// Open GET notification streams by session handle.
    streams: DashMap<String, usize>,
    /// Live resource subscriptions by `handle uri`: the task relaying a 2026-07-28 upstream's updates, or
    /// `None` where the session's follower of a session-era upstream's GET stream relays them.
    pub subscriptions: DashMap<String, Option<tokio::task::AbortHandle>>,
    /// Followers of the GET streams of callers' upstream sessions, by `handle\nbackend` (`follow`).
    pub followers: DashMap<String, tokio::task::AbortHandle>,
    /// Fired when the catalogue changes, for `notifications/*/list_changed` on open streams; kept across
    /// reloads so streams opened before one hear about changes after it.
    pub changes: broadcast::Sender<&'static str>,
    /// Notifications for one session's GET stream (resource updates): (session handle, message).
    session_events: OnceLock<broadcast::Sender<(String, Value)>>,
    /// Upstream clients by backend name, with the config they were built from: reused by a reload that
    /// leaves the backend as it was, so its sessions and stdio children carry on.
    upstreams: Mutex<HashMap<String, (String, Arc<Upstream>)>>,
}

/// Puts a server-to-client request relayed to a caller under a new gateway id, the one the caller
/// answers to: the gateway id, and the upstream's own id taken out of `message`.
pub fn gateway_id(message: &mut Value) -> (String, Value) {
    let gateway_id = format!("agw-{}", crate::core::seal::random_id());
    let upstream_id = std::mem::replace(&mut message["id"], Value::String(gateway_id.clone()));
    (gateway_id, upstream_id)
}

/// The `subscriptions` key of session `handle`'s subscription to `uri`.
pub fn subscription_key(handle: &str, uri: &str) -> String {
    format!("{handle} {uri}")
}

impl RouteState {
    pub fn new(session_ttl: Duration) -> RouteState {
        RouteState {
            session_ttl,
            revoked: OnceLock::new(),
            opened: OpenedSessions::default(),
            log_levels: OnceLock::new(),
            pending: OnceLock::new(),
            in_flight: DashMap::new(),
            parked: Arc::default(),
            legacy_streams: DashMap::new(),
            streams: DashMap::new(),
            subscriptions: DashMap::new(),
            followers: DashMap::new(),
            changes: broadcast::channel(16).0,
            session_events: OnceLock::new(),
            upstreams: Mutex::default(),
        }
    }

    pub fn revoke(&self, handle: &str) {
        let revoked = self.revoked.get_or_init(|| {
            moka::sync::Cache::builder()
                .max_capacity(MAX_REVOKED)
                .time_to_live(self.session_ttl)
                .eviction_listener(|_, _, cause| {
                    if cause == moka::notification::RemovalCause::Size {
                        tracing::warn!(
                            "more than {MAX_REVOKED} revoked sessions on this route: the oldest revocation is forgotten before its session expires"
                        );
                    }
                })
                .build()
        });
        revoked.insert(handle.to_string(), ());
    }

    pub fn is_revoked(&self, handle: &str) -> bool {
        self.revoked
            .get()
            .is_some_and(|revoked| revoked.contains_key(handle))
    }

    pub fn set_log_level(&self, handle: &str, level: &str) {
        let levels = self.log_levels.get_or_init(|| {
            moka::sync::Cache::builder()
                .max_capacity(MAX_LOG_LEVELS)
                .time_to_live(self.session_ttl)
                .build()
        });
        levels.insert(handle.to_string(), level.to_string());
    }

    pub fn log_level(&self, handle: &str) -> Option<String> {
        self.log_levels.get()?.get(handle)
    }

    /// Notifications for one session's GET stream (resource updates): (session handle, message).
    pub fn session_events(&self) -> &broadcast::Sender<(String, Value)> {
        self.session_events
            .get_or_init(|| broadcast::channel(256).0)
    }

    /// Whether session `handle` has a GET stream open here.
    pub fn has_stream(&self, handle: &str) -> bool {
        self.streams.get(handle).is_some_and(|open| *open > 0)
    }

    /// A place for one more GET stream of session `handle`; `None` when it holds
    /// [`MAX_STREAMS_PER_SESSION`] already. The place is given back when the slot is dropped.
    pub fn open_stream(self: &Arc<Self>, handle: &str) -> Option<StreamSlot> {
        let mut open = self.streams.entry(handle.to_string()).or_insert(0);
        if *open >= MAX_STREAMS_PER_SESSION {
            return None;
        }
        *open += 1;
        Some(StreamSlot {
            state: self.clone(),
            handle: handle.to_string(),
        })
    }

    /// Keeps a relayed request until its reply; gives it back when the route already waits for too many.
    pub fn await_reply(
        &self,
        gateway_id: String,
        pending: PendingReply,
    ) -> Result<(), PendingReply> {
        let waiting = self.pending.get_or_init(|| {
            moka::sync::Cache::builder()
                .max_capacity(MAX_PENDING)
                .time_to_live(PENDING_TTL)
                .build()
        });
        if waiting.entry_count() >= MAX_PENDING {
            waiting.run_pending_tasks();
            if waiting.entry_count() >= MAX_PENDING {
                return Err(pending);
            }
        }
        waiting.insert(gateway_id, Arc::new(pending));
        Ok(())
    }

    /// Keeps `pending` until its caller answers `gateway_id`; refuses it (upstream, and in the log) when
    /// the route waits for too many replies already. Whether it is kept.
    pub fn hold(&self, route: &str, gateway_id: String, pending: PendingReply) -> bool {
        match self.await_reply(gateway_id, pending) {
            Ok(()) => true,
            Err(pending) => {
                tracing::warn!(%route, "too many server-to-client requests waiting for replies; refusing one");
                pending.refuse("the gateway has too many requests waiting for replies");
                false
            }
        }
    }

    /// Delivers `session`'s reply to the relayed request `gateway_id`; `None` when nothing from this
    /// session waits for it. Returns the upstream's request id to restore on the reply.
    pub fn take_reply(
        &self,
        gateway_id: &str,
        session: Option<&str>,
    ) -> Option<(Value, oneshot::Sender<Value>)> {
        let waiting = self.pending.get()?;
        let pending = waiting.get(gateway_id)?;
        if Some(pending.session.as_str()) != session {
            return None;
        }
        waiting.invalidate(gateway_id);
        let reply = pending.reply.lock().unwrap().take()?;
        Some((pending.upstream_id.clone(), reply))
    }

    /// Whether a relayed request still waits for its reply.
    pub fn is_pending(&self, gateway_id: &str) -> bool {
        self.pending
            .get()
            .is_some_and(|waiting| waiting.contains_key(gateway_id))
    }

    /// Forgets a relayed request whose call ended unanswered, and tells the upstream so at once (moka
    /// would drop the waiting sender only at its next maintenance).
    pub fn forget_reply(&self, gateway_id: &str) {
        if let Some(pending) = self.pending.get().and_then(|w| w.remove(gateway_id)) {
            pending.refuse("the call ended before the caller answered");
        }
    }

    /// The upstream client for a backend built from `fingerprint` (its config): the one kept from before
    /// a reload when the config is the same, else `build()`'s.
    pub fn upstream<E>(
        &self,
        backend: &str,
        fingerprint: String,
        build: impl FnOnce() -> Result<Upstream, E>,
    ) -> Result<Arc<Upstream>, E> {
        let mut upstreams = self.upstreams.lock().unwrap();
        if let Some((kept, upstream)) = upstreams.get(backend)
            && *kept == fingerprint
        {
            return Ok(upstream.clone());
        }
        let upstream = Arc::new(build()?);
        upstreams.insert(backend.to_string(), (fingerprint, upstream.clone()));
        Ok(upstream)
    }

    /// Drops the upstream clients of backends the new config no longer has.
    pub fn retain_upstreams(&self, backends: &[&str]) {
        self.upstreams
            .lock()
            .unwrap()
            .retain(|name, _| backends.contains(&name.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_reaches_only_its_session_and_only_once() {
        let state = RouteState::new(Duration::from_secs(60));
        let (tx, _rx) = oneshot::channel();
        assert!(
            state
                .await_reply(
                    "agw-1".into(),
                    PendingReply::new(Value::from(7), "s1".into(), tx)
                )
                .is_ok()
        );
        assert!(state.take_reply("agw-1", Some("s2")).is_none());
        assert!(state.take_reply("agw-1", None).is_none());
        let (upstream_id, _reply) = state.take_reply("agw-1", Some("s1")).unwrap();
        assert_eq!(upstream_id, 7);
        assert!(state.take_reply("agw-1", Some("s1")).is_none());
    }

    #[test]
    fn revocations_last_until_they_expire_not_until_a_count() {
        let state = RouteState::new(Duration::from_secs(60));
        state.revoke("h0");
        for i in 1..150_000 {
            state.revoke(&format!("h{i}"));
        }
        // The old set was cleared at 100,000 entries, which brought every DELETEd session back.
        assert!(state.is_revoked("h0"));
        assert!(state.is_revoked("h149999"));
        assert!(!state.is_revoked("never"));
    }

    #[test]
    fn an_unchanged_backend_keeps_its_upstream_client_across_rebuilds() {
        let state = RouteState::new(Duration::from_secs(60));
        let build = || -> Result<Upstream, ()> {
            Ok(Upstream::Local {
                name: "b".into(),
                server: Box::new(Echo),
            })
        };
        let first = state.upstream("b", "v1".into(), build).unwrap();
        let same = state.upstream("b", "v1".into(), build).unwrap();
        let changed = state.upstream("b", "v2".into(), build).unwrap();
        assert!(Arc::ptr_eq(&first, &same));
        assert!(!Arc::ptr_eq(&first, &changed));
        state.retain_upstreams(&[]);
        let rebuilt = state.upstream("b", "v2".into(), build).unwrap();
        assert!(!Arc::ptr_eq(&changed, &rebuilt));
    }

    struct Echo;

    impl crate::mcp::upstream::Local for Echo {
        fn request(&self, _: &crate::mcp::upstream::CallCtx, _: &str, params: Value) -> Value {
            params
        }
    }
}
