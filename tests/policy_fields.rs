//! Nothing a route's `policies:` accept is silently inert. This walks every field (and every enum value) of
//! every policy type in the config's JSON Schema and, for each route kind (MCP, A2A), requires one answer:
//!
//! - `Enforced(tests)`: the named tests exist (each `file::function`); they are where it is proven.
//! - `Reported(policy)`: that policy, on that kind of route, gets a diagnostic naming its file and line
//!   from the config loader (an error where the route would otherwise go unrestricted).
//!
//! A new field or value fails here until someone decides which it is.

use std::collections::BTreeSet;
use std::path::Path;

use agent_gateway::config::{self, Severity};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Mcp,
    A2a,
}

enum Use {
    Enforced(&'static [&'static str]),
    /// The policy (YAML flow mapping) whose use of the field is reported.
    Reported(&'static str),
}

use Kind::*;
use Use::*;

const AUTHN: &[&str] = &[
    "tests/identity_jwt.rs::time_audience_and_issuer_failures_are_exact",
    "tests/policy_e2e/guide_auth.rs::guide_authentication_failures_answer_401_with_a_bearer_challenge",
    "tests/policy_e2e/guide_agents.rs::guide_agent_to_agent_flow_with_its_two_principals",
];
const KUBE: &[&str] = &[
    "tests/identity_kube.rs::in_cluster_jwks_is_fetched_with_the_service_account_and_cluster_ca",
    "tests/identity_kube.rs::token_review_authenticates_rejects_and_caches",
    "src/core/identity/settings.rs::an_outside_issuer_never_gets_the_service_account_token",
];
const RETRY_MCP: &[&str] = &[
    "tests/policy_resilience.rs::a_503_is_retried_when_retry_on_names_5xx",
    "tests/policy_resilience.rs::the_retry_budget_caps_attempts_during_an_outage",
];
const RETRY_A2A: &[&str] = &[
    "tests/a2a_policies.rs::failed_attempts_are_retried_as_retry_on_says_and_no_more",
    "src/core/policy/upstream.rs::retries_what_retry_on_names_within_the_deadline_and_records_every_attempt",
];
const BACKOFF: &[&str] = &[
    "src/core/policy/retry.rs::backoff_is_jittered_below_the_ceiling",
    "src/core/policy/upstream.rs::retries_what_retry_on_names_within_the_deadline_and_records_every_attempt",
];
const PER_TRY: &[&str] = &[
    "tests/policy_resilience.rs::a_retry_never_outlives_the_request_timeout",
    "src/core/policy/upstream.rs::a_slow_attempt_is_cut_by_per_try_timeout_and_the_last_by_the_deadline",
];
const RETRY_ON_UNIT: &[&str] =
    &["src/core/policy/retry.rs::retries_only_what_retry_on_names_and_only_up_to_attempts"];
const MCP_AUTHZ_ON_A2A: &str =
    "{type: mcp-authz, mcp: {rules: [{principal: a, allowedTools: [x]}]}}";
const A2A_AUTHZ_ON_MCP: &str =
    "{type: a2a-authz, a2a: {rules: [{source: a, target: b, allowed: true}]}}";

