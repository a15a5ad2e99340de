//! One route: its match, policies and backends, and whether they fit together. A route is either an MCP
//! route or an A2A route; its policies and settings should suit which one it is.

use super::backend::{self, DecodedBackend};
use super::cx::{Cx, Obj, Pos, Seen, item};
use super::decode::name_node;
use super::types::*;
use super::yaml::Node;
use super::{policy, values};

pub fn route(cx: &mut Cx, node: &Node, path: &str, prefixes: &mut Seen<String>) -> Option<Route> {
    let o = cx.obj(
        node,
        path,
        &["name", "match", "policies", "backends", "mcp"],
    )?;
    let name = cx.required(&o, "name", Cx::text);
    let path_prefix = cx.required(&o, "match", path_prefix).map(|(prefix, at)| {
        // Two routes with one prefix on one port: only one could ever receive the traffic.
        if let Some((other, line)) = prefixes.repeat(prefix.clone(), path, o.node.line) {
            let msg = format!("path prefix \"{prefix}\" is already routed by {other} (line {line}) on the same port");
            cx.error(at, &format!("{}.path.prefix", o.path("match")), msg);
        }
        prefix
    });

    let mut policies = Vec::new();
    if let Some(items) = cx.field(&o, "policies", Cx::list) {
        for (i, n) in items.iter().enumerate() {
            policies.extend(policy::policy(cx, n, &item(&o.path("policies"), i)));
        }
    }
    let mut seen_types = Seen::new();
    for p in &policies {
        // Two policies of one type on a route leave it unclear which one applies.
        if let Some((other, line)) =
            seen_types.repeat(p.kind.type_name(), &p.location.path, p.location.line)
        {
            let msg = format!(
                "a second \"{}\" policy on this route (the first is {other}, line {line}); merge them",
                p.kind.type_name()
            );
            cx.error(&p.location, &p.location.path, msg);
        }
    }

    let mut decoded = Vec::new();
    let mut names = Seen::new();
    if let Some(items) = cx.required(&o, "backends", Cx::list) {
        if items.is_empty() {
            cx.error(
                o.get("backends").unwrap_or(node),
                &o.path("backends"),
                "a route needs at least one backend",
            );
        }
        for (i, n) in items.iter().enumerate() {
            let bpath = item(&o.path("backends"), i);
            let Some(d) = backend::backend(cx, n, &bpath) else {
                continue;
            };
            if let Some((other, line)) =
                names.repeat(d.backend.name.clone(), &bpath, d.backend.location.line)
            {
                cx.error(
                    name_node(n),
                    &format!("{bpath}.name"),
                    format!(
                        "backend name \"{}\" is already used by {other} (line {line})",
                        d.backend.name
                    ),
                );
            }
            decoded.push(d);
        }
    }
    let mcp = cx.field(&o, "mcp", route_mcp).unwrap_or_default();
    check_backend_mix(cx, &o, &decoded, &policies);
    let backends = decoded.into_iter().map(|d| d.backend).collect();
    Some(Route {
        name: name?,
        path_prefix: path_prefix?,
        policies,
        backends,
        mcp,
        location: o.location(&cx.file),
    })
}

/// `match: {path: {prefix: /mcp}}` → `/mcp`, and where it is written.
fn path_prefix<'a>(cx: &mut Cx, node: &'a Node, path: &str) -> Option<(String, &'a Node)> {
    let m = cx.obj(node, path, &["path"])?;
    let p = cx.required(&m, "path", |cx, n, p| cx.obj(n, p, &["prefix"]))?;
    let at = p.get("prefix");
    let prefix = cx.required(&p, "prefix", Cx::text)?;
    if !prefix.starts_with('/') {
        let msg =
            format!("path prefix must start with \"/\", found \"{prefix}\"; write \"/{prefix}\"");
        cx.error(at.unwrap_or(node), &p.path("prefix"), msg);
        return None;
    }
    Some((prefix, at.unwrap_or(node)))
}

fn route_mcp(cx: &mut Cx, node: &Node, path: &str) -> Option<RouteMcp> {
    let o = cx.obj(
        node,
        path,
        &[
            "prefixDelimiter",
            "outputSchema",
            "refreshInterval",
            "discovery",
            "progressiveAbove",
        ],
    )?;
    let discovery = match cx
        .field(&o, "discovery", |cx, n, p| {
            cx.choice(n, p, &["full", "progressive"])
        })
        .as_deref()
    {
        Some("progressive") => match cx.field(&o, "progressiveAbove", |cx, n, p| {
            cx.int(n, p, 0, 1_000_000)
        }) {
            Some(n) => Discovery::Above(n as usize),
            None => Discovery::Progressive,
        },
        _ => {
            if let Some(k) = o.key("progressiveAbove") {
                cx.error(
                    k,
                    &o.path("progressiveAbove"),
                    "applies only with discovery: progressive",
                );
            }
            Discovery::Full
        }
    };
    let output_schema = match cx
        .field(&o, "outputSchema", |cx, n, p| {
            cx.choice(n, p, &["report", "enforce"])
        })
        .as_deref()
    {
        Some("enforce") => OutputSchemaMode::Enforce,
        _ => OutputSchemaMode::Report,
    };
    Some(RouteMcp {
        prefix_delimiter: cx.field(&o, "prefixDelimiter", Cx::text),
        output_schema,
        refresh_interval: cx.field(&o, "refreshInterval", Cx::positive_duration),
        discovery,
    })
}

