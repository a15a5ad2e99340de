//! Policies of a route at run time: who may do what (`mcp-authz`), how often (`rate-limit`), and how
//! calls are retried (`retry`). Built once per config from the config types.

pub mod agents;
pub mod authz;
pub mod glob;
pub mod limits;
pub mod retry;

use std::sync::Arc;

use crate::config::{self, PolicyKind};
use crate::core::identity::Authenticator;
use crate::core::ratelimit::Limiter;

/// The policies of one route, as requests use them.
pub struct RoutePolicies {
    /// `jwt-authn`: callers must present a valid bearer token.
    pub authn: Option<Arc<Authenticator>>,
    /// The token issuer, announced in the protected-resource metadata.
    pub issuer: Option<String>,
    pub authz: Option<authz::Authz>,
    pub limits: Vec<limits::Descriptor>,
    /// Shared by every route of the gateway (and, with Redis, by every replica).
    pub limiter: Arc<Limiter>,
    pub retry: Option<retry::Retry>,
}

impl RoutePolicies {
    pub fn build(route: &config::Route, limiter: Arc<Limiter>) -> Result<RoutePolicies, String> {
        let mut policies = RoutePolicies {
            authn: None,
            issuer: None,
            authz: None,
            limits: Vec::new(),
            limiter,
            retry: None,
        };
        for policy in &route.policies {
            match &policy.kind {
                PolicyKind::JwtAuthn(jwt) => {
                    policies.authn =
                        Some(Arc::new(Authenticator::new(jwt).map_err(|e| {
                            format!("route {}: jwt-authn: {e}", route.name)
                        })?));
                    policies.issuer = Some(jwt.issuer.clone());
                }
                PolicyKind::McpAuthz(rules) => policies.authz = Some(authz::Authz::new(rules)),
                PolicyKind::RateLimit(rate) => policies.limits = limits::descriptors(rate),
                PolicyKind::Retry(retry) => policies.retry = Some(retry::Retry::new(retry)),
                // Timeouts are applied per backend when the route is built; A2A policies on their routes.
                PolicyKind::Timeout(_) | PolicyKind::A2aAuthz(_) => {}
            }
        }
        Ok(policies)
    }
}
