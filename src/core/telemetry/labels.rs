//! Label values, kept bounded.
//!
//! Every distinct label value is a time series that Prometheus keeps in memory, so a value a caller controls
//! must never become a label as it is. The rules:
//! - Route and backend names come from the config: bounded by the operator.
//! - Methods, tool names and identities come from callers: known values pass, anything else collapses to one
//!   value (`other`, `unknown`, `other`). Methods are bounded by their protocol's table
//!   (`mcp::protocol::methods::label`) before they get here.
//! - Outcomes, error types and rejection kinds are enums here, so a new value needs a code change.
//! - Session ids, task ids, request ids and raw paths never become labels (they go to traces and logs).

use std::collections::HashSet;
use std::sync::RwLock;

/// A tool name when the catalogue knows it, else `unknown`: a caller can ask for any name, and each would
/// otherwise become its own series.
pub fn tool_label(name: &str, known: bool) -> &str {
    if known { name } else { "unknown" }
}

/// How many distinct caller identities get their own series before new ones are counted as `other`.
/// Identities are verified principals (service accounts), so a few hundred is generous; the cap only guards
/// against a misconfigured issuer minting a new subject per token.
pub const MAX_IDENTITIES: usize = 500;

/// The identity label: the verified principal, `anonymous` without one, `other` past `MAX_IDENTITIES`.
pub struct Identities {
    seen: RwLock<HashSet<String>>,
}

impl Identities {
    pub fn new() -> Identities {
        Identities {
            seen: RwLock::new(HashSet::new()),
        }
    }

    pub fn label<'a>(&self, principal: Option<&'a str>) -> &'a str {
        let Some(p) = principal else {
            return "anonymous";
        };
        // The read lock is the common path: an identity is new once per process.
        if self
            .seen
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(p)
        {
            return p;
        }
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        if seen.len() < MAX_IDENTITIES || seen.contains(p) {
            seen.insert(p.to_string());
            p
        } else {
            "other"
        }
    }
}

impl Default for Identities {
    fn default() -> Identities {
        Identities::new()
    }
}

/// How a tool invocation or an A2A call ended (`status` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A result came back (for a tool: `isError` false).
    Ok,
    /// The callee answered with an error: a tool result with `isError`, a JSON-RPC error, a failed task.
    Error,
    /// No answer within the timeout policy.
    Timeout,
    /// The callee could not be reached (connect failure, reset, 5xx).
    Unavailable,
    /// The gateway refused the call (authorization, rate limit, schema) before it reached the callee.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::Unavailable => "unavailable",
            Outcome::Denied => "denied",
        }
    }
}

/// The `error_type` of `mcp_errors_total` and `mcp_tool_errors`: one per kind of failure a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// -32700: the body is not JSON.
    ParseError,
    /// -32600, or a transport rule broken (headers, body size, nesting).
    InvalidRequest,
    /// -32601.
    MethodNotFound,
    /// -32602 other than a schema violation (unknown tool, missing name).
    InvalidParams,
    /// -32602 from `inputSchema` validation, or an `outputSchema: enforce` violation.
    SchemaViolation,
    /// -32020/-32022 and other protocol-version problems.
    ProtocolVersion,
    /// Unknown, expired or foreign session id (404).
    SessionNotFound,
    /// No or invalid credentials (401).
    Unauthenticated,
    /// Authorization refused (403).
    Forbidden,
    /// Rate limit (429).
    RateLimited,
    /// The upstream answered with a JSON-RPC error or `isError`.
    UpstreamError,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// The upstream could not be reached or no upstream serves the tool.
    UpstreamUnavailable,
    /// A bug or an unexpected state in the gateway (-32603).
    Internal,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::ParseError => "parse_error",
            ErrorType::InvalidRequest => "invalid_request",
            ErrorType::MethodNotFound => "method_not_found",
            ErrorType::InvalidParams => "invalid_params",
            ErrorType::SchemaViolation => "schema_violation",
            ErrorType::ProtocolVersion => "protocol_version",
            ErrorType::SessionNotFound => "session_not_found",
            ErrorType::Unauthenticated => "unauthenticated",
            ErrorType::Forbidden => "forbidden",
            ErrorType::RateLimited => "rate_limited",
            ErrorType::UpstreamError => "upstream_error",
            ErrorType::UpstreamTimeout => "upstream_timeout",
            ErrorType::UpstreamUnavailable => "upstream_unavailable",
            ErrorType::Internal => "internal",
        }
    }
}

/// What an authorization denial refused (`kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    /// `mcp-authz`: a tool not in the caller's `allowedTools` (also hidden from its `tools/list`).
    Tool,
    /// `a2a-authz`: a source not allowed to call the target agent.
    Agent,
    /// The caller matches no rule of the route at all.
    Route,
}

impl DenialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DenialKind::Tool => "tool",
            DenialKind::Agent => "agent",
            DenialKind::Route => "route",
        }
    }
}

/// Which limit refused a call (`key_kind` label); the key's value (a principal, a tool) is not a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// A `rate-limit` descriptor with `key: tool-name`.
    Tool,
    /// The `rateLimit` of an `mcp-authz` rule: per principal.
    Principal,
    /// A descriptor keyed on principal and tool together.
    PrincipalTool,
    /// A `rate-limit` descriptor with `key: agent` (A2A routes).
    Agent,
    /// The shared store was down and the limiter fails closed.
    StoreUnavailable,
}

impl LimitKind {
    /// What the limit counts per, as the 429 answer's `error.data.per` says it.
    pub fn key_kind(self) -> &'static str {
        match self {
            LimitKind::Tool => "tool",
            LimitKind::Principal => "principal",
            LimitKind::PrincipalTool => "principal+tool",
            LimitKind::Agent => "agent",
            LimitKind::StoreUnavailable => "store",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Tool => "tool",
            LimitKind::Principal => "principal",
            LimitKind::PrincipalTool => "principal_tool",
            LimitKind::Agent => "agent",
            LimitKind::StoreUnavailable => "store_unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tools_and_methods_collapse() {
        assert_eq!(tool_label("get_weather_data", true), "get_weather_data");
        assert_eq!(tool_label("drop_tables_please", false), "unknown");
    }

    #[test]
    fn identities_are_capped() {
        let ids = Identities::new();
        assert_eq!(ids.label(None), "anonymous");
        let names: Vec<String> = (0..MAX_IDENTITIES + 3).map(|i| format!("sa-{i}")).collect();
        for n in &names[..MAX_IDENTITIES] {
            assert_eq!(ids.label(Some(n)), n);
        }
        assert_eq!(ids.label(Some(&names[MAX_IDENTITIES])), "other");
        // A known identity keeps its label after the cap is reached.
        assert_eq!(ids.label(Some(&names[0])), "sa-0");
    }
}
