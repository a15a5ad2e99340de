//! HTTP as both protocols use it: the listener, who is calling, response bodies, the Host/Origin check,
//! server TLS, the one outbound client, the SSE codec and the drain of a graceful shutdown.

pub mod body;
mod caller;
pub mod client;
pub mod listener;
pub mod origin;
pub mod pem;
pub mod shutdown;
pub mod sse;
pub mod tls;

pub use caller::Caller;
