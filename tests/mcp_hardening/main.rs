//! Hardening, end to end over real HTTP: DNS-rebinding protection (Host and Origin checks), the caller's
//! `Authorization` header kept from upstreams unless a backend asks for it, gateway-owned list cursors over
//! an upstream that paginates itself, one slow upstream not holding up another route, the per-backend
//! timeout, tool names on a one-backend route and the bound on a session's notification streams. Hostile
//! upstreams are in `mcp_hostile_upstream.rs`, upstream sessions in `mcp_upstream_sessions.rs`. The upstreams are stubs (`common::stub`: session era, JSON replies) that record every message
//! and its headers, so the tests can check what actually reached them, and the rmcp upstream where only
//! slowness is needed.
//!
//! One file a subject, in that order: `rebinding`, `authorization`, `pagination`, `slow_upstream`,
//! `backend_timeout`, `tool_names`, `notification_streams`.

#[path = "../common/mod.rs"]
mod common;

mod authorization;
mod backend_timeout;
mod notification_streams;
mod pagination;
mod rebinding;
mod slow_upstream;
mod tool_names;
