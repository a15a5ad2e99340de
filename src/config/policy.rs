//! One entry of a route's `policies:`: `type:` plus one field, named after the type, holding its settings.

use std::collections::HashMap;

use super::ACTIVE_POLICY_TYPES;
use super::cx::{Cx, item, unknown};
use super::types::*;
use super::values;
use super::yaml::Node;

/// Each type, the field that holds its settings, and what is lost while this build does not enforce it.
const TYPES: &[(&str, &str, &str)] = &[
    ("jwt-authn", "jwt", "requests are not authenticated"),
    (
        "mcp-authz",
        "mcp",
        "tool access is not restricted by principal",
    ),
    (
        "a2a-authz",
        "a2a",
        "agent-to-agent calls are not restricted",
    ),
    ("rate-limit", "rateLimit", "no rate limits are applied"),
    ("timeout", "timeout", "timeouts are not applied"),
    ("retry", "retry", "failed upstream calls are not retried"),
];

/// The `retryOn` conditions, with Envoy's names (which the guide uses).
const RETRY_ON: &[&str] = &[
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
];

pub fn policy(cx: &mut Cx, node: &Node, path: &str) -> Option<Policy> {
    let fields: Vec<&str> = std::iter::once("type")
        .chain(TYPES.iter().map(|t| t.1))
        .collect();
    let o = cx.obj(node, path, &fields)?;
    let ty = cx.required(&o, "type", Cx::str)?;
    let Some(&(ty, body_key, lost)) = TYPES.iter().find(|t| t.0 == ty) else {
        let names: Vec<&str> = TYPES.iter().map(|t| t.0).collect();
        cx.error(
            o.get("type")?,
            &o.path("type"),
            unknown("policy type", &ty, &names),
        );
        return None;
    };
    for k in o.keys().filter(|k| k.name != "type" && k.name != body_key) {
        if let Some(owner) = TYPES.iter().find(|t| t.1 == k.name) {
            let msg = format!(
                "\"{}\" holds settings of type {}; a {ty} policy takes its settings under \"{body_key}\"",
                k.name, owner.0
            );
            cx.error(k, &o.path(&k.name), msg);
        }
    }
    let location = o.location(&cx.file);
    if !ACTIVE_POLICY_TYPES.contains(&ty) {
        cx.inactive(&location, path, &format!("policy type \"{ty}\" ({lost})"));
    }
    let body = o.get(body_key);
    let bpath = o.path(body_key);
    if body.is_none() {
        cx.error(
            o.node,
            &bpath,
            format!("missing required field \"{body_key}\" (the settings of the {ty} policy)"),
        );
    }
    let body = body?;
    let kind = match ty {
        "jwt-authn" => PolicyKind::JwtAuthn(jwt(cx, body, &bpath)?),
        "mcp-authz" => PolicyKind::McpAuthz(mcp_authz(cx, body, &bpath)?),
        "a2a-authz" => PolicyKind::A2aAuthz(a2a_authz(cx, body, &bpath)?),
        "rate-limit" => PolicyKind::RateLimit(rate_limit(cx, body, &bpath)?),
        "timeout" => PolicyKind::Timeout(timeout(cx, body, &bpath)?),
        _ => PolicyKind::Retry(retry(cx, body, &bpath)?),
    };
    Some(Policy { kind, location })
}

