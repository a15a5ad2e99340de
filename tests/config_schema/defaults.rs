//! Defaults: what the schema states is what the decoder fills in.

use agent_gateway::config::{self, schema};
use serde_json::{Value, json};

use crate::base::BASE;
use crate::validate::check_gateway_text;

#[test]
fn stated_defaults_are_the_decoders() {
    let s = schema::json_schema();
    let default = |def: &str, field: &str| -> Value {
        s["$defs"][def]["properties"][field]["default"].clone()
    };
    let text = BASE
        .replace("mcp: {endpoint: /mcp}", "mcp: {}")
        .replace("match: {path: {prefix: /mcp}}", "match: {path: {prefix: /mcp}}\n            mcp: {}")
        .replace(", failMode: failOpen", "")
        .replace(
            "security: {sessionTtl: 1h}",
            "security: {mtls: {certificateAuthority: a, serverCert: b, serverKey: c}}\n\
             observability: {prometheus: {}, mcp: {}, opentelemetry: {endpoint: 'http://c:4317', tracing: {}}}\nlimits: {}",
        )
        .replace(
            "              - type: retry",
            "              - type: rate-limit\n                rateLimit: {descriptors: [{key: principal, value: '*', rateLimit: {requestsPerMinute: 1}}]}\n              - type: jwt-authn\n                jwt: {issuer: i, jwksUri: 'https://k/jwks'}\n              - type: retry",
        );
    check_gateway_text(&text, "defaults");
    let c = config::load_str(&text, "defaults").unwrap().config;
    let bind = &c.binds[0];
    assert_eq!(default("Bind", "address"), json!(bind.address));
    let route = &bind.listeners[0].routes[0];
    assert_eq!(default("RouteMcp", "outputSchema"), json!("report"),);
    assert_eq!(route.mcp.output_schema, config::OutputSchemaMode::Report);
    let config::BackendKind::McpHttp { mcp, .. } = &route.backends[0].kind else {
        panic!()
    };
    assert_eq!(default("BackendMcp", "protocol"), json!("http"));
    assert_eq!(mcp.protocol, config::McpTransport::StreamableHttp);
    assert_eq!(
        default("BackendMcp", "forwardAuthorization"),
        json!(mcp.forward_authorization)
    );
    for p in &route.policies {
        match &p.kind {
            config::PolicyKind::RateLimit(r) => assert_eq!(
                default("RateLimitDescriptor", "perPrincipal"),
                json!(r.descriptors[0].per_principal)
            ),
            config::PolicyKind::JwtAuthn(j) => {
                assert_eq!(default("JwtAuthn", "mode"), json!("jwks"));
                assert_eq!(j.mode, config::JwtMode::Jwks);
            }
            _ => {}
        }
    }
    let obs = c.observability.as_ref().unwrap();
    let prom = obs.prometheus.as_ref().unwrap();
    assert_eq!(default("Prometheus", "enabled"), json!(prom.enabled));
    assert_eq!(default("Prometheus", "port"), json!(prom.port));
    assert_eq!(default("Prometheus", "path"), json!(prom.path));
    assert_eq!(
        default("McpObservability", "enabled"),
        json!(obs.mcp.as_ref().unwrap().enabled)
    );
    let otel = obs.opentelemetry.as_ref().unwrap();
    assert_eq!(default("OpenTelemetry", "enabled"), json!(otel.enabled));
    assert_eq!(default("OpenTelemetry", "protocol"), json!(otel.protocol));
    let tracing = otel.tracing.as_ref().unwrap();
    assert_eq!(default("Tracing", "enabled"), json!(tracing.enabled));
    assert_eq!(
        default("Tracing", "samplingRate"),
        json!(tracing.sampling_rate)
    );
    let mtls = c.security.mtls.as_ref().unwrap();
    assert_eq!(default("Mtls", "enabled"), json!(mtls.enabled));
    assert_eq!(default("Mtls", "mode"), json!(mtls.mode));
    assert_eq!(
        default("Limits", "maxBodyBytes"),
        json!(c.limits.max_body_bytes)
    );
    assert_eq!(
        default("Limits", "maxJsonDepth"),
        json!(c.limits.max_json_depth)
    );
    assert_eq!(default("Shutdown", "gracePeriod"), json!("25s"));
    assert_eq!(c.shutdown.grace_period, std::time::Duration::from_secs(25));
    assert_eq!(default("RateLimitStore", "failMode"), json!("failOpen"));
    assert_eq!(
        c.rate_limit_store.as_ref().unwrap().fail_mode,
        config::RateLimitFailMode::Open
    );
}
