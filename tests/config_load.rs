//! Loading and validating config files through the public API, as `agent-gateway validate` and startup do.

use std::path::Path;
use std::time::Duration;

use agent_gateway::config::*;

const EKS: &str = include_str!("../examples/eks/config.yaml");
const QUICKSTART: &str = include_str!("../examples/quickstart.yaml");
const BAD: &str = include_str!("fixtures/config/bad.yaml");
const NO_GATEWAY_YAML: &str = include_str!("fixtures/config/configmap-without-gateway-yaml.yaml");

fn lines(diags: &[Diagnostic]) -> Vec<String> {
    diags.iter().map(|d| d.to_string()).collect()
}

/// The diagnostics of a file that must be rejected.
fn rejected(text: &str) -> Vec<String> {
    match load_str(text, "t.yaml") {
        Ok(loaded) => panic!("accepted, with {:?}", lines(&loaded.diagnostics)),
        Err(diags) => {
            assert!(diags.iter().any(Diagnostic::is_error));
            lines(&diags)
        }
    }
}

/// A bare config with one bind and one route whose `route` part is given (indented for its place).
fn one_route(route: &str) -> String {
    format!("binds:\n  - port: 8080\n    listeners:\n      - name: l\n        routes:\n{route}")
}

#[test]
fn eks_example_maps_to_the_right_types() {
    let loaded = load_str(EKS, "examples/eks/config.yaml").expect("the guide's config is valid");
    let c = &loaded.config;
    assert_eq!(c.binds.len(), 1);
    let bind = &c.binds[0];
    assert_eq!((bind.port, bind.address.as_str()), (8080, "0.0.0.0"));
    let names: Vec<&str> = bind.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["mcp-listener", "a2a-listener"]);

    let mcp = &bind.listeners[0].routes[0];
    assert_eq!(
        (mcp.name.as_str(), mcp.path_prefix.as_str()),
        ("agent-to-mcp-tools", "/mcp")
    );
    let types: Vec<&str> = mcp.policies.iter().map(|p| p.kind.type_name()).collect();
    assert_eq!(
        types,
        ["jwt-authn", "mcp-authz", "rate-limit", "timeout", "retry"]
    );
    let PolicyKind::JwtAuthn(jwt) = &mcp.policies[0].kind else {
        panic!()
    };
    assert_eq!(jwt.issuer, "https://kubernetes.default.svc");
    assert_eq!(jwt.audiences, ["agent-gateway"]);
    assert_eq!(
        jwt.jwks_uri,
        "https://kubernetes.default.svc/openid/v1/jwks"
    );
    assert_eq!(
        (
            jwt.claim_to_headers[0].claim.as_str(),
            jwt.claim_to_headers[0].header.as_str()
        ),
        ("sub", "x-agent-identity")
    );
    let PolicyKind::McpAuthz(authz) = &mcp.policies[1].kind else {
        panic!()
    };
    assert_eq!(authz.rules.len(), 1);
    assert_eq!(
        authz.rules[0].principal,
        "system:serviceaccount:agent-core-infra:ekspoc-v6-kagent-agent-sa"
    );
    assert_eq!(
        authz.rules[0].allowed_tools,
        [
            "get_weather_data",
            "generate_analysis_code",
            "execute_code",
            "store_user_preferences",
            "get_activity_preferences",
            "store_activity_plan"
        ]
    );
    assert_eq!(
        authz.rules[0].rate_limit.map(|r| r.requests_per_minute),
        Some(100)
    );
    let PolicyKind::RateLimit(rl) = &mcp.policies[2].kind else {
        panic!()
    };
    let d = &rl.descriptors[0];
    assert_eq!(
        (
            d.key.as_str(),
            d.value.as_str(),
            d.rate_limit.requests_per_minute
        ),
        ("tool-name", "execute_code", 10)
    );
    let PolicyKind::Timeout(t) = &mcp.policies[3].kind else {
        panic!()
    };
    assert_eq!(
        (t.request, t.idle),
        (
            Some(Duration::from_secs(300)),
            Some(Duration::from_secs(60))
        )
    );
    let PolicyKind::Retry(r) = &mcp.policies[4].kind else {
        panic!()
    };
    assert_eq!(
        (r.attempts, r.per_try_timeout),
        (3, Some(Duration::from_secs(30)))
    );
    assert_eq!(r.retry_on, ["5xx", "reset", "connect-failure"]);
    let b = r.backoff.as_ref().unwrap();
    assert_eq!(
        (b.base_interval, b.max_interval),
        (Duration::from_secs(1), Duration::from_secs(10))
    );

    assert_eq!(mcp.backends.len(), 1);
    assert_eq!(mcp.backends[0].name, "agent-core-mcp-backend");
    let BackendKind::McpHttp { address, mcp: m } = &mcp.backends[0].kind else {
        panic!("{:?}", mcp.backends[0].kind)
    };
    assert_eq!(
        address,
        "http://agent-core-mcp-service.agent-core-infra.svc.cluster.local:8000"
    );
    assert_eq!(
        (m.endpoint.as_deref(), &m.protocol, m.timeout),
        (
            Some("/mcp"),
            &McpTransport::StreamableHttp,
            Some(Duration::from_secs(300))
        )
    );
    assert!(!m.forward_authorization);

    let a2a = &bind.listeners[1].routes[0];
    assert_eq!(a2a.path_prefix, "/agents");
    let PolicyKind::A2aAuthz(rules) = &a2a.policies[1].kind else {
        panic!()
    };
    assert_eq!(
        (rules.rules[1].target.as_str(), rules.rules[1].allowed),
        ("*", true)
    );
    let PolicyKind::Timeout(t) = &a2a.policies[2].kind else {
        panic!()
    };
    assert_eq!((t.request, t.idle), (Some(Duration::from_secs(60)), None));
    let agents: Vec<(&str, &str)> = a2a
        .backends
        .iter()
        .map(|b| match &b.kind {
            BackendKind::A2a {
                address,
                agent_name: None,
            } => (b.name.as_str(), address.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        agents,
        [
            (
                "weather-agent-backend",
                "http://weather-agent-service.agent-core-infra.svc.cluster.local:8080"
            ),
            (
                "planning-agent-backend",
                "http://planning-agent-service.agent-core-infra.svc.cluster.local:8080"
            ),
        ]
    );

    let obs = c.observability.as_ref().unwrap();
    let otel = obs.opentelemetry.as_ref().unwrap();
    assert_eq!(
        (otel.enabled, otel.endpoint.as_str(), otel.protocol.as_str()),
        (
            true,
            "http://jaeger-collector.observability.svc.cluster.local:4317",
            "grpc"
        )
    );
    let tracing = otel.tracing.as_ref().unwrap();
    assert_eq!(tracing.sampling_rate, 1.0);
    assert_eq!(
        tracing.attributes[0],
        ("agent.identity".to_string(), "${jwt.sub}".to_string())
    );
    assert_eq!(
        tracing.attributes[2],
        ("gateway.version".to_string(), "0.11".to_string())
    );
    let prom = obs.prometheus.as_ref().unwrap();
    assert_eq!(
        (prom.port, prom.path.as_str(), prom.metrics.len()),
        (9090, "/metrics", 6)
    );
    assert_eq!(
        obs.mcp.as_ref().unwrap().metrics[3],
        "mcp_discovery_requests"
    );
    assert!(c.security.mtls.is_none());
    assert_eq!(c.limits.max_body_bytes, 4 * 1024 * 1024);
}

#[test]
fn eks_example_is_fully_active_and_notes_point_into_the_outer_file() {
    let loaded = load_str(EKS, "examples/eks/config.yaml").unwrap();
    assert!(
        loaded.diagnostics.is_empty(),
        "everything the guide configures is enforced: {:?}",
        loaded.diagnostics
    );
    // What this build does not do is still reported, at the outer file's position of the field.
    let text = EKS.replace("protocol: grpc", "protocol: http/protobuf");
    let loaded = load_str(&text, "examples/eks/config.yaml").unwrap();
    assert_eq!(loaded.diagnostics.len(), 1);
    let d = &loaded.diagnostics[0];
    assert_eq!(d.severity, Severity::Note);
    assert_eq!(
        (d.location.line, d.location.path.as_str()),
        (133, "observability.opentelemetry.protocol")
    );
    assert!(
        d.message
            .starts_with("accepted but not active in this build: OTLP over http/protobuf"),
        "{d}"
    );
    let outer: Vec<&str> = text.lines().collect();
    let at = |d: &Diagnostic| &outer[d.location.line - 1][d.location.column - 1..];
    assert_eq!(at(d), "http/protobuf");
}

#[test]
fn an_error_inside_the_configmap_names_the_outer_line_and_column() {
    let text = EKS.replace("request: 60s", "request: 60");
    let line = text
        .lines()
        .position(|l| l.ends_with("request: 60"))
        .unwrap()
        + 1;
    let column = text.lines().nth(line - 1).unwrap().find("60").unwrap() + 1;
    let errors = load_str(&text, "t.yaml")
        .unwrap_err()
        .into_iter()
        .filter(Diagnostic::is_error);
    assert_eq!(
        lines(&errors.collect::<Vec<_>>()),
        [format!(
            "t.yaml:{line}:{column}: binds[0].listeners[1].routes[0].policies[2].timeout.request: expected a duration with a unit \
             (e.g. 300s, 500ms, 1m, 1h), found a number (60); write \"60s\" for seconds"
        )]
    );
    assert_eq!((line, column), (118, 32));
}

#[test]
fn a_yaml_syntax_error_inside_the_configmap_is_placed_in_the_outer_file() {
    let inner = "binds:\n  - port: [8080\n    listeners: []\n";
    let bare = load_str(inner, "t.yaml").unwrap_err();
    let (l, c) = (bare[0].location.line, bare[0].location.column);
    let indented: String = inner.lines().map(|l| format!("    {l}\n")).collect();
    let wrapped = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gw\ndata:\n  gateway.yaml: |\n{indented}"
    );
    let diags = load_str(&wrapped, "cm.yaml").unwrap_err();
    assert_eq!(diags.len(), 1);
    assert_eq!(
        (diags[0].location.line, diags[0].location.column),
        (l + 6, c + 4)
    );
    assert_eq!(diags[0].message, bare[0].message);
}

