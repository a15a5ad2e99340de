//! Who is calling, as the route's authentication found out.

/// Who is calling. `principal` comes from a verified token (`jwt-authn`) or client certificate (mTLS);
/// without either, the caller is anonymous.
#[derive(Debug, Default, Clone)]
pub struct Caller {
    pub principal: Option<String>,
    /// The caller's own `Authorization` header, forwarded upstream only where a backend asks for it.
    pub authorization: Option<String>,
    /// Headers the gateway adds toward upstreams from the caller's verified claims (`claimToHeaders`).
    /// Client-sent headers never reach an upstream, so a caller cannot forge these.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// The request's trace, carried to the upstream attempts (their parent span).
    pub trace: Option<crate::core::telemetry::tracing::Trace>,
}
