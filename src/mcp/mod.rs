//! MCP: the gateway is a server to its clients (`server`) and a client to its upstreams (`upstream`). In
//! between: the catalogue of what the upstreams offer, the dispatch of each method, and the relay of calls.

pub mod catalogue;
pub(crate) mod dispatch;
pub mod parked;
pub mod progressive;
pub mod protocol;
pub(crate) mod relay;
pub mod route;
pub mod server;
pub mod state;
pub mod upstream;

pub use route::McpRoute;
pub use server::handle;
