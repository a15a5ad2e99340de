//! A route's policies as one pipeline, the same for MCP and A2A routes, built by [`Pipeline::build`] from
//! the route's config. The stages run in this order, each for a reason:
//!
//! Connection stage, once per HTTP request ([`Pipeline::admit`], then [`BodyLimits`]):
//! 1. Host/Origin (`security.allowedOrigins`): first and cheapest; a rebinding browser learns nothing.
//! 2. `jwt-authn`, or the mTLS certificate: who is calling; every later stage needs the principal.
//! 3. `limits` (body size, JSON depth): before anything parses the body.
//!
//! Call stage, once per call, on a protocol-neutral [`Call`] ([`Pipeline::check`]):
//! 4. `mcp-authz` / `a2a-authz`: first, so a caller who may not use a target costs nothing more and
//!    learns nothing (MCP answers it as an unknown target).
//! 5. `rate-limit` (and mcp-authz rules' `rateLimit`): before validation, so a flood of calls, valid or
//!    not, is cut at the cheapest point after authorization.
//! 6. input schema: the tool's `inputSchema` (MCP tools only).
//!
//! Upstream stage, around the call to the upstream ([`UpstreamPolicy::run`]):
//! 7. `timeout`: the deadline every attempt lives in.
//! 8. `retry`: attempts within it, with backoff and a budget.
//!
//! Result stage ([`Pipeline::check_result`]):
//! 9. output schema (`mcp.outputSchema`): `structuredContent` against the tool's `outputSchema`.
//!
//! A new call-stage policy is one file implementing [`Stage`] plus one line in `build`. A policy that
//! cannot apply to a route's kind is refused or reported by the config loader with its file and line
//! (`config/route.rs`), so nothing accepted here is silently inert.

pub mod agents;
pub mod authn;
pub mod authz;
pub mod body;
pub mod call;
pub mod glob;
pub mod rate_limit;
pub mod retry;
pub mod schema;
pub mod stage;
pub mod upstream;

use std::sync::Arc;

use http::HeaderMap;
use serde_json::Value;

pub use body::BodyLimits;
pub use call::{Call, Protocol};
pub use stage::{Check, Stage};
pub use upstream::UpstreamPolicy;

use crate::config::{self, PolicyKind};
use crate::core::error::Error;
use crate::core::http::Caller;
use crate::core::http::origin::OriginPolicy;
use crate::core::identity::Authenticator;
use crate::core::ratelimit::Limiter;

/// What every route's pipeline shares, besides its own config.
pub struct Env<'a> {
    /// The gateway's one limiter (local, or Redis shared by the replicas).
    pub limiter: Arc<Limiter>,
    pub security: &'a config::Security,
    pub limits: &'a config::Limits,
    /// The route's listener is on a loopback address (a stricter Host check applies).
    pub loopback_bind: bool,
}

pub struct Pipeline {
    pub route: String,
    pub path_prefix: String,
    pub protocol: Protocol,
    origin: OriginPolicy,
    pub authn: Option<authn::Authn>,
    pub body: BodyLimits,
    /// The call and result stages, in order.
    stages: Vec<Box<dyn Stage>>,
    /// `mcp-authz`, also used to filter lists per principal.
    pub authz: Option<Arc<authz::Authz>>,
    /// `a2a-authz`, also used to filter the list of agents per principal.
    pub agents: Option<Arc<agents::AgentAuthz>>,
    pub upstream: UpstreamPolicy,
}

impl<T: Stage + ?Sized> Stage for Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn check<'a>(&'a self, call: &'a Call<'a>) -> Check<'a> {
        (**self).check(call)
    }
    fn check_result(&self, call: &Call<'_>, result: &Value) -> Result<(), Error> {
        (**self).check_result(call, result)
    }
}

