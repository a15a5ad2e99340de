//! `rate-limit`: the guide's descriptors (`key: tool-name`, `agent` or `principal`; shared or per principal)
//! and the per-principal `rateLimit` of an `mcp-authz` rule, checked for every call to a tool (MCP) or an
//! agent (A2A). Each limit is a key in the gateway's one [`Limiter`]; the first that refuses answers the
//! call with 429 and when to retry.

use std::sync::Arc;

use super::authz::Authz;
use super::call::Call;
use super::glob::Glob;
use super::stage::{Check, Stage};
use crate::config::RateLimitPolicy;
use crate::core::error::{Error, TargetKind};
use crate::core::ratelimit::{Decision, Limiter};
use crate::core::telemetry::labels::LimitKind;

pub struct Descriptor {
    key: Key,
    value: Glob,
    per_minute: u32,
    per_principal: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Key {
    /// `tool-name`: the tool of a `tools/call`.
    Tool,
    /// `agent`: the agent an A2A call goes to.
    Agent,
    /// `principal`: the caller, whatever it calls.
    Principal,
}

/// A limit to check: the limiter key and its budget.
#[derive(Debug, PartialEq)]
pub struct Limit {
    pub key: String,
    pub per_minute: u32,
    pub kind: LimitKind,
}

pub fn descriptors(policy: &RateLimitPolicy) -> Vec<Descriptor> {
    policy
        .descriptors
        .iter()
        .map(|d| Descriptor {
            key: match d.key.as_str() {
                "principal" => Key::Principal,
                "agent" => Key::Agent,
                _ => Key::Tool,
            },
            value: Glob::new(&d.value),
            per_minute: d.rate_limit.requests_per_minute,
            per_principal: d.per_principal,
        })
        .collect()
}

/// Every limit a call of `target` by `principal` on `route` counts against. Only calls to a tool or an
/// agent are limited.
pub fn applicable(
    route: &str,
    descriptors: &[Descriptor],
    authz_limit: Option<u32>,
    principal: &str,
    target: (TargetKind, &str),
) -> Vec<Limit> {
    let (kind, name) = target;
    let mut limits = Vec::new();
    for (i, d) in descriptors.iter().enumerate() {
        let subject = match (d.key, kind) {
            (Key::Tool, TargetKind::Tool) | (Key::Agent, TargetKind::Agent) => name,
            (Key::Principal, TargetKind::Tool | TargetKind::Agent) => principal,
            _ => continue,
        };
        if !d.value.matches(subject) {
            continue;
        }
        // The descriptor's index keeps two descriptors with overlapping globs from sharing a budget.
        let (key, kind) = match (d.key, d.per_principal) {
            (Key::Principal, _) => (
                format!("{route}/d{i}/principal:{principal}"),
                LimitKind::Principal,
            ),
            (Key::Tool, true) => (
                format!("{route}/d{i}/principal+tool:{principal}|{name}"),
                LimitKind::PrincipalTool,
            ),
            (Key::Tool, false) => (format!("{route}/d{i}/tool:{name}"), LimitKind::Tool),
            (Key::Agent, true) => (
                format!("{route}/d{i}/principal+agent:{principal}|{name}"),
                LimitKind::Agent,
            ),
            (Key::Agent, false) => (format!("{route}/d{i}/agent:{name}"), LimitKind::Agent),
        };
        limits.push(Limit {
            key,
            per_minute: d.per_minute,
            kind,
        });
    }
    if let Some(per_minute) = authz_limit.filter(|_| kind == TargetKind::Tool) {
        limits.push(Limit {
            key: format!("{route}/authz/principal:{principal}"),
            per_minute,
            kind: LimitKind::Principal,
        });
    }
    limits
}

/// The stage: the route's descriptors, and its mcp-authz rules for their per-principal limits.
pub struct RateLimit {
    route: String,
    descriptors: Vec<Descriptor>,
    authz: Option<Arc<Authz>>,
    limiter: Arc<Limiter>,
}

impl RateLimit {
    pub fn new(
        route: &str,
        policy: Option<&RateLimitPolicy>,
        authz: Option<Arc<Authz>>,
        limiter: Arc<Limiter>,
    ) -> RateLimit {
        RateLimit {
            route: route.to_string(),
            descriptors: policy.map(descriptors).unwrap_or_default(),
            authz,
            limiter,
        }
    }

