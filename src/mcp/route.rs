//! One MCP route at run time: its backends, its catalogue and what its sessions need. Built from config,
//! immutable but for the catalogue (swapped whole by discovery) and a few replica-local maps.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use serde_json::Value;
use tokio::sync::{broadcast, oneshot};

use crate::config::OutputSchemaMode;
use crate::core::seal::Sealer;
use crate::mcp::catalogue::Catalogue;
use crate::mcp::catalogue::schema::SchemaCache;
use crate::mcp::upstream::Upstream;

pub struct Backend {
    pub upstream: Arc<Upstream>,
    /// Name prefix when the route has several backends.
    pub prefix: Option<String>,
    pub timeout: Duration,
    pub health: Mutex<Health>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Health {
    pub up: Option<bool>,
    pub last_error: Option<String>,
    #[serde(skip)]
    pub last_ok: Option<SystemTime>,
    pub tools: usize,
    pub consecutive_failures: u32,
}

pub struct McpRoute {
    pub policy: crate::core::policy::RoutePolicies,
    pub name: String,
    pub path_prefix: String,
    pub backends: Vec<Backend>,
    pub catalogue: ArcSwap<Catalogue>,
    pub schemas: SchemaCache,
    pub sealer: Arc<Sealer>,
    pub session_ttl: Duration,
    pub output_schema: OutputSchemaMode,
    pub delimiter: String,
    pub refresh_interval: Duration,
    /// `timeout.idle`: the longest a streamed answer may go without an upstream event.
    pub idle_timeout: Option<Duration>,
    pub page_size: usize,
    /// Fired when the catalogue changes, for `notifications/*/list_changed` to open streams.
    pub changes: broadcast::Sender<&'static str>,
    /// Server-to-client requests relayed to a caller, awaiting the caller's reply (replica-local: the reply
    /// must reach the replica that holds the upstream stream anyway).
    pub pending_replies: Mutex<HashMap<String, PendingReply>>,
    /// Sessions closed by DELETE on this replica; others expire with their sealed lifetime.
    pub revoked: Mutex<HashSet<String>>,
    /// Session ids recently opened here, so a session's requests do not decrypt its id every time.
    pub opened: crate::mcp::server::session::OpenedSessions,
    /// `logging/setLevel` of each session on this replica (the sealed id cannot change after initialize).
    pub log_levels: Mutex<HashMap<String, String>>,
    /// Notifications for one session's GET stream (resource updates): (session handle, message).
    pub session_events: broadcast::Sender<(String, Value)>,
    /// Live resource subscriptions on this replica, by `handle uri`, each a task relaying updates.
    pub subscriptions: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    /// Calls in flight on this replica by `caller key` + client request id, for `notifications/cancelled`.
    pub in_flight: Mutex<HashMap<String, tokio_util::sync::CancellationToken>>,
    /// Open legacy HTTP+SSE streams by session handle. That transport answers POSTs on a stream held
    /// by one replica, so it cannot move between replicas (a property of the 2024-11-05 protocol).
    pub legacy_streams: Mutex<HashMap<String, tokio::sync::mpsc::Sender<String>>>,
    /// Set once the first discovery round finished, for readiness.
    pub discovered: std::sync::atomic::AtomicBool,
}

pub struct PendingReply {
    /// The id the upstream gave its request, restored on the reply.
    pub upstream_id: Value,
    /// Which session may answer.
    pub session: String,
    pub reply: oneshot::Sender<Value>,
}

impl McpRoute {
    pub fn backend_health(&self) -> Vec<(String, Health)> {
        self.backends
            .iter()
            .map(|b| {
                (
                    b.upstream.name().to_string(),
                    b.health.lock().unwrap().clone(),
                )
            })
            .collect()
    }
}