impl Pipeline {
    /// The pipeline of one route, from its config.
    pub fn build(route: &config::Route, protocol: Protocol, env: &Env) -> Result<Pipeline, String> {
        let mut authn = None;
        let (mut tool_authz, mut agent_authz, mut rate_limit, mut timeout, mut retry) =
            (None, None, None, None, None);
        for p in &route.policies {
            match &p.kind {
                PolicyKind::JwtAuthn(jwt) => {
                    let authenticator = Authenticator::new(jwt)
                        .map_err(|e| format!("route {}: jwt-authn: {e}", route.name))?;
                    authn = Some(authn::Authn::new(authenticator, jwt.issuer.clone()));
                }
                PolicyKind::McpAuthz(rules) => {
                    tool_authz = Some(Arc::new(authz::Authz::new(rules)))
                }
                PolicyKind::A2aAuthz(rules) => {
                    agent_authz = Some(Arc::new(agents::AgentAuthz::new(rules)))
                }
                PolicyKind::RateLimit(r) => rate_limit = Some(r),
                PolicyKind::Timeout(t) => timeout = Some(t),
                PolicyKind::Retry(r) => retry = Some(r),
            }
        }

        let mut stages: Vec<Box<dyn Stage>> = Vec::new();
        match protocol {
            Protocol::Mcp => stages.extend(tool_authz.clone().map(|a| Box::new(a) as _)),
            Protocol::A2a => stages.extend(agent_authz.clone().map(|a| Box::new(a) as _)),
        }
        let limits = rate_limit::RateLimit::new(
            &route.name,
            rate_limit,
            tool_authz.clone(),
            env.limiter.clone(),
        );
        if !limits.is_empty() {
            stages.push(Box::new(limits));
        }
        if protocol == Protocol::Mcp {
            stages.push(Box::new(schema::InputSchema));
            stages.push(Box::new(schema::OutputSchema {
                enforce: route.mcp.output_schema == config::OutputSchemaMode::Enforce,
                route: route.name.clone(),
            }));
        }
        Ok(Pipeline {
            route: route.name.clone(),
            path_prefix: route.path_prefix.clone(),
            protocol,
            origin: OriginPolicy {
                loopback_bind: env.loopback_bind,
                allowed: env.security.allowed_origins.clone(),
                allowed_hosts: env.security.allowed_hosts.clone(),
            },
            authn,
            body: BodyLimits::from(env.limits),
            stages,
            authz: tool_authz.filter(|_| protocol == Protocol::Mcp),
            agents: agent_authz.filter(|_| protocol == Protocol::A2a),
            upstream: UpstreamPolicy::new(&route.name, timeout, retry),
        })
    }

    /// The connection stage: the Host/Origin check, then who is calling.
    pub async fn admit(
        &self,
        headers: &HeaderMap,
        certificate_principal: Option<String>,
    ) -> Result<Caller, Error> {
        self.origin.check(headers).map_err(Error::Origin)?;
        authn::caller(
            self.authn.as_ref(),
            headers,
            &self.path_prefix,
            certificate_principal,
        )
        .await
    }

    /// The Host/Origin check alone (for what a route serves without authentication).
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Error> {
        self.origin.check(headers).map_err(Error::Origin)
    }

    /// The call stage: every stage in order; the first refusal answers the call (reported where the
    /// answer is made, `Error::report`).
    pub async fn check(&self, call: &Call<'_>) -> Result<(), Error> {
        for stage in &self.stages {
            match stage.check(call) {
                Check::Pass => {}
                Check::Refuse(e) => return Err(e),
                Check::Later(f) => f.await?,
            }
        }
        Ok(())
    }

    /// The result stage, on an upstream's `result`.
    pub fn check_result(&self, call: &Call<'_>, result: &Value) -> Result<(), Error> {
        self.stages
            .iter()
            .try_for_each(|stage| stage.check_result(call, result))
    }

    /// The names of the call stages in order, for tests and `docs/architecture.md`.
    pub fn stage_names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|s| s.name()).collect()
    }
}

#[cfg(test)]
mod tests;
