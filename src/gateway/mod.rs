//! The top layer: builds routes from the config, serves them on the listeners, reloads them, and routes
//! each request to its MCP or A2A route. The only layer that knows both protocols.

mod catalog;
mod metadata;
mod router;
pub mod runtime;
