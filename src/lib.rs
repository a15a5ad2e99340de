//! Agent Gateway: secures, connects and observes agent-to-tool (MCP) and agent-to-agent (A2A) traffic.
//!
//! Layers, each importing only those below it (`tests/layers.rs` enforces this; `docs/architecture.md`
//! is the map): `config` → `core` → `mcp`, `a2a` → `sample` → `gateway` → `cli`.

pub mod a2a;
pub mod cli;
pub mod config;
pub mod core;
pub mod gateway;
pub mod mcp;
pub mod sample;