fn jwt(cx: &mut Cx, node: &Node, path: &str) -> Option<JwtAuthn> {
    let o = cx.obj(
        node,
        path,
        &[
            "issuer",
            "audiences",
            "jwksUri",
            "claimToHeaders",
            "leeway",
            "mode",
            "kubernetes",
            "serviceAccountTokenPath",
            "caPath",
            "apiServer",
            "jwksRefreshInterval",
            "jwksMinRefreshInterval",
        ],
    )?;
    let issuer = cx.required(&o, "issuer", Cx::text);
    let audiences = cx.field(&o, "audiences", Cx::str_list).unwrap_or_default();
    let jwks_uri = cx.required(&o, "jwksUri", |cx, n, p| {
        let s = cx.text(n, p)?;
        values::check_http_url(&s)
            .map_err(|msg| cx.error(n, p, msg))
            .ok()?;
        Some(s)
    });
    let mut claim_to_headers = Vec::new();
    for (i, n) in cx
        .field(&o, "claimToHeaders", Cx::list)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(c) = cx.obj(n, &item(&o.path("claimToHeaders"), i), &["claim", "header"]) else {
            continue;
        };
        let (claim, header) = (
            cx.required(&c, "claim", Cx::text),
            cx.required(&c, "header", Cx::text),
        );
        claim_to_headers.extend(
            claim
                .zip(header)
                .map(|(claim, header)| ClaimToHeader { claim, header }),
        );
    }
    let leeway = cx.field(&o, "leeway", Cx::duration);
    let mode = match cx.field(&o, "mode", |cx, n, p| {
        cx.choice(n, p, &["jwks", "tokenReview"])
    }) {
        Some(m) if m == "tokenReview" => JwtMode::TokenReview,
        _ => JwtMode::Jwks,
    };
    let kubernetes = cx.field(&o, "kubernetes", Cx::bool);
    let service_account_token_path = cx.field(&o, "serviceAccountTokenPath", Cx::text);
    let ca_path = cx.field(&o, "caPath", Cx::text);
    let api_server = cx.field(&o, "apiServer", |cx, n, p| {
        let s = cx.text(n, p)?;
        values::check_http_url(&s)
            .map_err(|msg| cx.error(n, p, msg))
            .ok()?;
        Some(s)
    });
    let jwks_refresh_interval = cx.field(&o, "jwksRefreshInterval", Cx::positive_duration);
    let jwks_min_refresh_interval = cx.field(&o, "jwksMinRefreshInterval", Cx::positive_duration);
    Some(JwtAuthn {
        issuer: issuer?,
        audiences,
        jwks_uri: jwks_uri?,
        claim_to_headers,
        leeway,
        mode,
        kubernetes,
        service_account_token_path,
        ca_path,
        api_server,
        jwks_refresh_interval,
        jwks_min_refresh_interval,
    })
}

fn mcp_authz(cx: &mut Cx, node: &Node, path: &str) -> Option<McpAuthz> {
    let o = cx.obj(node, path, &["rules"])?;
    let mut rules = Vec::new();
    let mut principals: HashMap<String, usize> = HashMap::new();
    for (i, n) in cx
        .required(&o, "rules", Cx::list)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let rpath = item(&o.path("rules"), i);
        let Some(r) = cx.obj(
            n,
            &rpath,
            &[
                "principal",
                "allowedTools",
                "allowedPrompts",
                "allowedResources",
                "rateLimit",
            ],
        ) else {
            continue;
        };
        let principal = cx.required(&r, "principal", Cx::text);
        let allowed_tools = cx
            .field(&r, "allowedTools", Cx::str_list)
            .unwrap_or_default();
        let allowed_prompts = cx
            .field(&r, "allowedPrompts", Cx::str_list)
            .unwrap_or_default();
        let allowed_resources = cx
            .field(&r, "allowedResources", Cx::str_list)
            .unwrap_or_default();
        let rate_limit = cx.field(&r, "rateLimit", rate_value);
        let Some(principal) = principal else { continue };
        // Two rules for one principal would leave it unclear which tool list applies.
        if let Some(line) = principals.get(&principal) {
            let msg = format!(
                "principal \"{principal}\" already has a rule (line {line}); merge the two"
            );
            cx.error(r.get("principal").unwrap_or(n), &r.path("principal"), msg);
        } else {
            principals.insert(principal.clone(), n.line);
        }
        rules.push(McpAuthzRule {
            principal,
            allowed_tools,
            allowed_prompts,
            allowed_resources,
            rate_limit,
        });
    }
    Some(McpAuthz { rules })
}

fn a2a_authz(cx: &mut Cx, node: &Node, path: &str) -> Option<A2aAuthz> {
    let o = cx.obj(node, path, &["rules"])?;
    let mut rules = Vec::new();
    for (i, n) in cx
        .required(&o, "rules", Cx::list)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(r) = cx.obj(
            n,
            &item(&o.path("rules"), i),
            &["source", "target", "allowed"],
        ) else {
            continue;
        };
        let source = cx.required(&r, "source", Cx::text);
        let target = cx.required(&r, "target", Cx::text);
        // No default: in an access rule, allow-or-deny should be written down, not guessed.
        let allowed = cx.required(&r, "allowed", Cx::bool);
        if let (Some(source), Some(target), Some(allowed)) = (source, target, allowed) {
            rules.push(A2aAuthzRule {
                source,
                target,
                allowed,
            });
        }
    }
    Some(A2aAuthz { rules })
}

