//! Tools by the names their upstreams gave them. An MCP App's interface calls its server's tools through
//! the host by those names, unaware that a route with several backends prefixes them; so a `tools/call` of
//! a name that is no exposed name but the upstream name of exactly one tool on the route means that tool.
//! The call is then authorized, validated and metered under the exposed name, as if the caller had used
//! it. A name two backends offer is ambiguous and stays unknown. Every tool a backend offers counts, served
//! or withheld (drift, a name collision, an outage), so a call never reaches one backend's tool because
//! another's of the same name is withheld, and an exposed name always means its own tool.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub struct UpstreamNames {
    /// The exposed name of each upstream name; `None` when several tools have it.
    exposed_by_upstream: HashMap<String, Option<String>>,
    /// Every exposed name, served or withheld.
    exposed: HashSet<String>,
}

impl UpstreamNames {
    /// A tool offered on the route, under `exposed`.
    pub fn note(&mut self, upstream: &str, exposed: &str) {
        self.exposed.insert(exposed.to_string());
        match self.exposed_by_upstream.entry(upstream.to_string()) {
            Entry::Vacant(slot) => {
                slot.insert(Some(exposed.to_string()));
            }
            Entry::Occupied(mut slot) => {
                if slot.get().as_deref() != Some(exposed) {
                    slot.insert(None);
                }
            }
        }
    }

    /// The exposed name `requested` means: itself when it is one, else the exposed name of the one tool
    /// whose upstream name it is, else itself (an unknown or ambiguous name stays unknown).
    pub fn resolve<'a>(&'a self, requested: &'a str) -> &'a str {
        if self.exposed.contains(requested) {
            return requested;
        }
        self.exposed_by_upstream
            .get(requested)
            .and_then(Option::as_deref)
            .unwrap_or(requested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tools: &[(&str, &str)]) -> UpstreamNames {
        let mut names = UpstreamNames::default();
        for (upstream, exposed) in tools {
            names.note(upstream, exposed);
        }
        names
    }

    #[test]
    fn a_unique_upstream_name_means_its_tool() {
        let n = names(&[("get-time", "app__get-time"), ("echo", "everything__echo")]);
        assert_eq!(n.resolve("get-time"), "app__get-time");
        assert_eq!(n.resolve("app__get-time"), "app__get-time");
        assert_eq!(n.resolve("nothing"), "nothing");
    }

    #[test]
    fn a_name_two_backends_offer_stays_unknown() {
        let n = names(&[("get-time", "a__get-time"), ("get-time", "b__get-time")]);
        assert_eq!(n.resolve("get-time"), "get-time");
        // The same tool listed twice by one backend is still one tool.
        let n = names(&[("get-time", "a__get-time"), ("get-time", "a__get-time")]);
        assert_eq!(n.resolve("get-time"), "a__get-time");
    }

    #[test]
    fn an_exposed_name_always_means_its_own_tool() {
        // Backend a's tool `b__x` is exposed as `a__b__x`; backend b's `x` as `b__x`.
        let n = names(&[("b__x", "a__b__x"), ("x", "b__x")]);
        assert_eq!(n.resolve("b__x"), "b__x");
    }
}
