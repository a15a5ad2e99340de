//! One downstream request in flight: who is calling, in which protocol era, and how the answer travels.

use std::sync::Arc;

use http::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::core::error::{Dialect, Error};
use crate::core::http::Caller;
use crate::core::jsonrpc;
use crate::core::policy::{Call, Protocol};
use crate::mcp::protocol::status;
use crate::mcp::route::McpRoute;
use crate::mcp::server::session::SessionClaims;
use crate::mcp::upstream::{CallCtx, EventSink};

pub enum Mode {
    /// Session era, with the opened session.
    Session(std::sync::Arc<SessionClaims>),
    /// 2026-07-28: each request names its version and carries the client's capabilities in `_meta`;
    /// kept are those a session-era upstream needs declared to ask the caller questions (sampling,
    /// elicitation, roots), `None` when it has none of them.
    Stateless(Option<Value>),
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
    /// One JSON-RPC message: a result, or an upstream's own error reply (`upstream_error` is its code,
    /// for the access log).
    Json {
        status: StatusCode,
        body: Value,
        session: Option<String>,
        upstream_error: Option<i64>,
    },
    /// A streamed answer: a request in flight until its reply is sent.
    Stream(mpsc::Receiver<String>),
    /// A stream that only listens (`subscriptions/listen`): a shutdown ends it before in-flight answers.
    Listen(mpsc::Receiver<String>),
    /// A JSON-RPC reply already serialized: list pages built from the catalogue, replies relayed with the
    /// upstream's own bytes (`upstream_error` is its error code, when it answered with one).
    Raw {
        status: StatusCode,
        body: bytes::Bytes,
        upstream_error: Option<i64>,
    },
    /// The gateway refused or failed the request; `Exchange::fail` reported it already.
    Failed { id: Value, error: Error },
}

impl Exchange<'_> {
    pub fn principal(&self) -> &str {
        self.caller.principal.as_deref().unwrap_or("")
    }

    /// How this caller reads errors: 2026-07-28 callers get HTTP statuses for some of them.
    pub fn dialect(&self) -> Dialect {
        if self.is_stateless() {
            Dialect::McpStateless
        } else {
            Dialect::McpSession
        }
    }

    /// A call of `method` by this caller, for the route's pipeline.
    pub fn call<'a>(&'a self, method: &'a str) -> Call<'a> {
        Call::new(Protocol::Mcp, method, self.caller.principal.as_deref())
    }

    pub fn is_stateless(&self) -> bool {
        matches!(self.mode, Mode::Stateless(_))
    }

    /// Upstream sessions are keyed per downstream session, or per principal when there is none; never
    /// shared between two keys.
    pub fn caller_key(&self) -> String {
        match &self.mode {
            Mode::Session(c) => format!("s:{}", c.h),
            // Upstream sessions declare capabilities once: one per set a caller declares.
            Mode::Stateless(Some(caps)) => format!("p:{}\n{caps}", self.principal()),
            _ => format!("p:{}", self.principal()),
        }
    }

    pub fn call_ctx(&self, backend_name: &str, events: Option<EventSink>) -> CallCtx {
        let sealed_session = match &self.mode {
            Mode::Session(c) => c.up.iter().find(|u| u.backend == backend_name).cloned(),
            _ => None,
        };
        let (client_capabilities, log_level) = match &self.mode {
            Mode::Session(c) => (c.caps.clone(), self.route.state.log_level(&c.h)),
            Mode::Stateless(caps) => (caps.clone(), None),
            _ => (None, None),
        };
        CallCtx {
            caller_key: self.caller_key(),
            one_request: false,
            principal: self.caller.principal.clone(),
            sealed_session,
            authorization: self.caller.authorization.clone(),
            events,
            client_capabilities,
            log_level,
            upstream_id: None,
            headers: self.caller.headers.clone(),
            trace: self.caller.trace.clone(),
        }
    }

    /// A JSON-RPC reply relayed from an upstream, with the status its error code has in the caller's era.
    pub fn reply(&self, body: Value) -> Answer {
        let upstream_error = jsonrpc::error_code(&body);
        let status = status::of_relayed_error(self.is_stateless(), upstream_error);
        Answer::Json {
            status,
            body,
            session: None,
            upstream_error,
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

    /// The answer to a request the gateway refused or failed: logged and counted here, once.
    pub fn fail(&self, id: &Value, error: Error) -> Answer {
        error.report(&self.route.name, self.caller.principal.as_deref());
        Answer::Failed {
            id: id.clone(),
            error,
        }
    }

    /// `Ok` answers as they are, errors through [`Exchange::fail`].
    pub fn answer(&self, id: &Value, outcome: Result<Answer, Error>) -> Answer {
        outcome.unwrap_or_else(|error| self.fail(id, error))
    }
}