#[test]
fn quickstart_loads_clean() {
    let loaded = load_str(QUICKSTART, "examples/quickstart.yaml").unwrap();
    assert!(
        loaded.diagnostics.is_empty(),
        "{:?}",
        lines(&loaded.diagnostics)
    );
    let bind = &loaded.config.binds[0];
    assert_eq!((bind.port, bind.address.as_str()), (8080, "127.0.0.1"));
    let route = &bind.listeners[0].routes[0];
    assert_eq!(route.path_prefix, "/mcp");
    assert_eq!(route.backends[0].name, "weather-tools");
    assert!(matches!(route.backends[0].kind, BackendKind::Sample { .. }));
}

#[test]
fn every_mistake_of_a_bare_file_is_reported_with_its_position() {
    let r = "binds[0].listeners[0].routes[0]";
    assert_eq!(
        rejected(BAD),
        [
            format!("t.yaml:10:25: {r}.match.path.prefix: path prefix must start with \"/\", found \"mcp\"; write \"/mcp\""),
            format!("t.yaml:12:23: {r}.policies[0].type: unknown policy type \"mcp-authx\"; did you mean \"mcp-authz\"?"),
            format!(
                "t.yaml:17:28: {r}.policies[1].timeout.request: expected a duration with a unit (e.g. 300s, 500ms, 1m, 1h), \
                 found a number (300); write \"300s\" for seconds"
            ),
            format!(
                "t.yaml:18:25: {r}.policies[1].timeout.idle: invalid duration \"5 minutes\": expected a number followed by \
                 ms, s, m or h (e.g. 300s, 1.5s, 500ms, 1m, 1h)"
            ),
            format!("t.yaml:22:26: {r}.backends[0].address: \"weather:8000\" is not a URL starting with http:// or https://"),
            format!(
                "t.yaml:25:19: {r}.backends[0].mcp.allowedTool: unknown field \"allowedTool\"; expected one of: endpoint, \
                 protocol, timeout, prefix, forwardAuthorization, headers, command, args, env"
            ),
            format!("t.yaml:26:23: {r}.backends[1].name: backend name \"weather\" is already used by {r}.backends[0] (line 20)"),
            "t.yaml:28:11: binds[1].port: port 8080 is already used by binds[0] (line 3)".to_string(),
            "t.yaml:29:5: binds[1].adress: unknown field \"adress\"; did you mean \"address\"?".to_string(),
            "t.yaml:37:23: binds[1].listeners[0].routes[0].backends: a route needs at least one backend".to_string(),
        ]
    );
}

