//! Agent Gateway: secures, connects and observes agent-to-tool (MCP) and agent-to-agent (A2A) traffic.
//!
//! Layers, each importing only those below it (`tests/layers.rs` enforces this; `docs/architecture.md`
//! is the map): `config` → `core` → `registry` → `mcp`, `a2a` → `sample` → `gateway` → `cli`.
//!
//! Public only where the binary, the tests or the benches reach in: `mcp`, the router and the JSON-RPC
//! classifier are private, so the MCP route is exercised over HTTP, as a client sees it.

pub mod a2a;
pub mod cli;
pub mod config;
pub mod core;
pub mod gateway;
mod mcp;
pub mod registry;
pub mod sample;
