//! The MCP methods the gateway knows, in one table: each method's name (also its metrics label), and
//! the parameter naming its target with the target's kind (what authorization and rate limits check,
//! what a trace span and the access log name, what the 2026-07-28 `Mcp-Name` header must repeat).

use serde_json::Value;

use crate::core::error::TargetKind;

pub struct Method {
    pub name: &'static str,
    pub target: Option<(&'static str, TargetKind)>,
}

const fn plain(name: &'static str) -> Method {
    Method { name, target: None }
}

const fn targeted(name: &'static str, param: &'static str, kind: TargetKind) -> Method {
    Method {
        name,
        target: Some((param, kind)),
    }
}

pub const METHODS: &[Method] = &[
    plain("initialize"),
    plain("ping"),
    plain("server/discover"),
    plain("subscriptions/listen"),
    plain("tools/list"),
    targeted("tools/call", "name", TargetKind::Tool),
    plain("prompts/list"),
    targeted("prompts/get", "name", TargetKind::Prompt),
    plain("resources/list"),
    plain("resources/templates/list"),
    targeted("resources/read", "uri", TargetKind::Resource),
    targeted("resources/subscribe", "uri", TargetKind::Resource),
    targeted("resources/unsubscribe", "uri", TargetKind::Resource),
    plain("completion/complete"),
    plain("logging/setLevel"),
    plain("notifications/initialized"),
    plain("notifications/cancelled"),
    plain("notifications/progress"),
    plain("notifications/roots/list_changed"),
];

pub fn lookup(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// The metrics label of a method: its name when the table knows it, else `other` (a caller can send
/// any method name, and each would otherwise become its own series).
pub fn label(name: &str) -> &'static str {
    lookup(name).map_or("other", |m| m.name)
}

/// The parameter naming a method's target (`name` or `uri`).
pub fn target_param(name: &str) -> Option<&'static str> {
    lookup(name)?.target.map(|(param, _)| param)
}

/// What a request of `name` with `params` targets.
pub fn target<'a>(name: &str, params: &'a Value) -> Option<(TargetKind, &'a str)> {
    let (param, kind) = lookup(name)?.target?;
    Some((kind, params.get(param)?.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_entry_per_method_and_unknown_methods_collapse() {
        let mut names: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METHODS.len());
        assert_eq!(label("tools/call"), "tools/call");
        assert_eq!(label("tools/call/../../etc"), "other");
        assert_eq!(target_param("resources/subscribe"), Some("uri"));
        assert_eq!(target_param("tools/list"), None);
        assert_eq!(
            target("tools/call", &json!({"name": "get_weather_data"})),
            Some((TargetKind::Tool, "get_weather_data"))
        );
        assert_eq!(target("tools/call", &json!({"name": 7})), None);
    }
}