#[test]
fn misspelt_field_and_policy_type_get_a_suggestion() {
    let text = one_route(
        "          - name: r
            match: {path: {prefix: /mcp}}
            policies:
              - type: mcp-authz
                mcp:
                  rules:
                    - principal: alice
                      allowedTool: [get_weather]
              - type: jwt-auth
                jwt: {issuer: x, jwksUri: https://x/jwks}
            backends:
              - {name: s, type: sample}
",
    );
    assert_eq!(
        rejected(&text),
        [
            "t.yaml:13:23: binds[0].listeners[0].routes[0].policies[0].mcp.rules[0].allowedTool: unknown field \"allowedTool\"; \
             did you mean \"allowedTools\"?",
            "t.yaml:14:23: binds[0].listeners[0].routes[0].policies[1].type: unknown policy type \"jwt-auth\"; did you mean \"jwt-authn\"?",
        ]
    );
}

#[test]
fn yaml_syntax_error_has_its_position() {
    // `listeners` is indented like the `-` of its bind, so it starts nothing the parser can accept.
    assert_eq!(
        rejected("binds:\n  - port: 8080\n  listeners: []\n"),
        [
            "t.yaml:3:3: YAML syntax error: while parsing a block collection, did not find expected '-' indicator"
        ]
    );
    assert_eq!(
        rejected("binds:\n  - port: \"8080\n"),
        [
            "t.yaml:2:11: YAML syntax error: while scanning a quoted scalar, found unexpected end of stream"
        ]
    );
}

#[test]
fn configmap_without_gateway_yaml_says_which_keys_it_has() {
    assert_eq!(
        rejected(NO_GATEWAY_YAML),
        [
            "t.yaml:7:3: data: this ConfigMap has no \"gateway.yaml\" key; its data keys are: \"config.yaml\", \"gateway.yml\"; \
          rename \"gateway.yml\" to \"gateway.yaml\"?"
        ]
    );
    assert_eq!(
        rejected("apiVersion: v1\nkind: Deployment\n"),
        [
            "t.yaml:2:7: kind: kind \"Deployment\" is not supported; expected a ConfigMap holding the config under \
          data.gateway.yaml, or the bare config (starting with `binds:`)"
        ]
    );
}

#[test]
fn duplicate_ports_names_and_prefixes() {
    let text = "binds:
  - port: 9000
    listeners:
      - name: a
        routes:
          - {name: r, match: {path: {prefix: /mcp}}, backends: [{name: s, type: sample}]}
          - {name: r, match: {path: {prefix: /other}}, backends: [{name: s, type: sample}]}
      - name: a
        routes:
          - {name: q, match: {path: {prefix: /mcp}}, backends: [{name: s, type: sample}]}
  - port: 9000
    listeners: []
";
    assert_eq!(
        rejected(text),
        [
            "t.yaml:7:20: binds[0].listeners[0].routes[1].name: route name \"r\" is already used by binds[0].listeners[0].routes[0] (line 6)",
            "t.yaml:8:15: binds[0].listeners[1].name: listener name \"a\" is already used by binds[0].listeners[0] (line 4)",
            "t.yaml:10:46: binds[0].listeners[1].routes[0].match.path.prefix: path prefix \"/mcp\" is already routed by \
             binds[0].listeners[0].routes[0] (line 6) on the same port",
            "t.yaml:11:11: binds[1].port: port 9000 is already used by binds[0] (line 2)",
            "t.yaml:12:16: binds[1].listeners: no listeners: this port serves nothing",
        ]
    );
}

#[test]
fn bad_durations_and_numbers_for_durations() {
    for (value, message) in [
        (
            "5 minutes",
            "invalid duration \"5 minutes\": expected a number followed by ms, s, m or h (e.g. 300s, 1.5s, 500ms, 1m, 1h)",
        ),
        (
            "1d",
            "invalid duration \"1d\": expected a number followed by ms, s, m or h (e.g. 300s, 1.5s, 500ms, 1m, 1h)",
        ),
        (
            "\"30\"",
            "invalid duration \"30\": missing unit; write \"30s\" for seconds",
        ),
        ("0s", "must be longer than zero"),
        (
            "1.5",
            "expected a duration with a unit (e.g. 300s, 500ms, 1m, 1h), found a number (1.5); write \"1.5s\" for seconds",
        ),
        (
            "[1s]",
            "expected a duration (e.g. 300s, 500ms, 1m, 1h), found a list",
        ),
    ] {
        let text = one_route(&format!(
            "          - name: r\n            match: {{path: {{prefix: /mcp}}}}\n            backends:\n              - name: s\n                type: sample\n                mcp: {{timeout: {value}}}\n"
        ));
        assert_eq!(
            rejected(&text),
            [format!(
                "t.yaml:11:32: binds[0].listeners[0].routes[0].backends[0].mcp.timeout: {message}"
            )]
        );
    }
    let ok = one_route(
        "          - name: r\n            match: {path: {prefix: /mcp}}\n            mcp: {refreshInterval: 1.5s}\n            backends: [{name: s, type: sample, mcp: {timeout: 500ms}}]\n",
    );
    let route = &load_str(&ok, "t.yaml").unwrap().config.binds[0].listeners[0].routes[0];
    assert_eq!(
        route.mcp.refresh_interval,
        Some(Duration::from_millis(1500))
    );
    let BackendKind::Sample { mcp } = &route.backends[0].kind else {
        panic!()
    };
    assert_eq!(mcp.timeout, Some(Duration::from_millis(500)));
}

#[test]
fn missing_fields_and_wrong_types() {
    assert_eq!(
        rejected(
            "binds:\n  - address: 127.0.0.1\n    listeners:\n      - name: 7\n        routes: {}\n"
        ),
        [
            "t.yaml:2:5: binds[0].port: missing required field \"port\"",
            "t.yaml:4:15: binds[0].listeners[0].name: expected a string, found a number (7); quote it if it is meant as text: \"7\"",
            "t.yaml:5:17: binds[0].listeners[0].routes: expected a list, found a mapping",
        ]
    );
    assert_eq!(
        rejected("binds:\n  - port: \"8080\"\n    listeners: []\n"),
        [
            "t.yaml:2:11: binds[0].port: expected an integer, found a string (\"8080\")",
            "t.yaml:3:16: binds[0].listeners: no listeners: this port serves nothing",
        ]
    );
    assert_eq!(
        rejected(""),
        [
            "t.yaml:1:1: the file is empty; expected a gateway config (starting with `binds:`) or a ConfigMap holding one under data.gateway.yaml"
        ]
    );
}

#[test]
fn route_and_backend_semantics() {
    let text = one_route(
        "          - name: mixed
            match: {path: {prefix: /x}}
            backends:
              - {name: tools, type: sample}
              - {name: agent, address: http://agent:8080}
          - name: stdio
            match: {path: {prefix: /y}}
            backends:
              - {name: fs, type: mcp-stdio, address: http://fs}
          - name: untyped
            match: {path: {prefix: /z}}
            policies:
              - type: retry
                retry: {attempts: 0}
            backends:
              - {name: a, address: http://a, mcp: {timeout: 5s}}
",
    );
    let r = "binds[0].listeners[0].routes";
    assert_eq!(
        rejected(&text),
        [
            format!(
                "t.yaml:8:13: {r}[0].backends: this route mixes MCP backends (\"tools\") with A2A backends (\"agent\"); put them on separate routes"
            ),
            format!(
                "t.yaml:14:17: {r}[1].backends[0].mcp.command: type mcp-stdio needs mcp.command, the program to start"
            ),
            format!(
                "t.yaml:14:45: {r}[1].backends[0].address: \"address\" does not apply to type mcp-stdio (it is for mcp-http and a2a \
                 backends; a stdio server is started with mcp.command)"
            ),
            format!("t.yaml:19:35: {r}[2].policies[0].retry.attempts: must be at least 1, found 0"),
            format!(
                "t.yaml:21:46: {r}[2].backends[0].mcp: mcp settings need `type: mcp-http`, `mcp-stdio` or `sample`; a backend \
                 without a type is an A2A agent"
            ),
        ]
    );
}

#[test]
fn stdio_backend_and_prefix_warnings() {
    let text = one_route(
        "          - name: r
            match: {path: {prefix: /mcp}}
            mcp: {prefixDelimiter: '.', outputSchema: enforce}
            backends:
              - name: files
                type: mcp-stdio
                mcp:
                  command: npx
                  args: [-y, '@modelcontextprotocol/server-filesystem', /tmp]
                  env: {NODE_ENV: production}
              - name: weather.tools
                type: sample
",
    );
    let loaded = load_str(&text, "t.yaml").unwrap();
    assert_eq!(
        lines(&loaded.diagnostics),
        [
            "t.yaml:16:23: binds[0].listeners[0].routes[0].backends[1].name: tool-name prefix \"weather.tools\" has characters \
             outside [A-Za-z0-9_-]; some MCP clients reject the resulting tool names; set mcp.prefix"
        ]
    );
    assert_eq!(loaded.diagnostics[0].severity, Severity::Warning);
    let route = &loaded.config.binds[0].listeners[0].routes[0];
    assert_eq!(
        (
            route.mcp.prefix_delimiter.as_deref(),
            route.mcp.output_schema
        ),
        (Some("."), OutputSchemaMode::Enforce)
    );
    let BackendKind::McpStdio {
        command, args, env, ..
    } = &route.backends[0].kind
    else {
        panic!()
    };
    assert_eq!(command, "npx");
    assert_eq!(
        args,
        &["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
    );
    assert_eq!(env.get("NODE_ENV").map(String::as_str), Some("production"));
}

#[test]
fn security_limits_and_observability_checks() {
    let text = format!(
        "{}security:
  sessionKey: {key}
  sessionKeyFile: /var/run/key
  allowedOrigins: [https://app.example.com/]
  mtls: {{enabled: true, mode: STRICT, certificateAuthority: /c/ca.crt, serverCert: /c/tls.crt}}
limits: {{maxBodyBytes: 1048576, maxJsonDepth: 0}}
observability:
  opentelemetry:
    endpoint: http://otel:4317
    tracing: {{samplingRate: 1.5}}
  prometheus: {{port: 8080}}
",
        one_route(
            "          - {name: r, match: {path: {prefix: /mcp}}, backends: [{name: s, type: sample}]}\n"
        ),
        key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    );
    assert_eq!(
        rejected(&text),
        [
            "t.yaml:9:3: security.sessionKeyFile: set either sessionKey or sessionKeyFile, not both",
            "t.yaml:10:20: security.allowedOrigins[0]: \"https://app.example.com/\" is not an origin: an origin has no path, query \
             or trailing slash; write \"https://app.example.com\"",
            "t.yaml:11:9: security.mtls.serverKey: missing required field \"serverKey\"",
            "t.yaml:12:47: limits.maxJsonDepth: must be between 1 and 10000, found 0",
            "t.yaml:14:3: observability.prometheus.port: port 8080 is also the port of binds[0] (line 2); metrics need a port of their own",
            "t.yaml:16:29: observability.opentelemetry.tracing.samplingRate: must be between 0 and 1 (a fraction of requests), found 1.5",
        ]
    );
}

#[test]
fn validate_command_prints_diagnostics_and_a_summary() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let run = |path: &Path| {
        let mut out = Vec::new();
        let code = validate_command(path, &mut out);
        (code, String::from_utf8(out).unwrap())
    };
    let eks = Path::new(dir).join("examples/eks/config.yaml");
    let (code, out) = run(&eks);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "{}: valid (1 bind, 2 listeners, 2 routes, 3 backends)\n",
            eks.display()
        )
    );

    let bad = Path::new(dir).join("tests/fixtures/config/bad.yaml");
    let (code, out) = run(&bad);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!("error: {}:10:25: ", bad.display())),
        "{out}"
    );
    assert!(
        out.ends_with(&format!("{}: 10 errors\n", bad.display())),
        "{out}"
    );

    let missing = Path::new(dir).join("tests/fixtures/config/no-such-file.yaml");
    let (code, out) = run(&missing);
    assert_eq!(code, 2);
    assert_eq!(
        out,
        format!(
            "error: {}: cannot read the file: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    let err = load_file(&missing).unwrap_err();
    assert_eq!((err.len(), err[0].location.line), (1, 0));
}
