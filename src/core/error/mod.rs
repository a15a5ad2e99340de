//! The request path's one error type, and the one place that says what each error means on the wire.
//!
//! Every refusal or failure the gateway itself authors is an [`Error`]. Its kind decides, in this module
//! only: the JSON-RPC code, the HTTP status in the caller's [`Dialect`] (session-era MCP answers JSON-RPC
//! errors with 200, 2026-07-28 MCP and A2A use HTTP statuses), the `error_type` metric label, `error.data`,
//! and how loudly it is logged. `respond` turns it into a response body. Errors an upstream sends as its
//! own JSON-RPC reply are answers, not `Error`s: they are relayed as they are.

mod respond;

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use crate::core::identity::AuthError;
use crate::core::jsonrpc as code;
use crate::core::telemetry::labels::{DenialKind, ErrorType, LimitKind};
use crate::core::telemetry::metrics;

pub use respond::{ErrorCode, a2a_error_info, body, response};

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
    /// Not called: the upstream fails discovery (the reason is its last error), so its tools are withheld.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl UpstreamError {
    /// A request the outbound client could not complete: a connect error never reached the upstream;
    /// anything later may have.
    pub fn of_request(error: &hyper_util::client::legacy::Error) -> UpstreamError {
        if error.is_connect() {
            UpstreamError::Connect(error_chain(error))
        } else {
            UpstreamError::Reset(error_chain(error))
        }
    }

    /// The kind of failure, without the upstream's own words (addresses, bodies): what a caller may see.
    pub fn kind(&self) -> String {
        match self {
            UpstreamError::Connect(_) => "connection failed".into(),
            UpstreamError::Reset(_) => "connection reset".into(),
            UpstreamError::Status(code, _) => format!("HTTP {code}"),
            UpstreamError::Protocol(_) => "protocol error".into(),
            UpstreamError::Timeout => "timed out".into(),
            UpstreamError::Unavailable(_) => "upstream unavailable".into(),
        }
    }
}

/// How the caller speaks, which decides the status and shape of an error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// MCP session era (and plain sessionless POSTs): JSON-RPC errors travel with HTTP 200, transport
    /// errors with their HTTP status.
    McpSession,
    /// MCP 2026-07-28: some JSON-RPC errors carry an HTTP status (404 unknown method, 400 header rules).
    McpStateless,
    /// A2A JSON-RPC; `v1` adds the `error.data` ErrorInfo the 1.0 spec requires.
    A2aRpc { v1: bool },
    /// A2A 1.0 HTTP+JSON binding: a `google.rpc.Status`-like body with an ErrorInfo reason.
    A2aRest,
}

impl Dialect {
    fn is_a2a(self) -> bool {
        matches!(self, Dialect::A2aRpc { .. } | Dialect::A2aRest)
    }
}