    /// Whether any limit could ever apply (otherwise the builder leaves the stage out).
    pub fn is_empty(&self) -> bool {
        self.descriptors.is_empty() && self.authz.as_ref().is_none_or(|a| !a.has_rate_limits())
    }
}

impl Stage for RateLimit {
    fn name(&self) -> &'static str {
        "rate-limit"
    }

    fn check<'a>(&'a self, call: &'a Call<'a>) -> Check<'a> {
        let Some(target) = call.target else {
            return Check::Pass;
        };
        let principal = call.principal_or_empty();
        let authz_limit = self
            .authz
            .as_ref()
            .and_then(|a| a.rule_for(principal))
            .and_then(|r| r.rate_limit)
            .map(|r| r.requests_per_minute);
        let limits = applicable(
            &self.route,
            &self.descriptors,
            authz_limit,
            principal,
            (target.kind, target.name),
        );
        if limits.is_empty() {
            return Check::Pass;
        }
        Check::Later(Box::pin(async move {
            for limit in limits {
                if let Decision::Limited { retry_after } =
                    self.limiter.check(&limit.key, limit.per_minute).await
                {
                    return Err(Error::RateLimited {
                        per_minute: limit.per_minute,
                        retry_after,
                        per: limit.kind,
                    });
                }
            }
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RateLimitDescriptor, RateLimitValue};

    fn policy() -> RateLimitPolicy {
        let d = |key: &str, value: &str, n: u32, per_principal: bool| RateLimitDescriptor {
            key: key.into(),
            value: value.into(),
            rate_limit: RateLimitValue {
                requests_per_minute: n,
            },
            per_principal,
        };
        RateLimitPolicy {
            descriptors: vec![
                d("tool-name", "execute_code", 10, false),
                d("tool-name", "get_*", 50, true),
                d("principal", "bot-*", 5, false),
                d("agent", "weather-*", 3, false),
            ],
        }
    }

    #[test]
    fn picks_the_limits_that_apply() {
        let ds = descriptors(&policy());
        let keys = |p: &str, target: (TargetKind, &str), a: Option<u32>| {
            applicable("r", &ds, a, p, target)
                .into_iter()
                .map(|l| (l.key, l.per_minute))
                .collect::<Vec<_>>()
        };
        let tool = TargetKind::Tool;
        assert_eq!(
            keys("alice", (tool, "execute_code"), None),
            vec![("r/d0/tool:execute_code".to_string(), 10)]
        );
        assert_eq!(
            keys("alice", (tool, "get_weather_data"), Some(100)),
            vec![
                ("r/d1/principal+tool:alice|get_weather_data".to_string(), 50),
                ("r/authz/principal:alice".to_string(), 100)
            ]
        );
        assert_eq!(
            keys("bot-1", (tool, "other"), None),
            vec![("r/d2/principal:bot-1".to_string(), 5)]
        );
        assert!(keys("alice", (tool, "other"), None).is_empty());
        // Agents: their own descriptors and the principal's; never a tool's nor an mcp-authz rule's.
        assert_eq!(
            keys("bot-1", (TargetKind::Agent, "weather-agent-v6"), Some(100)),
            vec![
                ("r/d2/principal:bot-1".to_string(), 5),
                ("r/d3/agent:weather-agent-v6".to_string(), 3)
            ]
        );
        assert!(keys("alice", (TargetKind::Agent, "execute_code"), None).is_empty());
    }

    #[tokio::test]
    async fn the_stage_refuses_the_call_over_budget_with_when_to_retry() {
        let stage = RateLimit::new("r", Some(&policy()), None, Arc::new(Limiter::local()));
        let call = Call::new(super::super::call::Protocol::A2a, "message/send", None)
            .target(TargetKind::Agent, "weather-agent-v6");
        for _ in 0..3 {
            let Check::Later(admitted) = stage.check(&call) else {
                panic!("a limit applies")
            };
            assert!(admitted.await.is_ok());
        }
        let Check::Later(refused) = stage.check(&call) else {
            panic!("a limit applies")
        };
        match refused.await {
            Err(Error::RateLimited {
                per_minute: 3,
                per: LimitKind::Agent,
                retry_after,
            }) => assert_eq!(crate::core::error::retry_after_secs(retry_after), 20),
            other => panic!("{other:?}"),
        }
    }
}
