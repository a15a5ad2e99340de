//! Agent-to-agent (A2A) relay for the routes under `/agents` (the guide's `a2a-listener`).
//!
//! - `GET {prefix}`: the agents the caller may call, with their cards (`a2a-authz` filters the list).
//! - `GET {prefix}/<agent>/.well-known/agent-card.json` (or `agent.json`): the agent's card, URLs pointing here.
//! - `POST {prefix}/<agent>`: JSON-RPC, protocol 0.3 or 1.0 (`A2A-Version`), or the guide's shorthand
//!   `{"task": "..."}`; `{prefix}/<agent>/<path>`: the 1.0 HTTP+JSON binding (`message:send`, `tasks/{id}`, …).
//!
//! Task and context ids are sealed per principal (see `ids`); no state is kept per task on any replica.

mod agents;
mod cache;
pub mod card;
mod ids;
mod relay;
mod rest;
mod rpc;
mod translate;
mod uri;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::core::error::{self, Dialect, Error, TargetKind};
use crate::core::http::Caller;
use crate::core::http::body::{self, Body};
use crate::core::http::client::HttpClient;
use crate::core::policy::{Call, Pipeline, Protocol};
use crate::core::seal::Sealer;
pub use agents::CardError;
use agents::{Agent, Family};
use ids::IdMap;
pub use relay::Timeouts;

const CARD_REFRESH: Duration = Duration::from_secs(300);
const CARD_CACHE_CONTROL: &str = "private, max-age=300";
pub const NOTICE_HEADER: &str = "x-agent-gateway-card-notice";
/// How long a call may take when the route sets no `timeout`: agents backed by LLMs are slow.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

pub struct A2aRoute {
    pub route_name: String,
    prefix: String,
    agents: Vec<Agent>,
    pipeline: Pipeline,
    sealer: Arc<Sealer>,
    timeouts: Timeouts,
}

/// One caller's request to one agent of the route.
#[derive(Clone, Copy)]
struct Exchange<'a> {
    route: &'a A2aRoute,
    agent: &'a Agent,
    /// The agent's name on the route.
    name: &'a str,
    caller: &'a Caller,
}

/// A refused request: the error, and how the caller reads errors.
struct Refusal {
    error: Error,
    dialect: Dialect,
    id: Value,
}

/// Boxed: refusals are the rare path, and a request id plus an error is large.
type Outcome = Result<Response<Body>, Box<Refusal>>;

trait Refuse<T> {
    /// The error answered in `dialect` (replying to request `id` where there is one).
    fn refuse(self, dialect: Dialect, id: &Value) -> Result<T, Box<Refusal>>;
}

impl<T> Refuse<T> for Result<T, Error> {
    fn refuse(self, dialect: Dialect, id: &Value) -> Result<T, Box<Refusal>> {
        self.map_err(|error| {
            Box::new(Refusal {
                error,
                dialect,
                id: id.clone(),
            })
        })
    }
}