/// What a call names: checked by authorization, counted by rate limits, reported in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Tool,
    Prompt,
    Resource,
    Agent,
    Task,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Tool => "tool",
            TargetKind::Prompt => "prompt",
            TargetKind::Resource => "resource",
            TargetKind::Agent => "agent",
            TargetKind::Task => "task",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal or failure the gateway answers itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not JSON.
    #[error("Parse error: {0}")]
    Parse(String),
    /// Not a usable request: wrong JSON-RPC shape, a transport rule broken.
    #[error("Invalid Request: {0}")]
    InvalidRequest(String),
    #[error("Invalid Request: body larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error(
        "Invalid Request: the request body did not arrive within {limit:?} (limits.bodyReadTimeout)"
    )]
    BodyTimeout { limit: Duration },
    #[error("Invalid Request: JSON nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("Invalid Request: Content-Type must be application/json")]
    ContentType,
    /// The HTTP method is not served here; `allow` lists those that are.
    #[error("Method Not Allowed: {reason}")]
    MethodNotAllowed { allow: &'static str, reason: String },
    /// The Host/Origin check (DNS-rebinding protection).
    #[error("Forbidden: {0}")]
    Origin(String),
    /// `jwt-authn` refused the caller; `metadata` is the protected-resource metadata URL the challenge
    /// points to.
    #[error("Unauthorized: {source}")]
    Unauthenticated {
        #[source]
        source: AuthError,
        metadata: String,
    },
    #[error("Method not found: {0}")]
    MethodNotFound(String),
    #[error("Invalid params: {0}")]
    InvalidParams(String),
    /// Invalid params the transport catches before dispatch (a `params` that is not an object, a
    /// 2026-07-28 `_meta` without its required keys): 400 in every era.
    #[error("Invalid params: {0}")]
    BadParams(String),
    /// 2026-07-28: a header disagrees with the body, or a required one is missing (-32020).
    #[error("{0}")]
    HeaderMismatch(String),
    /// A protocol version the gateway does not speak.
    #[error("Unsupported protocol version {requested}")]
    UnsupportedVersion {
        requested: String,
        supported: Vec<&'static str>,
    },
    /// The session id is unknown, expired, closed or someone else's: answered alike (`reason` is logged).
    #[error("Session not found: start a new session with initialize")]
    SessionNotFound { reason: &'static str },
    /// No such tool, prompt, resource, agent or task for this caller.
    #[error("Unknown {kind}: {name}")]
    Unknown { kind: TargetKind, name: String },
    /// Authorization refused the target. MCP answers it exactly like [`Error::Unknown`], so a caller
    /// learns nothing about tools it may not see; A2A answers 403.
    #[error("principal may not use {kind} '{name}'")]
    Denied { kind: TargetKind, name: String },
    #[error("Invalid params: arguments do not match the inputSchema of tool {tool}")]
    Schema {
        tool: String,
        violations: Vec<Value>,
    },
    #[error("Rate limit exceeded: {per_minute} calls per minute; retry in {}s", retry_after_secs(*.retry_after))]
    RateLimited {
        per_minute: u32,
        retry_after: Duration,
        per: LimitKind,
    },
    #[error("{0}")]
    Unsupported(String),
    /// A bound was reached (streams, subscriptions): try later, or elsewhere.
    #[error("{0}")]
    Busy(String),
    #[error("upstream {backend} did not answer in time")]
    UpstreamTimeout { backend: String },
    #[error("upstream {backend} failed")]
    Upstream {
        backend: String,
        #[source]
        source: UpstreamError,
    },
    /// The upstream's answer broke a rule the route enforces (`outputSchema: enforce`).
    #[error("the result of tool {tool} does not match its outputSchema")]
    OutputSchema {
        tool: String,
        violations: Vec<Value>,
    },
    #[error("request cancelled by the client")]
    Cancelled,
    #[error("{0}")]
    Internal(String),
}

/// The longest error message a caller gets, in bytes.
pub const MAX_MESSAGE: usize = 256;

/// `text` cut to [`MAX_MESSAGE`] bytes (on a character boundary), marked with `…` when cut.
pub fn clipped(mut text: String) -> String {
    if text.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// `Retry-After` in whole seconds, rounded up so a client that waits that long is admitted.
pub fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Error {
    /// The JSON-RPC error code.
    pub fn code(&self, dialect: Dialect) -> i64 {
        match self {
            Error::Parse(_) => code::PARSE_ERROR,
            Error::InvalidRequest(_)
            | Error::BodyTooLarge { .. }
            | Error::BodyTimeout { .. }
            | Error::TooDeep { .. }
            | Error::ContentType
            | Error::MethodNotAllowed { .. }
            | Error::Origin(_)
            | Error::Unauthenticated { .. }
            | Error::SessionNotFound { .. } => code::INVALID_REQUEST,
            Error::MethodNotFound(_) => code::METHOD_NOT_FOUND,
            Error::InvalidParams(_) | Error::BadParams(_) | Error::Schema { .. } => {
                code::INVALID_PARAMS
            }
            Error::HeaderMismatch(_) => code::HEADER_MISMATCH,
            Error::UnsupportedVersion { .. } if dialect.is_a2a() => code::A2A_VERSION_NOT_SUPPORTED,
            Error::UnsupportedVersion { .. } => code::UNSUPPORTED_PROTOCOL_VERSION,
            Error::Unknown { kind, .. } | Error::Denied { kind, .. } => match (kind, self) {
                (TargetKind::Task, _) => code::A2A_TASK_NOT_FOUND,
                (TargetKind::Agent, Error::Denied { .. }) => code::A2A_FORBIDDEN,
                (TargetKind::Resource, _) => code::RESOURCE_NOT_FOUND,
                _ => code::INVALID_PARAMS,
            },
            Error::RateLimited { .. } => code::RATE_LIMITED,
            Error::Unsupported(_) if dialect.is_a2a() => code::A2A_UNSUPPORTED_OPERATION,
            Error::Unsupported(_) => code::INVALID_REQUEST,
            Error::UpstreamTimeout { .. } if dialect.is_a2a() => code::INTERNAL_ERROR,
            Error::UpstreamTimeout { .. } => code::UPSTREAM_TIMEOUT,
            Error::Upstream { .. } if dialect.is_a2a() => code::INTERNAL_ERROR,
            Error::Upstream { .. } => code::UPSTREAM_ERROR,
            Error::OutputSchema { .. } | Error::Internal(_) | Error::Busy(_) => {
                code::INTERNAL_ERROR
            }
            Error::Cancelled => code::REQUEST_CANCELLED,
        }
    }

    /// The HTTP status of the answer in `dialect`.
    pub fn status(&self, dialect: Dialect) -> StatusCode {
        // Refused before any JSON-RPC was read, or by the HTTP layer: the same in every dialect.
        match self {
            Error::Parse(_)
            | Error::InvalidRequest(_)
            | Error::TooDeep { .. }
            | Error::BadParams(_) => {
                return StatusCode::BAD_REQUEST;
            }
            Error::MethodNotAllowed { .. } => return StatusCode::METHOD_NOT_ALLOWED,
            Error::BodyTooLarge { .. } => return StatusCode::PAYLOAD_TOO_LARGE,
            Error::BodyTimeout { .. } => return StatusCode::REQUEST_TIMEOUT,
            Error::ContentType => return StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Origin(_) => return StatusCode::FORBIDDEN,
            Error::Unauthenticated { source, .. } => return source.status(),
            Error::SessionNotFound { .. } => return StatusCode::NOT_FOUND,
            Error::RateLimited { .. } => return StatusCode::TOO_MANY_REQUESTS,
            Error::Busy(_) => return StatusCode::SERVICE_UNAVAILABLE,
            Error::HeaderMismatch(_) => return StatusCode::BAD_REQUEST,
            _ => {}
        }
        match dialect {
            Dialect::McpSession => StatusCode::OK,
            Dialect::McpStateless => match self {
                Error::MethodNotFound(_) => StatusCode::NOT_FOUND,
                Error::UnsupportedVersion { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::OK,
            },
            Dialect::A2aRpc { .. } => match self {
                Error::Denied { .. } => StatusCode::FORBIDDEN,
                Error::Unknown {
                    kind: TargetKind::Agent,
                    ..
                } => StatusCode::NOT_FOUND,
                Error::Upstream { .. } | Error::UpstreamTimeout { .. } => StatusCode::BAD_GATEWAY,
                _ => StatusCode::OK,
            },
            Dialect::A2aRest => match self {
                Error::Denied { .. } => StatusCode::FORBIDDEN,
                Error::Unknown { .. } | Error::MethodNotFound(_) => StatusCode::NOT_FOUND,
                Error::Upstream { .. } | Error::UpstreamTimeout { .. } => StatusCode::BAD_GATEWAY,
                Error::Internal(_) | Error::OutputSchema { .. } => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                _ => StatusCode::BAD_REQUEST,
            },
        }
    }

    /// The A2A ErrorInfo reason (HTTP+JSON binding and 1.0 `error.data`).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Parse(_)
            | Error::InvalidRequest(_)
            | Error::BodyTooLarge { .. }
            | Error::BodyTimeout { .. }
            | Error::TooDeep { .. }
            | Error::ContentType
            | Error::HeaderMismatch(_)
            | Error::InvalidParams(_)
            | Error::BadParams(_)
            | Error::Schema { .. } => "INVALID_REQUEST",
            Error::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Error::Origin(_) | Error::Denied { .. } => "PERMISSION_DENIED",
            Error::Unauthenticated { .. } => "UNAUTHENTICATED",
            Error::MethodNotFound(_) => "METHOD_NOT_FOUND",
            Error::UnsupportedVersion { .. } => "VERSION_NOT_SUPPORTED",
            Error::SessionNotFound { .. } => "SESSION_NOT_FOUND",
            Error::Unknown { kind, .. } => match kind {
                TargetKind::Task => "TASK_NOT_FOUND",
                TargetKind::Agent => "AGENT_NOT_FOUND",
                _ => "NOT_FOUND",
            },
            Error::RateLimited { .. } | Error::Busy(_) => "RATE_LIMITED",
            Error::Unsupported(_) => "UNSUPPORTED_OPERATION",
            Error::UpstreamTimeout { .. } | Error::Upstream { .. } => "AGENT_UNAVAILABLE",
            Error::OutputSchema { .. } | Error::Internal(_) => "INTERNAL_ERROR",
            Error::Cancelled => "CANCELLED",
        }
    }

    /// `error.data`, where the kind has something a client can act on.
    pub fn data(&self) -> Option<Value> {
        match self {
            Error::UnsupportedVersion {
                requested,
                supported,
            } => Some(json!({"requested": requested, "supported": supported})),
            Error::Unknown {
                kind: TargetKind::Resource,
                name,
            }
            | Error::Denied {
                kind: TargetKind::Resource,
                name,
            } => Some(json!({"uri": name})),
            Error::Schema { tool, violations } => {
                Some(json!({"tool": tool, "violations": violations}))
            }
            Error::RateLimited {
                per_minute,
                retry_after,
                per,
            } => Some(json!({
                "retryAfterSeconds": retry_after_secs(*retry_after),
                "limit": per_minute,
                "per": per.key_kind(),
            })),
            Error::OutputSchema { violations, .. } => Some(json!({"violations": violations})),
            // The kind of failure only: the upstream's own words go to the log, not to callers.
            Error::Upstream { source, .. } => Some(json!({"reason": source.kind()})),
            _ => None,
        }
    }

    /// The message a caller sees, at most [`MAX_MESSAGE`] bytes: it may quote what the caller sent (a
    /// method, a tool name), which must not come back a megabyte long. MCP answers a denied target
    /// exactly like an unknown one.
    pub fn message(&self, dialect: Dialect) -> String {
        clipped(self.full_message(dialect))
    }

    fn full_message(&self, dialect: Dialect) -> String {
        match self {
            Error::Denied { kind, name } if !dialect.is_a2a() => match kind {
                TargetKind::Resource => "Resource not found".to_string(),
                _ => format!("Unknown {kind}: {name}"),
            },
            Error::Unknown {
                kind: TargetKind::Resource,
                ..
            } => "Resource not found".to_string(),
            Error::Unknown {
                kind: TargetKind::Agent,
                name,
            } => format!("no agent named '{name}' on this route"),
            Error::Unknown {
                kind: TargetKind::Task,
                ..
            } => "Task not found".to_string(),
            other => other.to_string(),
        }
    }

    /// The `error_type` label of `mcp_errors_total` and `mcp_tool_errors`.
    pub fn metric(&self) -> ErrorType {
        match self {
            Error::Parse(_) => ErrorType::ParseError,
            Error::InvalidRequest(_)
            | Error::BodyTooLarge { .. }
            | Error::BodyTimeout { .. }
            | Error::TooDeep { .. }
            | Error::ContentType
            | Error::MethodNotAllowed { .. }
            | Error::Unsupported(_) => ErrorType::InvalidRequest,
            Error::Origin(_) | Error::Denied { .. } => ErrorType::Forbidden,
            Error::Unauthenticated { .. } => ErrorType::Unauthenticated,
            Error::MethodNotFound(_) => ErrorType::MethodNotFound,
            Error::InvalidParams(_) | Error::BadParams(_) | Error::Unknown { .. } => {
                ErrorType::InvalidParams
            }
            Error::HeaderMismatch(_) | Error::UnsupportedVersion { .. } => {
                ErrorType::ProtocolVersion
            }
            Error::SessionNotFound { .. } => ErrorType::SessionNotFound,
            Error::Schema { .. } | Error::OutputSchema { .. } => ErrorType::SchemaViolation,
            Error::RateLimited { .. } => ErrorType::RateLimited,
            Error::UpstreamTimeout { .. } => ErrorType::UpstreamTimeout,
            Error::Upstream { .. } => ErrorType::UpstreamUnavailable,
            Error::Cancelled | Error::Internal(_) | Error::Busy(_) => ErrorType::Internal,
        }
    }

    /// Logs the error and counts the policy that refused the call, if one did: call once, where the
    /// error becomes an answer. (The answer itself is counted by its protocol's request metrics.)
    pub fn report(&self, route: &str, principal: Option<&str>) {
        self.log(route, principal);
        match self {
            Error::Denied { kind, .. } => metrics::authz_denied(
                route,
                match kind {
                    TargetKind::Agent | TargetKind::Task => DenialKind::Agent,
                    _ => DenialKind::Tool,
                },
            ),
            Error::RateLimited { per, .. } => metrics::rate_limited(route, *per),
            Error::Schema { .. } => metrics::schema_rejected(route),
            _ => {}
        }
    }

    /// The log line an operator needs (see `report`), at the level the kind deserves: routine refusals at debug/info,
    /// what an operator should look at at warn, the gateway's own faults at error.
    pub fn log(&self, route: &str, principal: Option<&str>) {
        let principal = principal.unwrap_or("<anonymous>");
        match self {
            Error::Unauthenticated {
                source: AuthError::Missing,
                ..
            } => tracing::info!(route, "authn: request without a bearer token refused"),
            Error::Unauthenticated { source, .. } => {
                tracing::warn!(route, hint = %source.operator_hint(), "authn: request refused")
            }
            Error::Origin(reason) => {
                tracing::warn!(route, reason, "request refused by the Host/Origin check")
            }
            Error::SessionNotFound { reason } => {
                tracing::info!(route, reason, "session id refused")
            }
            Error::Denied { kind, name } => {
                tracing::info!(
                    route,
                    principal,
                    kind = kind.as_str(),
                    name = %clipped(name.clone()),
                    "authz: denied"
                )
            }
            Error::Schema { tool, violations } => tracing::info!(
                route,
                tool,
                violations = violations.len(),
                "tools/call arguments rejected by the tool's inputSchema"
            ),
            Error::RateLimited {
                per_minute, per, ..
            } => tracing::info!(
                route,
                principal,
                key_kind = per.key_kind(),
                per_minute,
                "rate limit: call refused"
            ),
            Error::Upstream { backend, source } => tracing::warn!(
                route,
                upstream = backend,
                error = %error_chain(source),
                "upstream call failed"
            ),
            Error::UpstreamTimeout { backend } => {
                tracing::warn!(route, upstream = backend, "upstream did not answer in time")
            }
            Error::OutputSchema { tool, violations } => tracing::warn!(
                route,
                tool,
                violations = violations.len(),
                "upstream result does not match the tool's outputSchema; refused (outputSchema: enforce)"
            ),
            Error::Internal(message) => tracing::error!(route, message, "internal error"),
            Error::Busy(message) => tracing::warn!(route, message, "refused: a bound was reached"),
            other => tracing::debug!(route, error = %clipped(other.to_string()), "request refused"),
        }
    }
}

/// An error and every `source()` below it, joined with `: `.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
