//! HTTP as both protocols use it: the listener, who is calling, response bodies, the Host/Origin check,
//! paths that could mean another path upstream, server TLS, the one outbound client, the SSE codec and
//! the drain of a graceful shutdown.

pub mod body;
mod caller;
pub mod client;
pub mod forwarded;
pub mod listener;
pub mod origin;
pub mod path;
pub mod pem;
pub mod shutdown;
pub mod sse;
pub mod tls;

pub use caller::Caller;
