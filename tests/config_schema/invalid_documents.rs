//! Invalid documents: the schema and the decoder agree on what is wrong and where; a ConfigMap wrapper is checked
//! as such.

use agent_gateway::config::{self, schema};
use serde_json::{Value, json};

use crate::base::BASE;
use crate::validate::{compile, schema_errors};
use crate::yaml::parse_one;

const R: &str = "binds[0].listeners[0].routes[0]";

#[test]
fn invalid_documents_fail_the_schema_and_the_decoder_at_the_same_place() {
    // (what, replace, with, the path both must name)
    let cases: Vec<(&str, &str, &str, String)> = vec![
        (
            "unknown field",
            "          - name: r\n",
            "          - name: r\n            colour: red\n",
            format!("{R}.colour"),
        ),
        (
            "unknown top-level field",
            "rateLimitStore:",
            "rateLimitStores:",
            "rateLimitStores".into(),
        ),
        (
            "wrong type: string port",
            "port: 8080",
            "port: \"8080\"",
            "binds[0].port".into(),
        ),
        (
            "port out of range",
            "port: 8080",
            "port: 70000",
            "binds[0].port".into(),
        ),
        (
            "wrong type: bool as string",
            "security: {sessionTtl: 1h}",
            "security: {mtls: {enabled: \"yes\", certificateAuthority: a, serverCert: b, serverKey: c}}",
            "security.mtls.enabled".into(),
        ),
        (
            "wrong type: list for a mapping",
            "match: {path: {prefix: /mcp}}",
            "match: [/mcp]",
            format!("{R}.match"),
        ),
        (
            "bad enum: backend type",
            "type: mcp-http",
            "type: mcp-htp",
            format!("{R}.backends[0].type"),
        ),
        (
            "bad enum: policy type",
            "type: timeout",
            "type: time-out",
            format!("{R}.policies[0].type"),
        ),
        (
            "bad enum: retryOn",
            "retryOn: [5xx]",
            "retryOn: [5xx, conect-failure]",
            format!("{R}.policies[1].retry.retryOn[1]"),
        ),
        (
            "bad enum: failMode",
            "failMode: failOpen",
            "failMode: open",
            "rateLimitStore.failMode".into(),
        ),
        (
            "duration without unit",
            "request: 30s",
            "request: 30",
            format!("{R}.policies[0].timeout.request"),
        ),
        (
            "zero duration",
            "request: 30s",
            "request: 0s",
            format!("{R}.policies[0].timeout.request"),
        ),
        (
            "field of another backend type",
            "mcp: {endpoint: /mcp}",
            "mcp: {endpoint: /mcp, command: node}",
            format!("{R}.backends[0].mcp.command"),
        ),
        (
            "agentName on an MCP backend",
            "mcp: {endpoint: /mcp}",
            "agentName: x",
            format!("{R}.backends[0].agentName"),
        ),
        (
            "settings under another policy's field",
            "timeout: {request: 30s}",
            "retry: {attempts: 1}",
            format!("{R}.policies[0].retry"),
        ),
        (
            "missing required field",
            "                address: \"http://up:8000\"\n",
            "",
            format!("{R}.backends[0].address"),
        ),
        (
            "path prefix without a slash",
            "prefix: /mcp",
            "prefix: mcp",
            format!("{R}.match.path.prefix"),
        ),
        (
            "endpoint without a slash",
            "endpoint: /mcp",
            "endpoint: mcp",
            format!("{R}.backends[0].mcp.endpoint"),
        ),
        (
            "address not a URL",
            "\"http://up:8000\"",
            "up:8000",
            format!("{R}.backends[0].address"),
        ),
        (
            "both session key forms",
            "security: {sessionTtl: 1h}",
            "security: {sessionKey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, sessionKeyFile: /k}",
            "security.sessionKeyFile".into(),
        ),
        (
            "short session key",
            "security: {sessionTtl: 1h}",
            "security: {sessionKey: c2hvcnQ=}",
            "security.sessionKey".into(),
        ),
        (
            "rediss",
            "redis://r:6379",
            "rediss://r:6379",
            "rateLimitStore.redis".into(),
        ),
        (
            "attempts zero",
            "attempts: 2",
            "attempts: 0",
            format!("{R}.policies[1].retry.attempts"),
        ),
        (
            "bad header name",
            "mcp: {endpoint: /mcp}",
            "mcp: {headers: {'bad header': v}}",
            format!("{R}.backends[0].mcp.headers.bad header"),
        ),
        (
            "stdio without command",
            "type: mcp-http\n                address: \"http://up:8000\"\n                mcp: {endpoint: /mcp}",
            "type: mcp-stdio\n                mcp: {args: [x]}",
            format!("{R}.backends[0].mcp.command"),
        ),
        (
            "client certificate without its key",
            "mcp: {endpoint: /mcp}",
            "tls: {certFile: client.pem}",
            format!("{R}.backends[0].tls.keyFile"),
        ),
        (
            "mtls on without files",
            "security: {sessionTtl: 1h}",
            "security: {mtls: {mode: STRICT}}",
            "security.mtls.certificateAuthority".into(),
        ),
    ];
    let root_validator = compile(&schema::json_schema());
    let bare = compile(&schema::def_json_schema("GatewayConfig"));
    let mut problems = Vec::new();
    for (what, from, to, path) in &cases {
        assert!(BASE.contains(from), "{what}: the base has no {from:?}");
        let text = BASE.replacen(from, to, 1);
        let doc = parse_one(&text, what);
        let decoder: Vec<config::Diagnostic> = match config::load_str(&text, "t.yaml") {
            Ok(_) => {
                problems.push(format!("{what}: load_str accepted it"));
                continue;
            }
            Err(d) => d.into_iter().filter(|d| d.is_error()).collect(),
        };
        if root_validator.is_valid(&doc) {
            problems.push(format!("{what}: the schema accepted it"));
            continue;
        }
        let errors = schema_errors(&bare, &doc);
        if !decoder.iter().any(|d| d.location.path == *path) {
            let got: Vec<String> = decoder.iter().map(ToString::to_string).collect();
            problems.push(format!(
                "{what}: the decoder did not report {path}: {got:#?}"
            ));
        }
        // The schema names the field itself, or the mapping holding it (unknown and missing fields).
        let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
        if !errors.iter().any(|(p, _)| p == path || p == parent) {
            problems.push(format!(
                "{what}: the schema did not report {path}: {errors:#?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_configmap_wrapper_is_checked_as_such() {
    let v = compile(&schema::json_schema());
    let wrap = |kind: &str, data: Value| json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "c"}, "data": data});
    assert!(v.is_valid(&wrap(
        "ConfigMap",
        json!({"gateway.yaml": "binds: []", "other": "x"})
    )));
    for (what, doc) in [
        (
            "not a ConfigMap",
            wrap("Secret", json!({"gateway.yaml": "x"})),
        ),
        (
            "no gateway.yaml",
            wrap("ConfigMap", json!({"gateway.yml": "x"})),
        ),
        (
            "gateway.yaml not text",
            wrap("ConfigMap", json!({"gateway.yaml": {"binds": []}})),
        ),
    ] {
        assert!(!v.is_valid(&doc), "{what}: the schema accepted it");
        let text = serde_json::to_string(&doc).unwrap();
        assert!(
            config::load_str(&text, "t.yaml").is_err(),
            "{what}: load_str accepted it"
        );
    }
}
