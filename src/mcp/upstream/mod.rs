//! Clients for the servers behind a route. Each kind speaks MCP its own way; all present one surface:
//! send a request and get the JSON-RPC reply, with server-initiated messages handed to an event sink.

pub mod http;
mod one_request;
pub mod reply;
mod session_cache;
pub mod sse_client;
pub mod stdio;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

pub use crate::core::error::UpstreamError;
pub use reply::Reply;
pub use session_cache::SessionCache;

/// A message an upstream sends while serving a call: progress and log notifications, or a request
/// (sampling, elicitation, roots) that only the original caller can answer.
#[derive(Debug)]
pub enum UpstreamEvent {
    Notification(Value),
    Request {
        message: Value,
        reply: oneshot::Sender<Value>,
    },
}

pub type EventSink = mpsc::Sender<UpstreamEvent>;

/// What an upstream needs to know about the caller of one request.
#[derive(Default, Clone)]
pub struct CallCtx {
    /// Which upstream session serves this caller: a downstream session's handle, or the principal for a
    /// sessionless caller. Sessions are never shared between different keys.
    pub caller_key: String,
    /// The caller is anonymous and has no session: it gets upstream state of its own (a session, a child
    /// process, a stream) for this one request, ended with it ([`Upstream::close_session`]).
    pub one_request: bool,
    /// The authenticated principal, when the route authenticates callers.
    pub principal: Option<String>,
    /// An upstream session id carried in the caller's sealed session, usable on any replica.
    pub sealed_session: Option<UpstreamSessionClaim>,
    /// The caller's `Authorization` header, forwarded only where the backend asks for it.
    pub authorization: Option<String>,
    pub events: Option<EventSink>,
    /// What the caller can answer (sampling, elicitation, roots), told to stateless upstreams.
    pub client_capabilities: Option<Value>,
    /// The caller's `logging/setLevel`, told to stateless upstreams (they log only when asked).
    pub log_level: Option<String>,
    /// Headers the gateway injects from the caller's verified claims (`claimToHeaders`).
    pub headers: Vec<(::http::HeaderName, ::http::HeaderValue)>,
    /// Filled with the id the upstream request went out under, so a cancellation can name it.
    pub upstream_id: Option<Arc<std::sync::OnceLock<Value>>>,
    /// The caller's request trace: each attempt's span is its child.
    pub trace: Option<crate::core::telemetry::tracing::Trace>,
}

impl CallCtx {
    /// What a caller contributes to a request toward an upstream: the headers injected from its verified
    /// claims, and its own `Authorization` only where the backend asks for it (`forwardAuthorization`).
    pub fn add_caller_headers(&self, headers: &mut ::http::HeaderMap, forward_authorization: bool) {
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        if forward_authorization
            && let Some(auth) = self
                .authorization
                .as_deref()
                .and_then(|a| ::http::HeaderValue::from_str(a).ok())
        {
            headers.insert(::http::header::AUTHORIZATION, auth);
        }
    }
}

/// An upstream session as a sealed downstream session carries it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UpstreamSessionClaim {
    /// Backend name.
    #[serde(rename = "b")]
    pub backend: String,
    /// `Mcp-Session-Id` the upstream issued.
    #[serde(rename = "s")]
    pub session_id: String,
    /// Protocol version negotiated with the upstream.
    #[serde(rename = "v")]
    pub version: String,
}

/// An MCP server that runs inside the gateway's process and is answered without a transport (the built-in
/// sample upstream of `type: sample`, in `crate::sample`).
pub trait Local: Send + Sync {
    /// Answers one request with a whole JSON-RPC reply (`result` or `error`).
    fn request(&self, ctx: &CallCtx, method: &str, params: Value) -> Value;
}

/// One backend of an MCP route.
pub enum Upstream {
    Http(Box<http::HttpUpstream>),
    Sse(Box<sse_client::SseUpstream>),
    Stdio(stdio::StdioUpstream),
    Local {
        name: String,
        server: Box<dyn Local>,
    },
}