/// The answer for a field path on a route kind; the longest listed prefix of the path decides.
const TABLE: &[(&str, Kind, Use)] = &[
    // jwt-authn: the connection stage, one code path for both kinds of route.
    ("jwt", Mcp, Enforced(AUTHN)),
    ("jwt", A2a, Enforced(AUTHN)),
    (
        "jwt.claimToHeaders",
        Mcp,
        Enforced(&[
            "tests/policy_e2e/claim_headers.rs::claim_to_headers_overrides_a_forged_identity_header",
        ]),
    ),
    (
        "jwt.claimToHeaders",
        A2a,
        Enforced(&[
            "tests/a2a_policies.rs::claim_headers_reach_the_agent_and_the_callers_token_does_not",
        ]),
    ),
    (
        "jwt.leeway",
        Mcp,
        Enforced(&["tests/identity_jwt.rs::time_audience_and_issuer_failures_are_exact"]),
    ),
    (
        "jwt.leeway",
        A2a,
        Enforced(&["tests/identity_jwt.rs::time_audience_and_issuer_failures_are_exact"]),
    ),
    ("jwt.mode", Mcp, Enforced(KUBE)),
    ("jwt.mode", A2a, Enforced(KUBE)),
    ("jwt.kubernetes", Mcp, Enforced(KUBE)),
    ("jwt.kubernetes", A2a, Enforced(KUBE)),
    ("jwt.serviceAccountTokenPath", Mcp, Enforced(KUBE)),
    ("jwt.serviceAccountTokenPath", A2a, Enforced(KUBE)),
    ("jwt.caPath", Mcp, Enforced(KUBE)),
    ("jwt.caPath", A2a, Enforced(KUBE)),
    ("jwt.apiServer", Mcp, Enforced(KUBE)),
    ("jwt.apiServer", A2a, Enforced(KUBE)),
    (
        "jwt.jwksRefreshInterval",
        Mcp,
        Enforced(&["tests/identity_jwt.rs::a_failing_issuer_keeps_the_last_good_keys"]),
    ),
    (
        "jwt.jwksRefreshInterval",
        A2a,
        Enforced(&["tests/identity_jwt.rs::a_failing_issuer_keeps_the_last_good_keys"]),
    ),
    (
        "jwt.jwksMinRefreshInterval",
        Mcp,
        Enforced(&[
            "tests/identity_jwt.rs::rotation_is_learnt_on_an_unknown_kid_at_a_limited_rate",
        ]),
    ),
    (
        "jwt.jwksMinRefreshInterval",
        A2a,
        Enforced(&[
            "tests/identity_jwt.rs::rotation_is_learnt_on_an_unknown_kid_at_a_limited_rate",
        ]),
    ),
    // mcp-authz: tools, prompts and resources exist on MCP routes only.
    (
        "mcp",
        Mcp,
        Enforced(&[
            "tests/policy_e2e/guide_tools.rs::guide_other_principal_sees_nothing_and_a_denial_looks_like_an_unknown_tool",
            "src/core/policy/authz.rs::exact_rules_win_and_unknown_principals_get_nothing",
        ]),
    ),
    (
        "mcp.rules[].rateLimit",
        Mcp,
        Enforced(&["src/core/policy/rate_limit.rs::picks_the_limits_that_apply"]),
    ),
    ("mcp", A2a, Reported(MCP_AUTHZ_ON_A2A)),
    // a2a-authz: agents exist on A2A routes only.
    (
        "a2a",
        A2a,
        Enforced(&[
            "tests/a2a_relay.rs::v03_agent_plain_v1_agent_authz_and_the_guides_shorthand",
            "tests/policy_e2e/guide_agents.rs::guide_agent_to_agent_flow_with_its_two_principals",
        ]),
    ),
    ("a2a", Mcp, Reported(A2A_AUTHZ_ON_MCP)),
    // rate-limit: the call stage, for tools and agents.
    (
        "rateLimit",
        Mcp,
        Enforced(&[
            "tests/policy_e2e/guide_tools.rs::guide_execute_code_is_limited_at_ten_per_minute",
            "src/core/policy/rate_limit.rs::picks_the_limits_that_apply",
        ]),
    ),
    (
        "rateLimit",
        A2a,
        Enforced(&[
            "tests/a2a_policies.rs::rate_limits_and_the_body_limit_apply_to_agent_calls",
            "src/core/policy/tests.rs::a_denied_call_spends_no_rate_limit_budget",
            "src/core/policy/rate_limit.rs::picks_the_limits_that_apply",
        ]),
    ),
    (
        "rateLimit.descriptors[].key=agent",
        Mcp,
        Reported(
            "{type: rate-limit, rateLimit: {descriptors: [{key: agent, value: x, rateLimit: {requestsPerMinute: 1}}]}}",
        ),
    ),
    (
        "rateLimit.descriptors[].key=tool-name",
        A2a,
        Reported(
            "{type: rate-limit, rateLimit: {descriptors: [{key: tool-name, value: x, rateLimit: {requestsPerMinute: 1}}]}}",
        ),
    ),
    // timeout: the upstream stage.
    (
        "timeout",
        Mcp,
        Enforced(&["tests/policy_resilience.rs::a_retry_never_outlives_the_request_timeout"]),
    ),
    (
        "timeout",
        A2a,
        Enforced(&[
            "tests/a2a_policies.rs::the_request_timeout_ends_a_call_the_agent_does_not_answer",
        ]),
    ),
    (
        "timeout.request",
        Mcp,
        Enforced(&["tests/policy_resilience.rs::a_retry_never_outlives_the_request_timeout"]),
    ),
    (
        "timeout.request",
        A2a,
        Enforced(&[
            "tests/a2a_policies.rs::the_request_timeout_ends_a_call_the_agent_does_not_answer",
        ]),
    ),
    (
        "timeout.idle",
        Mcp,
        Enforced(&[
            "tests/mcp_idle.rs::a_quiet_stream_is_ended_with_an_error_and_a_quiet_notification_stream_closed",
        ]),
    ),
    (
        "timeout.idle",
        A2a,
        Enforced(&["tests/a2a_policies.rs::timeout_idle_ends_an_agent_stream_that_goes_quiet"]),
    ),
    // retry: the upstream stage, one loop for both kinds.
    ("retry", Mcp, Enforced(RETRY_MCP)),
    ("retry", A2a, Enforced(RETRY_A2A)),
    ("retry.perTryTimeout", Mcp, Enforced(PER_TRY)),
    ("retry.perTryTimeout", A2a, Enforced(PER_TRY)),
    ("retry.backoff", Mcp, Enforced(BACKOFF)),
    ("retry.backoff", A2a, Enforced(BACKOFF)),
    (
        "retry.retryOn=reset",
        Mcp,
        Enforced(&[
            "tests/policy_resilience.rs::a_dropped_connection_is_retried_when_retry_on_names_reset",
        ]),
    ),
    (
        "retry.retryOn=connect-failure",
        Mcp,
        Enforced(&[
            "tests/policy_resilience.rs::a_refused_connection_is_retried_when_retry_on_names_connect_failure",
        ]),
    ),
    ("retry.retryOn=gateway-error", Mcp, Enforced(RETRY_ON_UNIT)),
    ("retry.retryOn=gateway-error", A2a, Enforced(RETRY_ON_UNIT)),
    ("retry.retryOn=retriable-4xx", Mcp, Enforced(RETRY_ON_UNIT)),
    ("retry.retryOn=retriable-4xx", A2a, Enforced(RETRY_ON_UNIT)),
    (
        "retry.retryOn=refused-stream",
        Mcp,
        Reported("{type: retry, retry: {attempts: 2, retryOn: [refused-stream]}}"),
    ),
    (
        "retry.retryOn=refused-stream",
        A2a,
        Reported("{type: retry, retry: {attempts: 2, retryOn: [refused-stream]}}"),
    ),
];

