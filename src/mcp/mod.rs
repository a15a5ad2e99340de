//! MCP: the gateway is a server to its clients and a client to its upstreams.

pub mod catalogue;
pub mod discovery;
mod exchange;
pub mod jsonrpc;
mod methods;
pub mod naming;
mod relay;
pub mod route;
pub mod schema;
pub mod session;
pub mod sse;
pub mod streamable;
pub mod upstream;
pub mod version;

pub use route::McpRoute;