impl Upstream {
    /// Whether a caller's requests run in an upstream session of the gateway's making (an HTTP upstream
    /// of the session era, or not known yet), whose key decides who shares it.
    /// Whether the upstream keeps state per caller (a session, a child process, a stream), so a
    /// one-request caller needs its own.
    pub fn keeps_caller_state(&self) -> bool {
        match self {
            Upstream::Http(u) => !u.known_stateless(),
            Upstream::Sse(_) | Upstream::Stdio(_) => true,
            Upstream::Local { .. } => false,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Upstream::Http(u) => &u.name,
            Upstream::Sse(u) => &u.name,
            Upstream::Stdio(u) => &u.name,
            Upstream::Local { name, .. } => name,
        }
    }

    /// Sends one request and returns the whole JSON-RPC reply (`result` or `error`).
    pub async fn request(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<Value, UpstreamError> {
        match self {
            Upstream::Http(u) => u.request(ctx, method, params).await,
            Upstream::Sse(u) => u.request(ctx, method, params).await,
            Upstream::Stdio(u) => u.request(ctx, method, params).await,
            Upstream::Local { server, .. } => Ok(server.request(ctx, method, params)),
        }
    }

    /// Sends one request and returns the reply as the upstream sent it, for relaying to a caller: an HTTP
    /// upstream's bytes are kept, not parsed into a tree and serialized again.
    pub async fn relay(
        &self,
        ctx: &CallCtx,
        method: &str,
        params: Value,
    ) -> Result<Reply, UpstreamError> {
        match self {
            Upstream::Http(u) => u.relay(ctx, method, params).await,
            other => other
                .request(ctx, method, params)
                .await
                .map(|reply| Reply::from_value(&reply)),
        }
    }

    /// Sends a notification (e.g. `notifications/cancelled`) on the caller's upstream session.
    pub async fn notify(&self, ctx: &CallCtx, method: &str, params: Value) {
        let result = match self {
            Upstream::Http(u) => u.notify(ctx, method, params).await,
            Upstream::Sse(u) => u.notify(ctx, method, params).await,
            Upstream::Stdio(u) => u.notify(ctx, method, params).await,
            Upstream::Local { .. } => Ok(()),
        };
        if let Err(e) = result {
            tracing::debug!(upstream = self.name(), method, error = %e, "notification not delivered");
        }
    }

    /// Opens a session for a new downstream session that lasts `lifetime`, so its id can be sealed into
    /// the downstream one; it is closed when that lifetime is over. `capabilities` are the caller's own,
    /// declared to the upstream.
    pub async fn open_session(
        &self,
        caller_key: &str,
        lifetime: Duration,
        capabilities: Option<Value>,
    ) -> Option<UpstreamSessionClaim> {
        match self {
            Upstream::Http(u) => u.open_session(caller_key, lifetime, capabilities).await,
            _ => None,
        }
    }

    /// Ends the upstream sessions of a downstream session that the client closed, or what a one-request
    /// caller held.
    pub async fn close_session(&self, ctx: &CallCtx) {
        match self {
            Upstream::Http(u) => u.close_session(ctx).await,
            Upstream::Sse(u) if ctx.one_request => u.end_one_request(ctx),
            Upstream::Stdio(u) if ctx.one_request => u.end_one_request(ctx),
            _ => {}
        }
    }
}

impl Upstream {
    /// Signalled when the upstream says its lists changed (it is re-listed then, not only on the timer).
    pub fn changed(&self) -> Option<Arc<tokio::sync::Notify>> {
        match self {
            Upstream::Http(u) => Some(u.changed.clone()),
            Upstream::Sse(u) => Some(u.changed.clone()),
            Upstream::Stdio(u) => Some(u.changed.clone()),
            Upstream::Local { .. } => None,
        }
    }
}
