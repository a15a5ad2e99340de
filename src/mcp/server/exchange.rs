//! One downstream request in flight: who is calling, in which protocol era, and how the answer travels.

use std::sync::Arc;

use http::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::core::http::Caller;
use crate::core::jsonrpc;
use crate::core::policy::authz::Kind;
use crate::mcp::route::McpRoute;
use crate::mcp::server::session::SessionClaims;
use crate::mcp::upstream::{CallCtx, EventSink};

pub enum Mode {
    /// Session era, with the opened session.
    Session(std::sync::Arc<SessionClaims>),
    /// 2026-07-28: each request names its version and carries the client's capabilities in `_meta`.
    Stateless,
    /// No session and no `_meta`: a plain POST such as the guide's curl example, served without a session.
    Sessionless,
}

pub struct Exchange<'a> {
    pub route: &'a Arc<McpRoute>,
    pub caller: &'a Caller,
    pub mode: Mode,
    /// The client accepts `text/event-stream`, so progress and server requests can reach it.
    pub accepts_sse: bool,
}

/// How a request is answered.
pub enum Answer {
    Json {
        status: StatusCode,
        body: Value,
        session: Option<String>,
    },
    Stream(mpsc::Receiver<String>),
    /// A JSON-RPC reply already serialized (large results built without an intermediate `Value`).
    Raw {
        status: StatusCode,
        body: bytes::Bytes,
    },
    /// A rate limit refused the call: HTTP 429 with `Retry-After` (seconds).
    Limited {
        body: Value,
        retry_after: u64,
    },
}

impl Exchange<'_> {
    pub fn principal(&self) -> &str {
        self.caller.principal.as_deref().unwrap_or("")
    }

    /// Whether `mcp-authz` lets the caller use `name`; a route without the policy allows everything.
    /// A denial is logged here, once, with the principal and target.
    pub fn authorized(&self, kind: Kind, name: &str) -> bool {
        let Some(authz) = &self.route.policy.authz else {
            return true;
        };
        let allowed = authz.allows(self.principal(), kind, name);
        if !allowed {
            // Tool denials are counted with the call's other rejections.
            if !matches!(kind, Kind::Tool) {
                crate::core::telemetry::metrics::authz_denied(
                    &self.route.name,
                    crate::core::telemetry::metrics::DenialKind::Tool,
                );
            }
            tracing::info!(route = %self.route.name, principal = self.principal(), kind = ?kind, name, "authz: denied");
        }
        allowed
    }

    pub fn is_stateless(&self) -> bool {
        matches!(self.mode, Mode::Stateless)
    }

    /// Upstream sessions are keyed per downstream session, or per principal when there is none; never
    /// shared between two keys.
    pub fn caller_key(&self) -> String {
        match &self.mode {
            Mode::Session(c) => format!("s:{}", c.h),
            _ => format!("p:{}", self.principal()),
        }
    }

    pub fn call_ctx(&self, backend_name: &str, events: Option<EventSink>) -> CallCtx {
        let sealed_session = match &self.mode {
            Mode::Session(c) => c.up.iter().find(|u| u.backend == backend_name).cloned(),
            _ => None,
        };
        let (client_capabilities, log_level) = match &self.mode {
            Mode::Session(c) => (
                c.caps.clone(),
                self.route.log_levels.lock().unwrap().get(&c.h).cloned(),
            ),
            _ => (None, None),
        };
        CallCtx {
            caller_key: self.caller_key(),
            principal: self.caller.principal.clone(),
            sealed_session,
            authorization: self.caller.authorization.clone(),
            events,
            client_capabilities,
            log_level,
            upstream_id: None,
            headers: self.caller.headers.clone(),
        }
    }

    /// A JSON-RPC reply with the HTTP status its era gives it: the stateless revision maps some errors to
    /// HTTP statuses, the session era answers every JSON-RPC error with 200.
    pub fn reply(&self, body: Value) -> Answer {
        let status = match (self.is_stateless(), jsonrpc::error_code(&body)) {
            (true, Some(jsonrpc::METHOD_NOT_FOUND)) => StatusCode::NOT_FOUND,
            (true, Some(jsonrpc::HEADER_MISMATCH | jsonrpc::UNSUPPORTED_PROTOCOL_VERSION)) => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::OK,
        };
        Answer::Json {
            status,
            body,
            session: None,
        }
    }

    pub fn result(&self, id: &Value, mut result: Value) -> Answer {
        if self.is_stateless()
            && let Some(obj) = result.as_object_mut()
        {
            obj.entry("resultType")
                .or_insert_with(|| Value::String("complete".into()));
        }
        self.reply(jsonrpc::result(id, result))
    }

    pub fn error(&self, id: &Value, code: i64, message: impl Into<String>) -> Answer {
        self.reply(jsonrpc::error(id, code, message))
    }
}
