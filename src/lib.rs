//! Agent Gateway: secures, connects and observes agent-to-tool (MCP) and agent-to-agent (A2A) traffic.

pub mod a2a;
pub mod config;
pub mod identity;
pub mod inspect;
pub mod mcp;
pub mod net;
pub mod policy;
pub mod quickstart;
pub mod ratelimit;
pub mod runtime;
pub mod sample;
pub mod seal;
pub mod server;
pub mod telemetry;
