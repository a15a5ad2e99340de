//! Agent-to-agent (A2A) relay for the routes under `/agents` (the guide's `a2a-listener`).
//!
//! - `GET {prefix}`: the agents the caller may call, with their cards (`a2a-authz` filters the list).
//! - `GET {prefix}/<agent>/.well-known/agent-card.json` (or `agent.json`): the agent's card, URLs pointing here.
//! - `POST {prefix}/<agent>`: JSON-RPC, protocol 0.3 or 1.0 (`A2A-Version`), or the guide's shorthand
//!   `{"task": "..."}`; `{prefix}/<agent>/<path>`: the 1.0 HTTP+JSON binding (`message:send`, `tasks/{id}`, …).
//!
//! Task and context ids are sealed per principal (see `ids`); no state is kept per task on any replica.

mod agents;
pub mod card;
mod errors;
mod ids;
mod relay;
mod rest;
mod rpc;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::A2aAuthz;
use crate::core::http::body::{self, Body};
use crate::core::http::client::HttpClient;
use crate::core::policy::agents::AgentAuthz;
use crate::core::seal::Sealer;
use agents::{Agent, Family};
use ids::IdMap;
pub use relay::Timeouts;

/// Largest request body accepted from a client.
const MAX_REQUEST: usize = 4 * 1024 * 1024;
const CARD_REFRESH: Duration = Duration::from_secs(300);
const CARD_CACHE_CONTROL: &str = "private, max-age=300";
pub const NOTICE_HEADER: &str = "x-agent-gateway-card-notice";

pub struct A2aRoute {
    pub route_name: String,
    prefix: String,
    agents: Vec<Agent>,
    authz: Option<AgentAuthz>,
    sealer: Arc<Sealer>,
    timeouts: Timeouts,
}

impl A2aRoute {
    /// `agents`: (name, base URL, client) per backend; without a name the agent is known by its card's
    /// `name` (lowercased, non-alphanumerics as `-`), available once the card has been fetched. The client
    /// (`core::http::client`) carries the backend's TLS settings.
    pub fn new(
        route_name: String,
        path_prefix: String,
        agents: Vec<(Option<String>, String, HttpClient)>,
        authz: Option<A2aAuthz>,
        sealer: Arc<Sealer>,
    ) -> A2aRoute {
        A2aRoute {
            route_name,
            prefix: path_prefix.trim_end_matches('/').to_string(),
            agents: agents
                .into_iter()
                .map(|(name, url, client)| Agent::new(name, &url, client))
                .collect(),
            authz: authz.as_ref().map(AgentAuthz::new),
            sealer,
            timeouts: Timeouts {
                request: Duration::from_secs(300),
                idle: Duration::from_secs(300),
            },
        }
    }

    /// `request`: until an agent's answer starts (a JSON answer: until it ends); `idle`: longest silence on
    /// a relayed event stream. Both default to 300 s, since agents backed by LLMs are slow.
    pub fn with_timeouts(mut self, request: Duration, idle: Duration) -> A2aRoute {
        self.timeouts = Timeouts { request, idle };
        self
    }

