//! One MCP route at run time: its pipeline, backends, catalogue and what its sessions need. Built from
//! config and immutable but for the catalogue (swapped whole by discovery); what must outlive a reload is
//! in its [`RouteState`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::core::policy::Pipeline;
use crate::core::seal::Sealer;
use crate::mcp::catalogue::Catalogue;
use crate::mcp::catalogue::schema::SchemaCache;
use crate::mcp::state::RouteState;
use crate::mcp::upstream::Upstream;

pub struct Backend {
    pub upstream: Arc<Upstream>,
    /// Name prefix when the route has several backends.
    pub prefix: Option<String>,
    /// The time a call may take: the backend's `mcp.timeout` or the route's `timeout.request`.
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

/// The most one upstream's discovery may bring in.
#[derive(Debug, Clone, Copy)]
pub struct ListingCaps {
    pub tools: usize,
    pub bytes: usize,
    /// The estimated memory of the compiled schemas ([`crate::mcp::catalogue::schema::cost`]).
    pub schema_bytes: usize,
}

pub struct McpRoute {
    pub pipeline: Pipeline,
    pub name: String,
    pub path_prefix: String,
    pub backends: Vec<Backend>,
    pub catalogue: ArcSwap<Catalogue>,
    pub schemas: SchemaCache,
    pub sealer: Arc<Sealer>,
    pub session_ttl: Duration,
    pub delimiter: String,
    pub refresh_interval: Duration,
    /// What one upstream may list (`limits.maxUpstreamTools`, `limits.maxUpstreamCatalogueBytes`,
    /// `limits.maxUpstreamSchemaBytes`).
    pub listing_caps: ListingCaps,
    pub page_size: usize,
    /// Kept by route name across reloads.
    pub state: Arc<RouteState>,
    /// Where DELETEd sessions are shared with the other replicas (`rateLimitStore`'s Redis).
    pub revocations: Option<Arc<crate::core::revocations::SharedRevocations>>,
    /// `mcp.discovery`, and the search index of progressive discovery.
    pub discovery: crate::config::Discovery,
    pub search: crate::mcp::progressive::Indexes,
    /// The registry's lock, when `registry.mode` is `enforce` or `warn`.
    pub pins: Option<Arc<crate::registry::pins::Pins>>,
    /// Set once the first discovery round finished, for readiness.
    pub discovered: std::sync::atomic::AtomicBool,
}

impl McpRoute {
    /// Where this route's calls wait for 2026-07-28 callers' answers (`parked`).
    pub fn parking(&self) -> crate::mcp::parked::Parking<'_> {
        crate::mcp::parked::Parking {
            calls: &self.state.parked,
            sealer: &self.sealer,
            route: &self.name,
        }
    }

    /// What `principal` may see of `catalogue` (indices per kind); `None`: everything (no mcp-authz).
    pub fn view(
        &self,
        catalogue: &crate::mcp::catalogue::Catalogue,
        principal: &str,
    ) -> Option<Arc<crate::core::policy::authz::View>> {
        self.pipeline
            .authz
            .as_ref()
            .map(|a| a.view(catalogue, principal))
    }

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