impl A2aRoute {
    /// `agents`: (name, base URL, client) per backend; without a name the agent is known by its card's
    /// `name` (lowercased, non-alphanumerics as `-`), available once the card has been fetched. The client
    /// (`core::http::client`) carries the backend's TLS settings. `pipeline` is the route's policies:
    /// a2a-authz, rate limits, body limits, timeout and retry.
    pub fn new(
        route_name: String,
        path_prefix: String,
        agents: Vec<(Option<String>, String, HttpClient)>,
        pipeline: Pipeline,
        sealer: Arc<Sealer>,
    ) -> A2aRoute {
        let timeouts = Timeouts {
            request: pipeline.upstream.deadline(None, DEFAULT_TIMEOUT),
            idle: pipeline.upstream.idle.unwrap_or(DEFAULT_TIMEOUT),
        };
        A2aRoute {
            route_name,
            prefix: path_prefix.trim_end_matches('/').to_string(),
            agents: agents
                .into_iter()
                .map(|(name, url, client)| Agent::new(name, &url, client))
                .collect(),
            pipeline,
            sealer,
            timeouts,
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
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
                            route.report_shared_name(agent);
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
    pub async fn refresh_cards(&self) -> Vec<Result<(), agents::CardError>> {
        futures_util::future::join_all(self.agents.iter().map(Agent::refresh)).await
    }

    /// Whether every agent's card has been fetched (an unnamed agent is not reachable before that).
    pub fn ready(&self) -> bool {
        self.agents.iter().all(|a| a.card.load().is_some())
    }

    /// Serves one request under the route; `caller` is who the connection stage found.
    pub async fn handle(&self, request: Request<Incoming>, caller: &Caller) -> Response<Body> {
        match self.serve(request, caller).await {
            Ok(response) => response,
            Err(refusal) => {
                let Refusal { error, dialect, id } = *refusal;
                error.report(&self.route_name, caller.principal.as_deref());
                error::response(&error, &id, dialect)
            }
        }
    }

    async fn serve(&self, request: Request<Incoming>, caller: &Caller) -> Outcome {
        let principal = caller.principal.as_deref();
        let path = request.uri().path().to_string();
        let rest = path
            .strip_prefix(&self.prefix)
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .map(|r| r.trim_start_matches('/'))
            .unwrap_or("");
        if rest.is_empty() {
            return match *request.method() {
                Method::GET => Ok(self.list(&request, principal).await),
                _ => Err(Error::MethodNotAllowed {
                    allow: "GET",
                    reason: "use GET to list agents".into(),
                })
                .refuse(Dialect::A2aRest, &Value::Null),
            };
        }
        let (name, sub) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let dialect = |is_rpc: bool| match is_rpc {
            true => Dialect::A2aRpc {
                v1: Family::parse(header_version(request.headers())) == Some(Family::V10),
            },
            false => Dialect::A2aRest,
        };
        // Before the agent is known, a POST to its root is taken for JSON-RPC, and answered so.
        let looks_rpc = *request.method() == Method::POST && sub.trim_end_matches('/').is_empty();
        // a2a-authz first: a name the caller may not use costs no card fetch, whether it exists or not.
        if !self.allowed(principal, name) {
            return Err(Error::Denied {
                kind: TargetKind::Agent,
                name: name.to_string(),
            })
            .refuse(dialect(looks_rpc), &Value::Null);
        }
        let Some(agent) = self.find(name).await else {
            return Err(Error::Unknown {
                kind: TargetKind::Agent,
                name: name.to_string(),
            })
            .refuse(dialect(looks_rpc), &Value::Null);
        };
        let name = name.to_string();
        let is_rpc = *request.method() == Method::POST && self.is_rpc_path(agent, sub);
        let dialect = dialect(is_rpc);
        let ids = IdMap::new(self.sealer.clone(), principal, &name);
        if *request.method() == Method::GET
            && (sub.is_empty() || sub == "/" || agents::CARD_PATHS.contains(&sub))
        {
            return self.card(agent, &name, &request).await;
        }
        let ex = Exchange {
            route: self,
            agent,
            name: &name,
            caller,
        };
        if is_rpc {
            return rpc::handle(ex, request, ids, dialect).await;
        }
        rest::handle(ex, sub, request, ids).await
    }

    /// The call stage for one call to `agent`: a2a-authz and rate limits.
    async fn check(&self, caller: &Caller, method: &str, agent: &str) -> Result<(), Error> {
        let call = Call::new(Protocol::A2a, method, caller.principal.as_deref())
            .target(TargetKind::Agent, agent);
        self.pipeline.check(&call).await
    }

    fn allowed(&self, principal: Option<&str>, agent: &str) -> bool {
        self.pipeline
            .agents
            .as_ref()
            .is_none_or(|a| a.allows(principal, agent))
    }

    /// The agent a path segment names. When no agent has that name yet and some is still known only by
    /// address, its card is fetched first (at most once per agent every 10 s, however many requests ask),
    /// so the first request after start does not get a spurious 404. A name two agents claim is
    /// nobody's: calls would go silently to one of them, and an agent could take the name a2a-authz grants.
    async fn find(&self, name: &str) -> Option<&Agent> {
        let claims = |a: &&Agent| a.name().as_deref() == Some(name);
        if !self.agents.iter().any(|a| claims(&a)) {
            let unnamed = self.agents.iter().filter(|a| a.name().is_none());
            futures_util::future::join_all(unnamed.map(Agent::refresh_on_demand)).await;
        }
        let mut named = self.agents.iter().filter(claims);
        let agent = named.next()?;
        named.next().is_none().then_some(agent)
    }

    /// Whether more than one agent claims `name`.
    fn is_shared(&self, name: &str) -> bool {
        self.agents
            .iter()
            .filter(|a| a.name().as_deref() == Some(name))
            .nth(1)
            .is_some()
    }

    /// Logs, when `agent`'s card has just been read, that its name is also another agent's.
    fn report_shared_name(&self, agent: &Agent) {
        if let Some(name) = agent.name().filter(|n| self.is_shared(n)) {
            let bases: Vec<&str> = self
                .agents
                .iter()
                .filter(|a| a.name().as_deref() == Some(name.as_str()))
                .map(|a| a.base.as_str())
                .collect();
            tracing::error!(route = %self.route_name, agent = %name, ?bases, "a2a: several agents claim this name; all of them are withheld until the names differ (set agentName on the backends)");
        }
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
    ) -> Result<Family, Error> {
        let requested = header_version(headers);
        let unsupported = || Error::UnsupportedVersion {
            requested: if requested.is_empty() {
                "0.3"
            } else {
                requested
            }
            .to_string(),
            supported: vec!["0.3", "1.0"],
        };
        let family = Family::parse(requested).ok_or_else(unsupported)?;
        match info {
            Some(info) if !info.families.contains(&family) => Err(unsupported()),
            _ => Ok(family),
        }
    }

    async fn card(&self, agent: &Agent, name: &str, request: &Request<Incoming>) -> Outcome {
        let Some(info) = self.card_info(agent).await else {
            return Err(Error::Upstream {
                backend: name.to_string(),
                source: crate::core::error::UpstreamError::Protocol(
                    "the agent's card could not be fetched".into(),
                ),
            })
            .refuse(Dialect::A2aRest, &Value::Null);
        };
        let public = card::public_base(request.headers(), &self.prefix, name);
        let (card, notes) = card::rewrite(&info.raw, &info.families, agent.base_path(), &public);
        let bytes = serde_json::to_vec(&card).expect("JSON serializes");
        let etag = cache::etag(&bytes);
        let mut response = if cache::not_modified(request.headers(), &etag, info.changed) {
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
        let modified = cache::http_date(info.changed);
        headers.insert(
            header::LAST_MODIFIED,
            HeaderValue::from_str(&modified).expect("an HTTP date"),
        );
        if !notes.0.is_empty() {
            tracing::info!(agent = %name, notes = ?notes.0, "a2a: agent card served with changes");
            if let Ok(v) = HeaderValue::from_str(&notes.0.join("; ")) {
                headers.insert(NOTICE_HEADER, v);
            }
        }
        Ok(response)
    }

    async fn list(&self, request: &Request<Incoming>, principal: Option<&str>) -> Response<Body> {
        let out = self.agents_for(request.headers(), principal).await;
        let mut response = body::json(StatusCode::OK, &json!({"agents": out}));
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        response
    }

    /// The agents `principal` may call, each with its public URL and its card as the gateway serves it
    /// (`GET /agents`, and the gateway's AI catalogue).
    pub async fn agents_for(
        &self,
        headers: &http::HeaderMap,
        principal: Option<&str>,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for agent in &self.agents {
            let Some(info) = self.card_info(agent).await else {
                if let Some(name) = agent
                    .name()
                    .filter(|n| self.allowed(principal, n) && !self.is_shared(n))
                {
                    let url = card::public_base(headers, &self.prefix, &name);
                    out.push(json!({"name": name, "url": url, "card": null}));
                }
                continue;
            };
            let name = agent.name().unwrap_or_else(|| info.slug.clone());
            if !self.allowed(principal, &name) || self.is_shared(&name) {
                continue;
            }
            let url = card::public_base(headers, &self.prefix, &name);
            let (card, _) = card::rewrite(&info.raw, &info.families, agent.base_path(), &url);
            out.push(json!({"name": name, "url": url, "card": card}));
        }
        out
    }
}

/// The `A2A-Version` a request asks for; empty means 0.3.
fn header_version(headers: &http::HeaderMap) -> &str {
    headers
        .get("a2a-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}