    /// Card discovery: every agent's card now, then every 5 minutes (failures retried sooner, with backoff).
    pub fn start(self: &Arc<Self>, stop: CancellationToken) {
        for index in 0..self.agents.len() {
            let route = self.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut failures = 0u32;
                loop {
                    let agent = &route.agents[index];
                    let wait = match agent.refresh().await {
                        Ok(()) => {
                            failures = 0;
                            CARD_REFRESH
                        }
                        Err(e) => {
                            failures += 1;
                            tracing::warn!(route = %route.route_name, agent = %agent.base, error = %e, "a2a: could not fetch the agent's card");
                            Duration::from_secs(1u64 << failures.min(6))
                        }
                    };
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            });
        }
    }

    /// Fetches every agent's card once (tests and readiness checks).
    pub async fn refresh_cards(&self) -> Vec<Result<(), String>> {
        futures_util::future::join_all(self.agents.iter().map(Agent::refresh)).await
    }

    /// Whether every agent's card has been fetched (an unnamed agent is not reachable before that).
    pub fn ready(&self) -> bool {
        self.agents.iter().all(|a| a.card.load().is_some())
    }

    pub async fn handle(
        &self,
        request: Request<Incoming>,
        principal: Option<&str>,
    ) -> Response<Body> {
        let path = request.uri().path().to_string();
        let Some(rest) = path
            .strip_prefix(&self.prefix)
            .filter(|r| r.is_empty() || r.starts_with('/'))
        else {
            return errors::rest(StatusCode::NOT_FOUND, "NOT_FOUND", "not an A2A path");
        };
        let rest = rest.trim_start_matches('/');
        if rest.is_empty() {
            return match *request.method() {
                Method::GET => self.list(&request, principal).await,
                _ => errors::rest(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "METHOD_NOT_ALLOWED",
                    "use GET to list agents",
                ),
            };
        }
        let (name, sub) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let Some(agent) = self.find(name).await else {
            return errors::rest(
                StatusCode::NOT_FOUND,
                "AGENT_NOT_FOUND",
                &format!("no agent named '{name}' on this route"),
            );
        };
        let name = name.to_string();
        let is_rpc = *request.method() == Method::POST && self.is_rpc_path(agent, sub);
        if !self.allowed(principal, &name) {
            tracing::warn!(route = %self.route_name, source = principal.unwrap_or("<anonymous>"), target = %name, "a2a-authz: call denied");
            let message = format!("principal may not call agent '{name}'");
            return if is_rpc {
                errors::rpc(
                    StatusCode::FORBIDDEN,
                    &Value::Null,
                    errors::FORBIDDEN,
                    &message,
                )
            } else {
                errors::rest(StatusCode::FORBIDDEN, "PERMISSION_DENIED", &message)
            };
        }
        let ids = IdMap::new(self.sealer.clone(), principal, &name);
        if *request.method() == Method::GET
            && (sub.is_empty() || sub == "/" || agents::CARD_PATHS.contains(&sub))
        {
            return self.card(agent, &name, &request).await;
        }
        if is_rpc {
            return rpc::handle(self, agent, &name, request, ids).await;
        }
        rest::handle(self, agent, &name, sub, request, ids).await
    }

    fn allowed(&self, principal: Option<&str>, agent: &str) -> bool {
        self.authz
            .as_ref()
            .is_none_or(|a| a.allows(principal, agent))
    }

    /// The agent a path segment names. When some agent is still known only by address, its card is fetched
    /// first, so the first request after start does not get a spurious 404.
    async fn find(&self, name: &str) -> Option<&Agent> {
        if let Some(agent) = self
            .agents
            .iter()
            .find(|a| a.name().as_deref() == Some(name))
        {
            return Some(agent);
        }
        let unnamed = self.agents.iter().filter(|a| a.name().is_none());
        futures_util::future::join_all(unnamed.map(Agent::refresh)).await;
        self.agents
            .iter()
            .find(|a| a.name().as_deref() == Some(name))
    }

    /// JSON-RPC goes to the agent's root (the guide's URL) or to the JSON-RPC path its card names.
    fn is_rpc_path(&self, agent: &Agent, sub: &str) -> bool {
        let sub = sub.trim_end_matches('/');
        sub.is_empty()
            || agent
                .card
                .load()
                .as_ref()
                .is_some_and(|c| !c.rpc_path.is_empty() && c.rpc_path == sub)
    }

    /// Fetches the card when it is missing (start-up race, agent down at start).
    async fn card_info(&self, agent: &Agent) -> Option<Arc<agents::CardInfo>> {
        if agent.card.load().is_none()
            && let Err(e) = agent.refresh().await
        {
            tracing::warn!(route = %self.route_name, agent = %agent.base, error = %e, "a2a: could not fetch the agent's card");
        }
        agent.card.load_full()
    }

    /// The protocol family a request asks for (`A2A-Version`), checked against what the agent's card says.
    fn family(
        &self,
        info: Option<&agents::CardInfo>,
        headers: &http::HeaderMap,
    ) -> Result<Family, String> {
        let requested = headers
            .get("a2a-version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let family = Family::parse(requested).ok_or_else(|| {
            format!("A2A version '{requested}' is not supported (supported: 0.3, 1.0)")
        })?;
        match info {
            Some(info) if !info.families.contains(&family) => Err(format!(
                "A2A version '{}' is not supported by this agent",
                if requested.is_empty() {
                    "0.3"
                } else {
                    requested
                }
            )),
            _ => Ok(family),
        }
    }

    async fn card(&self, agent: &Agent, name: &str, request: &Request<Incoming>) -> Response<Body> {
        let Some(info) = self.card_info(agent).await else {
            return errors::rest(
                StatusCode::BAD_GATEWAY,
                "AGENT_UNAVAILABLE",
                "the agent's card could not be fetched",
            );
        };
        let public = card::public_base(request.headers(), &self.prefix, name);
        let (card, notes) = card::rewrite(&info.raw, agent.base_path(), &public);
        let bytes = serde_json::to_vec(&card).expect("JSON serializes");
        let etag = card::etag(&bytes);
        let mut response = if card::not_modified(request.headers(), &etag) {
            body::empty(StatusCode::NOT_MODIFIED)
        } else {
            let mut r = Response::new(body::full(Bytes::from(bytes)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CARD_CACHE_CONTROL),
        );
        // The card names the address the client used, and access depends on who asks.
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Host, X-Forwarded-Host, X-Forwarded-Proto, Authorization"),
        );
        headers.insert(
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex etag"),
        );
        if !notes.0.is_empty() {
            tracing::info!(agent = %name, notes = ?notes.0, "a2a: agent card served with changes");
            if let Ok(v) = HeaderValue::from_str(&notes.0.join("; ")) {
                headers.insert(NOTICE_HEADER, v);
            }
        }
        response
    }

    async fn list(&self, request: &Request<Incoming>, principal: Option<&str>) -> Response<Body> {
        let mut out = Vec::new();
        for agent in &self.agents {
            let Some(info) = self.card_info(agent).await else {
                if let Some(name) = agent.name().filter(|n| self.allowed(principal, n)) {
                    let url = card::public_base(request.headers(), &self.prefix, &name);
                    out.push(json!({"name": name, "url": url, "card": null}));
                }
                continue;
            };
            let name = agent.name().unwrap_or_else(|| info.slug.clone());
            if !self.allowed(principal, &name) {
                continue;
            }
            let url = card::public_base(request.headers(), &self.prefix, &name);
            let (card, _) = card::rewrite(&info.raw, agent.base_path(), &url);
            out.push(json!({"name": name, "url": url, "card": card}));
        }
        let mut response = body::json(StatusCode::OK, &json!({"agents": out}));
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        response
    }
}

/// A client's request body, bounded.
async fn read_body(request: Request<Incoming>) -> Result<(http::request::Parts, Bytes), ()> {
    let (parts, body) = request.into_parts();
    let bytes = Limited::new(body, MAX_REQUEST)
        .collect()
        .await
        .map_err(|_| ())?
        .to_bytes();
    Ok((parts, bytes))
}
