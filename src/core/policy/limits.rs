//! Which rate limits apply to one `tools/call`, as limiter keys: the guide's `rate-limit` descriptors
//! (`tool-name` or `principal`, shared or per principal) and the per-principal limit of an `mcp-authz` rule.

use super::glob::Glob;
use crate::config::RateLimitPolicy;

pub struct Descriptor {
    kind: Kind,
    value: Glob,
    per_minute: u32,
    per_principal: bool,
}

enum Kind {
    Tool,
    Principal,
}

/// A limit to check: the limiter key and its budget.
#[derive(Debug, PartialEq)]
pub struct Limit {
    pub key: String,
    pub per_minute: u32,
    /// For metrics and logs: what the limit is keyed on.
    pub key_kind: &'static str,
}

pub fn descriptors(policy: &RateLimitPolicy) -> Vec<Descriptor> {
    policy
        .descriptors
        .iter()
        .map(|d| Descriptor {
            kind: if d.key == "principal" {
                Kind::Principal
            } else {
                Kind::Tool
            },
            value: Glob::new(&d.value),
            per_minute: d.rate_limit.requests_per_minute,
            per_principal: d.per_principal,
        })
        .collect()
}

/// Every limit a call of `tool` by `principal` on `route` counts against.
pub fn applicable(
    route: &str,
    descriptors: &[Descriptor],
    authz_limit: Option<u32>,
    principal: &str,
    tool: &str,
) -> Vec<Limit> {
    let mut limits = Vec::new();
    for (i, d) in descriptors.iter().enumerate() {
        let (subject, key_kind) = match d.kind {
            Kind::Tool => (tool, "tool"),
            Kind::Principal => (principal, "principal"),
        };
        if !d.value.matches(subject) {
            continue;
        }
        // The descriptor's index keeps two descriptors with overlapping globs from sharing a budget.
        let (key, key_kind) = match (d.kind_is_tool(), d.per_principal) {
            (true, true) => (
                format!("{route}/d{i}/principal+tool:{principal}|{tool}"),
                "principal+tool",
            ),
            (true, false) => (format!("{route}/d{i}/tool:{tool}"), key_kind),
            (false, _) => (format!("{route}/d{i}/principal:{principal}"), key_kind),
        };
        limits.push(Limit {
            key,
            per_minute: d.per_minute,
            key_kind,
        });
    }
    if let Some(per_minute) = authz_limit {
        limits.push(Limit {
            key: format!("{route}/authz/principal:{principal}"),
            per_minute,
            key_kind: "principal",
        });
    }
    limits
}

impl Descriptor {
    fn kind_is_tool(&self) -> bool {
        matches!(self.kind, Kind::Tool)
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
            ],
        }
    }

    #[test]
    fn picks_the_limits_that_apply() {
        let ds = descriptors(&policy());
        let keys = |p: &str, t: &str, a: Option<u32>| {
            applicable("r", &ds, a, p, t)
                .into_iter()
                .map(|l| (l.key, l.per_minute))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys("alice", "execute_code", None),
            vec![("r/d0/tool:execute_code".to_string(), 10)]
        );
        assert_eq!(
            keys("alice", "get_weather_data", Some(100)),
            vec![
                ("r/d1/principal+tool:alice|get_weather_data".to_string(), 50),
                ("r/authz/principal:alice".to_string(), 100)
            ]
        );
        assert_eq!(
            keys("bot-1", "other", None),
            vec![("r/d2/principal:bot-1".to_string(), 5)]
        );
        assert!(keys("alice", "other", None).is_empty());
    }
}
