//! The MCP protocol as the gateway speaks it on both sides: revisions and their `_meta` keys.

pub mod methods;
pub mod server;
pub mod status;
pub mod version;
