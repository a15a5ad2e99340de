//! Real traffic through the gateway moves the metrics the dashboards read: requests, tool calls by
//! outcome, schema rejections, unknown tools, rate limits, errors by type, discovery and catalogue size.

mod common;

use serde_json::json;

/// The value of the first sample whose line contains every fragment.
fn sample(text: &str, name: &str, fragments: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| {
            l.starts_with(name)
                && (l.as_bytes().get(name.len()) == Some(&b'{')
                    || l.as_bytes().get(name.len()) == Some(&b' '))
        })
        .find(|l| fragments.iter().all(|f| l.contains(f)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn traffic_moves_the_metrics() {
    let yaml = "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: l\n        routes:\n          - name: wired\n            match: {path: {prefix: /mcp}}\n            policies:\n              - type: rate-limit\n                rateLimit:\n                  descriptors:\n                    - {key: tool-name, value: execute_code, rateLimit: {requestsPerMinute: 1}}\n            backends:\n              - {name: weather, type: sample}\nobservability:\n  prometheus: {port: 0, path: /metrics}\n";
    let gw = common::gateway(yaml).await;
    let url = gw.url("/mcp");
    let call = |id: u32, name: &str, args: serde_json::Value| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}});
    assert_eq!(
        common::post_json(
            &url,
            &[],
            &call(1, "get_weather_data", json!({"city": "Oslo"}))
        )
        .await
        .status,
        200
    );
    common::post_json(&url, &[], &call(2, "get_weather_data", json!({"city": 7}))).await;
    common::post_json(&url, &[], &call(3, "nope", json!({}))).await;
    let code = json!({"python_code": "DAYS = []\ndef classify(day):\n    return \"mixed\"\n"});
    common::post_json(&url, &[], &call(4, "execute_code", code.clone())).await;
    let (status, rpc_code, message) = common::post_json(&url, &[], &call(5, "execute_code", code))
        .await
        .error();
    assert_eq!((status, rpc_code), (429, -32029));
    assert!(
        message.starts_with("Rate limit exceeded: 1 calls per minute"),
        "{message}"
    );
    let (status, rpc_code, message) =
        common::post(&url, &[("content-type", "application/json")], "{broken")
            .await
            .error();
    assert_eq!((status, rpc_code), (400, -32700));
    assert!(message.starts_with("Parse error: "), "{message}");

    let metrics_url = format!(
        "http://{}/metrics",
        gw.running.metrics.expect("metrics are served")
    );
    let text = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let has = |name: &str, fragments: &[&str]| {
        sample(&text, name, fragments)
            .unwrap_or_else(|| panic!("no {name} {fragments:?} in:\n{text}"))
    };
    assert_eq!(
        has(
            "tool_invocations_total",
            &[
                "route=\"wired\"",
                "tool_name=\"get_weather_data\"",
                "status=\"ok\""
            ]
        ),
        1.0
    );
    assert_eq!(
        has(
            "agent_gateway_schema_rejections_total",
            &["route=\"wired\""]
        ),
        1.0
    );
    assert_eq!(
        has(
            "agent_gateway_ratelimit_rejections_total",
            &["route=\"wired\"", "key_kind=\"tool\""]
        ),
        1.0
    );
    assert_eq!(
        has(
            "mcp_tool_errors",
            &["route=\"wired\"", "tool_name=\"unknown\""]
        ),
        1.0
    );
    assert_eq!(
        has(
            "mcp_errors_total",
            &["route=\"wired\"", "error_type=\"parse_error\""]
        ),
        1.0
    );
    assert_eq!(
        has(
            "agent_requests_total",
            &["route=\"wired\"", "method=\"tools/call\"", "status=\"429\""]
        ),
        1.0
    );
    assert!(
        has(
            "agent_requests_total",
            &["route=\"wired\"", "method=\"tools/call\"", "status=\"200\""]
        ) >= 3.0
    );
    assert_eq!(
        has("agent_gateway_catalogue_tools", &["route=\"wired\""]),
        6.0
    );
    assert_eq!(
        has(
            "agent_gateway_upstream_up",
            &["route=\"wired\"", "backend=\"weather\""]
        ),
        1.0
    );
    assert!(
        has(
            "mcp_discovery_requests",
            &["backend=\"weather\"", "result=\"success\""]
        ) >= 1.0
    );
}
