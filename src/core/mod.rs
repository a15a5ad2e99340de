//! The protocol-neutral core: what MCP and A2A routes share. Nothing here imports `mcp`, `a2a`, `gateway`
//! or `sample` (`tests/layers.rs` checks it); config types are read only by the builders.
//!
//! - `http`: listener, caller, bodies, Host/Origin, TLS, the one outbound client, SSE codec.
//! - `jsonrpc`: JSON-RPC 2.0 codes and envelopes, used by both protocols.
//! - `policy`: the route's policies at run time.
//! - `identity`, `ratelimit`, `seal`, `telemetry`: what those policies and the request path use.

pub mod error;
pub mod http;
pub mod identity;
pub(crate) mod jsonrpc;
pub mod policy;
pub mod ratelimit;
pub mod revocations;
pub mod seal;
pub mod telemetry;