/// What a rate-limit descriptor can be keyed on.
const DESCRIPTOR_KEYS: &[&str] = &["tool-name", "agent", "principal"];

fn rate_limit(cx: &mut Cx, node: &Node, path: &str) -> Option<RateLimitPolicy> {
    let o = cx.obj(node, path, &["descriptors"])?;
    let mut descriptors = Vec::new();
    for (i, n) in cx
        .required(&o, "descriptors", Cx::list)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(d) = cx.obj(
            n,
            &item(&o.path("descriptors"), i),
            &["key", "value", "rateLimit", "perPrincipal"],
        ) else {
            continue;
        };
        let key = cx.required(&d, "key", Cx::text);
        if let (Some(k), Some(at)) = (&key, d.get("key"))
            && !DESCRIPTOR_KEYS.contains(&k.as_str())
        {
            cx.error(
                at,
                &d.path("key"),
                format!(
                    "unknown descriptor key \"{k}\"; expected one of: {}",
                    DESCRIPTOR_KEYS.join(", ")
                ),
            );
        }
        let per_principal = cx.field(&d, "perPrincipal", Cx::bool).unwrap_or(false);
        let value = cx.required(&d, "value", Cx::text);
        let rate = cx.required(&d, "rateLimit", rate_value);
        if let (Some(key), Some(value), Some(rate_limit)) = (key, value, rate) {
            descriptors.push(RateLimitDescriptor {
                key,
                value,
                rate_limit,
                per_principal,
            });
        }
    }
    Some(RateLimitPolicy { descriptors })
}

fn rate_value(cx: &mut Cx, node: &Node, path: &str) -> Option<RateLimitValue> {
    let o = cx.obj(node, path, &["requestsPerMinute"])?;
    let requests_per_minute = cx.required(&o, "requestsPerMinute", count)?;
    Some(RateLimitValue {
        requests_per_minute,
    })
}

fn timeout(cx: &mut Cx, node: &Node, path: &str) -> Option<TimeoutPolicy> {
    let o = cx.obj(node, path, &["request", "idle"])?;
    let t = TimeoutPolicy {
        request: cx.field(&o, "request", Cx::positive_duration),
        idle: cx.field(&o, "idle", Cx::positive_duration),
    };
    if o.get("request").is_none() && o.get("idle").is_none() {
        cx.warning(node, path, "sets no timeout (expected request and/or idle)");
    }
    Some(t)
}

fn retry(cx: &mut Cx, node: &Node, path: &str) -> Option<RetryPolicy> {
    let o = cx.obj(
        node,
        path,
        &["attempts", "perTryTimeout", "retryOn", "backoff"],
    )?;
    let attempts = cx.required(&o, "attempts", count);
    let per_try_timeout = cx.field(&o, "perTryTimeout", Cx::positive_duration);
    let mut retry_on = Vec::new();
    for (i, n) in cx
        .field(&o, "retryOn", Cx::list)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let at = item(&o.path("retryOn"), i);
        let choice = cx.choice(n, &at, RETRY_ON);
        if choice.as_deref() == Some("refused-stream") {
            cx.warning(
                n,
                &at,
                "\"refused-stream\" has no effect: it is an HTTP/2 condition and upstream connections are HTTP/1.1",
            );
        }
        retry_on.extend(choice);
    }
    let backoff = cx.field(&o, "backoff", |cx, n, p| {
        let b = cx.obj(n, p, &["baseInterval", "maxInterval"])?;
        let base_interval = cx.required(&b, "baseInterval", Cx::positive_duration)?;
        let max_interval = cx.required(&b, "maxInterval", Cx::positive_duration)?;
        if base_interval > max_interval {
            let msg = format!(
                "maxInterval ({max_interval:?}) is shorter than baseInterval ({base_interval:?})"
            );
            cx.error(b.get("maxInterval")?, &b.path("maxInterval"), msg);
        }
        Some(Backoff {
            base_interval,
            max_interval,
        })
    });
    Some(RetryPolicy {
        attempts: attempts?,
        per_try_timeout,
        retry_on,
        backoff,
    })
}

