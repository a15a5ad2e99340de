//! `a2a-authz`: which principal may call which agent. With the policy present everything not allowed is
//! denied; a matching `allowed: false` rule wins over any allowing rule, so an exception can be carved out
//! of a `*` grant.

use super::call::Call;
use super::glob::Glob;
use super::stage::{Check, Stage};
use crate::config::A2aAuthz;
use crate::core::error::{Error, TargetKind};

pub struct AgentAuthz {
    rules: Vec<Rule>,
}

struct Rule {
    source: Glob,
    target: Glob,
    allowed: bool,
}

impl AgentAuthz {
    pub fn new(policy: &A2aAuthz) -> AgentAuthz {
        AgentAuthz {
            rules: policy
                .rules
                .iter()
                .map(|r| Rule {
                    source: Glob::new(&r.source),
                    target: Glob::new(&r.target),
                    allowed: r.allowed,
                })
                .collect(),
        }
    }

    /// An anonymous caller (no identity policy on the route) matches only a bare `*` source.
    pub fn allows(&self, principal: Option<&str>, agent: &str) -> bool {
        let mut allowed = false;
        for rule in &self.rules {
            let source_matches = match principal {
                Some(p) => rule.source.matches(p),
                None => !rule.source.is_exact() && rule.source.matches(""),
            };
            if source_matches && rule.target.matches(agent) {
                if !rule.allowed {
                    return false;
                }
                allowed = true;
            }
        }
        allowed
    }
}

/// The call stage: a call to an agent the caller may not reach is refused (403).
impl Stage for AgentAuthz {
    fn name(&self) -> &'static str {
        "a2a-authz"
    }

    fn check<'a>(&'a self, call: &'a Call<'a>) -> Check<'a> {
        match call.target {
            Some(t) if t.kind == TargetKind::Agent && !self.allows(call.principal, t.name) => {
                Check::Refuse(Error::Denied {
                    kind: t.kind,
                    name: t.name.to_string(),
                })
            }
            _ => Check::Pass,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::A2aAuthzRule;

    fn rule(source: &str, target: &str, allowed: bool) -> A2aAuthzRule {
        A2aAuthzRule {
            source: source.into(),
            target: target.into(),
            allowed,
        }
    }

    #[test]
    fn guide_rules_allow_planning_to_weather_and_orchestrator_to_all() {
        let authz = AgentAuthz::new(&A2aAuthz {
            rules: vec![
                rule("sa:planning", "weather-agent-v6", true),
                rule("sa:orchestrator", "*", true),
                rule("sa:orchestrator", "secret-agent", false),
            ],
        });
        assert!(authz.allows(Some("sa:planning"), "weather-agent-v6"));
        assert!(!authz.allows(Some("sa:planning"), "planning-agent"));
        assert!(authz.allows(Some("sa:orchestrator"), "planning-agent"));
        assert!(!authz.allows(Some("sa:orchestrator"), "secret-agent"));
        assert!(!authz.allows(Some("sa:other"), "weather-agent-v6"));
        assert!(!authz.allows(None, "weather-agent-v6"));
    }
}
