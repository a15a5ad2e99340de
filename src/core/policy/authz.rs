//! `mcp-authz`: which principal may see and call which tools, prompts and resources. Deny by default:
//! where the policy is present, a principal without a matching rule gets nothing. A rule for an exact
//! principal wins over glob rules; among globs the first in the file wins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::call::Call;
use super::glob::Glob;
use super::stage::{Check, Stage};
use crate::config::{McpAuthz, RateLimitValue};
use crate::core::error::{Error, TargetKind};

pub struct Rule {
    pub principal: Glob,
    pub principal_text: String,
    tools: Vec<Glob>,
    prompts: Vec<Glob>,
    resources: Vec<Glob>,
    pub rate_limit: Option<RateLimitValue>,
}

pub struct Authz {
    rules: Vec<Rule>,
    /// Per-principal views of the current catalogue, computed once per catalogue and principal.
    views: Mutex<ViewCache>,
}

/// What one principal may see of one catalogue: indices into its lists.
#[derive(Debug, Default, PartialEq)]
pub struct View {
    pub tools: Vec<usize>,
    pub prompts: Vec<usize>,
    pub resources: Vec<usize>,
    pub templates: Vec<usize>,
}

/// What views are computed over: the names of one generation of a catalogue. A generation number is
/// never reused, so a cached view can never be applied to a catalogue it was not computed for.
pub trait Names {
    fn generation(&self) -> u64;
    fn tools(&self) -> Vec<&str>;
    fn prompts(&self) -> Vec<&str>;
    /// Resource URIs.
    fn resources(&self) -> Vec<&str>;
    /// Resource template URIs, matched by the same globs as resources.
    fn templates(&self) -> Vec<&str>;
}

#[derive(Default)]
struct ViewCache {
    generation: u64,
    views: HashMap<String, Arc<View>>,
}

/// Views kept per catalogue; beyond this many principals the cache starts over.
const MAX_VIEWS: usize = 10_000;

fn globs(list: &[String]) -> Vec<Glob> {
    list.iter().map(|s| Glob::new(s)).collect()
}

fn any(globs: &[Glob], text: &str) -> bool {
    globs.iter().any(|g| g.matches(text))
}

impl Authz {
    pub fn new(config: &McpAuthz) -> Authz {
        let rules = config
            .rules
            .iter()
            .map(|r| Rule {
                principal: Glob::new(&r.principal),
                principal_text: r.principal.clone(),
                tools: globs(&r.allowed_tools),
                prompts: globs(&r.allowed_prompts),
                resources: globs(&r.allowed_resources),
                rate_limit: r.rate_limit,
            })
            .collect();
        Authz {
            rules,
            views: Mutex::default(),
        }
    }

    /// Whether some rule carries a per-principal `rateLimit`.
    pub fn has_rate_limits(&self) -> bool {
        self.rules.iter().any(|r| r.rate_limit.is_some())
    }

    pub fn rule_for(&self, principal: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.principal.is_exact() && r.principal.matches(principal))
            .or_else(|| {
                self.rules
                    .iter()
                    .find(|r| !r.principal.is_exact() && r.principal.matches(principal))
            })
    }

    pub fn may_call_tool(&self, principal: &str, tool: &str) -> bool {
        self.rule_for(principal)
            .is_some_and(|r| any(&r.tools, tool))
    }

    pub fn may_get_prompt(&self, principal: &str, prompt: &str) -> bool {
        self.rule_for(principal)
            .is_some_and(|r| any(&r.prompts, prompt))
    }

    pub fn may_read_resource(&self, principal: &str, uri: &str) -> bool {
        self.rule_for(principal)
            .is_some_and(|r| any(&r.resources, uri))
    }

    /// Whether `principal` may use `name`. Agents are not this policy's business (a2a-authz's).
    pub fn allows(&self, principal: &str, kind: TargetKind, name: &str) -> bool {
        match kind {
            TargetKind::Tool => self.may_call_tool(principal, name),
            TargetKind::Prompt => self.may_get_prompt(principal, name),
            TargetKind::Resource => self.may_read_resource(principal, name),
            TargetKind::Agent | TargetKind::Task => false,
        }
    }

    /// The principal's view of `names`, from the cache when this generation was seen before.
    pub fn view(&self, names: &impl Names, principal: &str) -> Arc<View> {
        let generation = names.generation();
        let mut cache = self.views.lock().unwrap();
        if cache.generation != generation || cache.views.len() >= MAX_VIEWS {
            *cache = ViewCache {
                generation,
                views: HashMap::new(),
            };
        }
        if let Some(view) = cache.views.get(principal) {
            return view.clone();
        }
        let view = Arc::new(self.compute(names, principal));
        cache.views.insert(principal.to_string(), view.clone());
        view
    }

    fn compute(&self, names: &impl Names, principal: &str) -> View {
        let Some(rule) = self.rule_for(principal) else {
            return View::default();
        };
        let pick = |names: Vec<&str>, allowed: &[Glob]| -> Vec<usize> {
            names
                .iter()
                .enumerate()
                .filter(|(_, n)| any(allowed, n))
                .map(|(i, _)| i)
                .collect()
        };
        View {
            tools: pick(names.tools(), &rule.tools),
            prompts: pick(names.prompts(), &rule.prompts),
            resources: pick(names.resources(), &rule.resources),
            templates: pick(names.templates(), &rule.resources),
        }
    }

    /// Why `principal` does not see `tool`, for `agent-gateway catalogue --as`.
    pub fn explain_tool(&self, principal: &str, tool: &str) -> Option<String> {
        match self.rule_for(principal) {
            None => Some(format!(
                "no mcp-authz rule matches principal {principal} (deny by default)"
            )),
            Some(r) if !any(&r.tools, tool) => Some(format!(
                "not in allowedTools of the rule for {}",
                r.principal_text
            )),
            Some(_) => None,
        }
    }
}