/// A count of at least one (attempts, requests per minute).
fn count(cx: &mut Cx, node: &Node, path: &str) -> Option<u32> {
    let i = cx.int(node, path, 1, i64::MAX)?;
    u32::try_from(i)
        .map_err(|_| cx.error(node, path, format!("{i} is too large")))
        .ok()
}

#[cfg(test)]
mod tests {
    use crate::config::{PolicyKind, diagnostics_of, load_str, route_yaml};

    const SAMPLE: &str = "[{name: s, type: sample}]";
    const P: &str = "binds[0].listeners[0].routes[0].policies[0]";

    #[test]
    fn settings_under_another_types_field_are_pointed_out() {
        let text = route_yaml("[{type: timeout, retry: {attempts: 2}}]", SAMPLE);
        assert_eq!(
            diagnostics_of(&text),
            [
                format!(
                    "t.yaml:8:18: {P}.timeout: missing required field \"timeout\" (the settings of the timeout policy)"
                ),
                format!(
                    "t.yaml:8:34: {P}.retry: \"retry\" holds settings of type retry; a timeout policy takes its settings under \"timeout\""
                ),
            ]
        );
    }

    #[test]
    fn retry_values_are_checked() {
        let text = route_yaml(
            "[{type: retry, retry: {attempts: 2, retryOn: [5xx, conect-failure], backoff: {baseInterval: 2s, maxInterval: 1s}}}]",
            SAMPLE,
        );
        let d = diagnostics_of(&text);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            d[0],
            format!(
                "t.yaml:8:68: {P}.retry.retryOn[1]: unknown value \"conect-failure\"; did you mean \"connect-failure\"?"
            )
        );
        assert_eq!(
            d[1],
            format!(
                "t.yaml:8:126: {P}.retry.backoff.maxInterval: maxInterval (1s) is shorter than baseInterval (2s)"
            )
        );
    }

    #[test]
    fn authz_rules_are_checked() {
        let text = route_yaml(
            "[{type: mcp-authz, mcp: {rules: [{principal: a, allowedTools: [x]}, {principal: a, rateLimit: {requestsPerMinute: 0}}]}}, \
             {type: a2a-authz, a2a: {rules: [{source: a, target: b}]}}]",
            SAMPLE,
        );
        let d = diagnostics_of(&text);
        let errors: Vec<&str> = d
            .iter()
            .map(|l| l.split_once(": ").unwrap().1)
            .filter(|l| !l.contains("not active"))
            .collect();
        assert_eq!(
            errors,
            [
                format!("{P}.mcp.rules[1].principal: principal \"a\" already has a rule (line 8); merge the two"),
                format!("{P}.mcp.rules[1].rateLimit.requestsPerMinute: must be at least 1, found 0"),
                "binds[0].listeners[0].routes[0].policies[1]: policy \"a2a-authz\" cannot apply to an MCP route (use mcp-authz); the route would not be restricted".to_string(),
                "binds[0].listeners[0].routes[0].policies[1].a2a.rules[0].allowed: missing required field \"allowed\"".to_string(),
            ]
        );
    }

    #[test]
    fn a_timeout_policy_is_active_and_silent() {
        let text = route_yaml("[{type: timeout, timeout: {request: 1.5s}}]", SAMPLE);
        let loaded = load_str(&text, "t.yaml").unwrap();
        assert!(loaded.diagnostics.is_empty());
        let PolicyKind::Timeout(t) =
            &loaded.config.binds[0].listeners[0].routes[0].policies[0].kind
        else {
            panic!()
        };
        assert_eq!(t.request, Some(std::time::Duration::from_millis(1500)));
    }

    #[test]
    fn two_policies_of_one_type_are_refused() {
        let text = route_yaml(
            "[{type: timeout, timeout: {request: 1s}}, {type: timeout, timeout: {idle: 1s}}]",
            SAMPLE,
        );
        assert_eq!(
            diagnostics_of(&text),
            [format!(
                "t.yaml:8:59: binds[0].listeners[0].routes[0].policies[1]: a second \"timeout\" policy on this route (the first is {P}, line 8); merge them"
            )]
        );
    }
}
