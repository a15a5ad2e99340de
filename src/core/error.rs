//! Typed errors of the request path.

/// Why a call to an upstream (an MCP server or an A2A agent) failed. The kind decides whether `retry` may
/// try again: only what cannot have reached the upstream, or what the operator allows (`retryOn`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpstreamError {
    /// Could not connect: the request never reached the upstream.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The connection broke after the request was sent: it may have reached the upstream.
    #[error("connection reset: {0}")]
    Reset(String),
    /// The upstream answered with an HTTP error status.
    #[error("HTTP {0}: {1}")]
    Status(u16, String),
    /// The upstream broke the protocol (bad JSON, stream ended early, oversized event).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// No reply within the time allowed.
    #[error("timed out")]
    Timeout,
}