/// The call stage: a target the principal's rule does not name is refused (MCP answers it like an unknown
/// target). Calls without a target (lists, lifecycle) pass: lists are filtered through [`Authz::view`].
impl Stage for Authz {
    fn name(&self) -> &'static str {
        "mcp-authz"
    }

    fn check<'a>(&'a self, call: &'a Call<'a>) -> Check<'a> {
        match call.target {
            Some(t) if !self.allows(call.principal_or_empty(), t.kind, t.name) => {
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
    use crate::config::McpAuthzRule;

    fn authz() -> Authz {
        Authz::new(&McpAuthz {
            rules: vec![
                McpAuthzRule {
                    principal: "system:serviceaccount:ns:*".into(),
                    allowed_tools: vec!["get_*".into()],
                    allowed_prompts: vec![],
                    allowed_resources: vec!["memo://*".into()],
                    rate_limit: None,
                },
                McpAuthzRule {
                    principal: "system:serviceaccount:ns:weather".into(),
                    allowed_tools: vec!["get_weather_data".into(), "execute_code".into()],
                    allowed_prompts: vec!["greet".into()],
                    allowed_resources: vec![],
                    rate_limit: Some(RateLimitValue {
                        requests_per_minute: 100,
                    }),
                },
            ],
        })
    }

    struct Lists(u64, Vec<&'static str>);

    impl Names for Lists {
        fn generation(&self) -> u64 {
            self.0
        }
        fn tools(&self) -> Vec<&str> {
            self.1.clone()
        }
        fn prompts(&self) -> Vec<&str> {
            Vec::new()
        }
        fn resources(&self) -> Vec<&str> {
            Vec::new()
        }
        fn templates(&self) -> Vec<&str> {
            Vec::new()
        }
    }

    #[test]
    fn views_are_cached_per_generation_never_across_generations() {
        let a = authz();
        let weather = "system:serviceaccount:ns:weather";
        let first = Lists(1, vec!["get_weather_data", "other"]);
        assert_eq!(a.view(&first, weather).tools, [0]);
        // Generation 2 lists other names at the same indices: the cached view must not be reused.
        let second = Lists(2, vec!["other", "execute_code", "get_weather_data"]);
        assert_eq!(a.view(&second, weather).tools, [1, 2]);
        assert!(Arc::ptr_eq(
            &a.view(&second, weather),
            &a.view(&second, weather)
        ));
    }

    #[test]
    fn exact_rules_win_and_unknown_principals_get_nothing() {
        let a = authz();
        assert!(a.may_call_tool("system:serviceaccount:ns:weather", "execute_code"));
        assert!(
            !a.may_call_tool(
                "system:serviceaccount:ns:weather",
                "get_activity_preferences"
            ),
            "the exact rule replaces the glob rule"
        );
        assert!(a.may_call_tool("system:serviceaccount:ns:other", "get_activity_preferences"));
        assert!(!a.may_call_tool("system:serviceaccount:ns:other", "execute_code"));
        assert!(!a.may_call_tool("mallory", "get_weather_data"));
        assert!(
            !a.may_call_tool("", "get_weather_data"),
            "anonymous callers match no rule"
        );
        assert!(a.may_get_prompt("system:serviceaccount:ns:weather", "greet"));
        assert!(a.may_read_resource("system:serviceaccount:ns:x", "memo://readme"));
        assert!(
            a.explain_tool("mallory", "x")
                .unwrap()
                .contains("deny by default")
        );
    }
}