/// Every settings field of every policy type, as `settings.path[]` and `settings.path=value` for enums.
fn policy_fields(schema: &Value) -> BTreeSet<String> {
    fn walk(defs: &Value, node: &Value, path: &str, out: &mut BTreeSet<String>) {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let def = &defs[r.trim_start_matches("#/$defs/")];
            return walk(defs, def, path, out);
        }
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                let child_path = format!("{path}.{name}");
                out.insert(child_path.clone());
                walk(defs, child, &child_path, out);
            }
        }
        if let Some(items) = node.get("items") {
            walk(defs, items, &format!("{path}[]"), out);
        }
        for value in node
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.insert(format!("{path}={}", value.as_str().unwrap()));
        }
    }
    let defs = &schema["$defs"];
    let mut out = BTreeSet::new();
    for (settings, node) in defs["Policy"]["properties"].as_object().unwrap() {
        if settings != "type" {
            out.insert(settings.clone());
            walk(defs, node, settings, &mut out);
        }
    }
    out
}

fn answer(path: &str, kind: Kind) -> Option<&'static Use> {
    TABLE
        .iter()
        .filter(|(prefix, k, _)| {
            *k == kind
                && (path == *prefix
                    || path.starts_with(&format!("{prefix}."))
                    || path.starts_with(&format!("{prefix}["))
                    || path.starts_with(&format!("{prefix}=")))
        })
        .max_by_key(|(prefix, ..)| prefix.len())
        .map(|(_, _, u)| u)
}

fn test_exists(reference: &str) -> bool {
    let (file, function) = reference.split_once("::").unwrap();
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    text.contains(&format!("fn {function}("))
}

/// The diagnostics of a config with `policy` on a route of `kind`, whose one line holding it is line 8.
fn diagnostics(policy: &str, kind: Kind) -> Vec<config::Diagnostic> {
    let backend = match kind {
        Mcp => "{name: s, type: sample}",
        A2a => "{name: a, address: 'http://127.0.0.1:9'}",
    };
    let text = format!(
        "binds:\n- port: 8080\n  listeners:\n  - name: l\n    routes:\n    - name: r\n      match: {{path: {{prefix: /r}}}}\n      policies: [{policy}]\n      backends: [{backend}]\n"
    );
    match config::load_str(&text, "t.yaml") {
        Ok(loaded) => loaded.diagnostics,
        Err(diagnostics) => diagnostics,
    }
}

#[test]
fn every_policy_field_is_enforced_or_reported_on_every_route_kind() {
    let schema = config::schema::json_schema();
    let fields = policy_fields(&schema);
    assert!(fields.len() > 40, "the walk found {} fields", fields.len());
    let mut problems = Vec::new();
    for field in &fields {
        for kind in [Mcp, A2a] {
            match answer(field, kind) {
                None => problems.push(format!(
                    "{field} on {kind:?} routes: neither enforced nor reported"
                )),
                Some(Enforced(tests)) => {
                    for t in tests.iter().filter(|t| !test_exists(t)) {
                        problems.push(format!("{field} on {kind:?} routes: no test {t}"));
                    }
                }
                Some(Reported(policy)) => {
                    let found = diagnostics(policy, kind);
                    let reported = found.iter().any(|d| {
                        d.severity != Severity::Note && d.to_string().starts_with("t.yaml:8:")
                    });
                    if !reported {
                        problems.push(format!(
                            "{field} on {kind:?} routes is said to be reported, but {policy} gives {:?}",
                            found.iter().map(|d| d.to_string()).collect::<Vec<_>>()
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_authz_policy_that_cannot_apply_is_an_error_not_a_warning() {
    for (policy, kind) in [(MCP_AUTHZ_ON_A2A, A2a), (A2A_AUTHZ_ON_MCP, Mcp)] {
        let found = diagnostics(policy, kind);
        assert!(
            found.iter().any(|d| d.severity == Severity::Error),
            "{policy} on {kind:?}: {found:?}"
        );
    }
}