/// Descriptors keyed on what this kind of route has no such thing of never match: reported.
fn check_descriptors(cx: &mut Cx, p: &Policy, r: &RateLimitPolicy, is_a2a: bool) {
    for (i, d) in r.descriptors.iter().enumerate() {
        let hint = match d.key.as_str() {
            "tool-name" if is_a2a => "an A2A route has no tools; key it on agent or principal",
            "agent" if !is_a2a => "an MCP route has no agents; key it on tool-name or principal",
            _ => continue,
        };
        let path = format!("{}.rateLimit.descriptors[{i}].key", p.location.path);
        let msg = format!("descriptor key \"{}\" does not apply here: {hint}", d.key);
        cx.warning(&p.location, &path, msg);
    }
}

/// A route is either an MCP route or an A2A route; its policies and settings should fit which one it is.
fn check_backend_mix(cx: &mut Cx, o: &Obj, backends: &[DecodedBackend], policies: &[Policy]) {
    let (a2a, mcp): (Vec<_>, Vec<_>) = backends
        .iter()
        .partition(|d| matches!(d.backend.kind, BackendKind::A2a { .. }));
    let names = |v: &[&DecodedBackend]| {
        v.iter()
            .map(|d| format!("\"{}\"", d.backend.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !a2a.is_empty() && !mcp.is_empty() {
        let msg = format!(
            "this route mixes MCP backends ({}) with A2A backends ({}); put them on separate routes",
            names(&mcp),
            names(&a2a)
        );
        cx.error(
            o.key("backends").map_or(Pos::from(o.node), Pos::from),
            &o.path("backends"),
            msg,
        );
        return;
    }
    let is_a2a = !a2a.is_empty();
    for p in policies {
        // An authorization policy for the other protocol would leave this route unrestricted: refused.
        let misfit = match &p.kind {
            PolicyKind::McpAuthz(_) if is_a2a => "an A2A route (use a2a-authz)",
            PolicyKind::A2aAuthz(_) if !mcp.is_empty() => "an MCP route (use mcp-authz)",
            PolicyKind::RateLimit(r) => {
                check_descriptors(cx, p, r, is_a2a);
                continue;
            }
            _ => continue,
        };
        cx.error(
            &p.location,
            &p.location.path,
            format!(
                "policy \"{}\" cannot apply to {misfit}; the route would not be restricted",
                p.kind.type_name()
            ),
        );
    }
    if is_a2a && let Some(m) = o.key("mcp") {
        cx.warning(
            m,
            &o.path("mcp"),
            "route mcp settings have no effect on an A2A route",
        );
    }
    // Several MCP backends: tool names become `<prefix><delimiter><tool>`, so prefixes must be distinct and
    // made of characters that clients accept in tool names.
    if mcp.len() > 1 {
        let mut seen = Seen::new();
        for d in &mcp {
            if let Some((other, line)) =
                seen.repeat(d.prefix.clone(), &d.prefix_path, d.prefix_at.line)
            {
                if other.ends_with(".name") && d.prefix_path.ends_with(".name") {
                    continue; // the same name twice, already reported as such
                }
                let msg = format!(
                    "tool-name prefix \"{}\" is also used by {other} (line {line}); set a distinct mcp.prefix",
                    d.prefix
                );
                cx.error(d.prefix_at, &d.prefix_path, msg);
            } else if !values::is_safe_prefix(&d.prefix) {
                let msg = format!(
                    "tool-name prefix \"{}\" has characters outside [A-Za-z0-9_-]; some MCP clients reject the resulting tool names; set mcp.prefix",
                    d.prefix
                );
                cx.warning(d.prefix_at, &d.prefix_path, msg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, route_yaml};

    #[test]
    fn an_authz_policy_for_the_other_protocol_is_refused() {
        let d = crate::config::diagnostics_of(&route_yaml(
            "[{type: mcp-authz, mcp: {rules: []}}]",
            "[{name: a, address: http://a}]",
        ));
        assert_eq!(
            d,
            [
                "t.yaml:8:18: binds[0].listeners[0].routes[0].policies[0]: policy \"mcp-authz\" cannot apply to an A2A route (use a2a-authz); the route would not be restricted"
            ]
        );
    }

    #[test]
    fn mcp_only_settings_on_an_a2a_route_are_flagged() {
        let text = route_yaml(
            "[{type: rate-limit, rateLimit: {descriptors: [{key: agent, value: '*', rateLimit: {requestsPerMinute: 1}}, {key: tool-name, value: x, rateLimit: {requestsPerMinute: 1}}]}}]",
            "[{name: a, address: http://a}]",
        )
        .replace(
            "      policies:",
            "      mcp: {outputSchema: enforce}\n      policies:",
        );
        let warnings: Vec<String> = load_str(&text, "t.yaml")
            .unwrap()
            .diagnostics
            .into_iter()
            .filter(|d| d.severity == crate::config::Severity::Warning)
            .map(|d| d.to_string())
            .collect();
        assert_eq!(
            warnings,
            [
                "t.yaml:8:7: binds[0].listeners[0].routes[0].mcp: route mcp settings have no effect on an A2A route",
                "t.yaml:9:18: binds[0].listeners[0].routes[0].policies[0].rateLimit.descriptors[1].key: descriptor key \"tool-name\" does not apply here: an A2A route has no tools; key it on agent or principal",
            ]
        );
    }
}
