//! The pipeline as one route's config builds it: stage order, and what an early stage spares later ones.

use std::sync::Arc;

use http::HeaderMap;
use serde_json::json;

use super::*;
use crate::config::load_str;
use crate::core::error::TargetKind;

fn route(policies: &str, backends: &str) -> config::GatewayConfig {
    let text = format!(
        "binds:\n- port: 8080\n  listeners:\n  - name: l\n    routes:\n    - name: r\n      match: {{path: {{prefix: /r}}}}\n      policies: {policies}\n      backends: {backends}\n"
    );
    load_str(&text, "t.yaml")
        .unwrap_or_else(|d| panic!("{d:?}"))
        .config
}

fn pipeline(config: &config::GatewayConfig, protocol: Protocol) -> Pipeline {
    let env = Env {
        limiter: Arc::new(Limiter::local()),
        security: &config.security,
        limits: &config.limits,
        loopback_bind: true,
    };
    Pipeline::build(&config.binds[0].listeners[0].routes[0], protocol, &env).unwrap()
}

const SAMPLE: &str = "[{name: s, type: sample}]";
const AGENT: &str = "[{name: a, address: http://127.0.0.1:9}]";

#[test]
fn stages_run_in_the_documented_order_on_both_route_kinds() {
    let mcp = route(
        "[{type: rate-limit, rateLimit: {descriptors: [{key: tool-name, value: '*', rateLimit: {requestsPerMinute: 1}}]}}, \
          {type: mcp-authz, mcp: {rules: [{principal: alice, allowedTools: ['*']}]}}]",
        SAMPLE,
    );
    assert_eq!(
        pipeline(&mcp, Protocol::Mcp).stage_names(),
        ["mcp-authz", "rate-limit", "inputSchema", "outputSchema"],
        "the order of the policies in the file does not matter"
    );
    let a2a = route(
        "[{type: rate-limit, rateLimit: {descriptors: [{key: principal, value: '*', rateLimit: {requestsPerMinute: 1}}]}}, \
          {type: a2a-authz, a2a: {rules: [{source: alice, target: '*', allowed: true}]}}]",
        AGENT,
    );
    assert_eq!(
        pipeline(&a2a, Protocol::A2a).stage_names(),
        ["a2a-authz", "rate-limit"]
    );
}

#[tokio::test]
async fn a_denied_call_spends_no_rate_limit_budget() {
    let config = route(
        "[{type: a2a-authz, a2a: {rules: [{source: alice, target: weather, allowed: true}]}}, \
          {type: rate-limit, rateLimit: {descriptors: [{key: principal, value: '*', rateLimit: {requestsPerMinute: 1}}]}}]",
        AGENT,
    );
    let p = pipeline(&config, Protocol::A2a);
    let call = |agent| {
        Call::new(Protocol::A2a, "message/send", Some("alice")).target(TargetKind::Agent, agent)
    };
    for _ in 0..3 {
        assert!(matches!(
            p.check(&call("planning")).await,
            Err(Error::Denied { .. })
        ));
    }
    p.check(&call("weather"))
        .await
        .expect("the budget is untouched");
    assert!(matches!(
        p.check(&call("weather")).await,
        Err(Error::RateLimited { .. })
    ));
}

#[tokio::test]
async fn the_origin_check_runs_before_authentication() {
    // jwt-authn against a JWKS nobody serves: were authentication tried first, this would be a 503.
    let config = route(
        "[{type: jwt-authn, jwt: {issuer: i, audiences: [agent-gateway], jwksUri: 'http://127.0.0.1:9/jwks'}}]",
        SAMPLE,
    );
    let p = pipeline(&config, Protocol::Mcp);
    let mut headers = HeaderMap::new();
    headers.insert("host", "evil.example".parse().unwrap());
    assert!(matches!(
        p.admit(&headers, None).await,
        Err(Error::Origin(_))
    ));
    headers.insert("host", "127.0.0.1:8080".parse().unwrap());
    assert!(matches!(
        p.admit(&headers, None).await,
        Err(Error::Unauthenticated { .. })
    ));
}

#[tokio::test]
async fn input_schema_refuses_before_the_upstream_and_output_schema_after() {
    let config = route("[]", SAMPLE);
    let p = pipeline(&config, Protocol::Mcp);
    let schema =
        jsonschema::validator_for(&json!({"type": "object", "required": ["city"]})).unwrap();
    let args = json!({});
    let call = Call::new(Protocol::Mcp, "tools/call", None)
        .target(TargetKind::Tool, "get_weather_data")
        .arguments(&args)
        .schemas(&schema, Some(&schema));
    assert!(matches!(p.check(&call).await, Err(Error::Schema { .. })));
    // Reported, not enforced, by default.
    assert!(
        p.check_result(&call, &json!({"structuredContent": {}}))
            .is_ok()
    );
}
