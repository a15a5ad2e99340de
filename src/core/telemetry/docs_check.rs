//! Keeps `docs/metrics.md` in step with the code: the doc's table must list exactly the families that
//! `render()` shows, with the same types and labels.

use std::collections::BTreeMap;
use std::time::Duration;

use super::metrics::{DenialKind, ErrorType, LimitKind, Metrics, Outcome};

const DOC: &str = include_str!("../../../docs/metrics.md");

/// (type, labels) per metric name, from the doc's "Every metric" table.
fn documented() -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for line in DOC.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        // Only rows of the four-column table whose second cell is a metric type.
        let [name, kind, labels, _meaning] = cells[..] else {
            continue;
        };
        if !matches!(kind, "counter" | "gauge" | "histogram") {
            continue;
        }
        let unquote = |s: &str| s.trim().trim_matches('`').to_string();
        let labels = labels.split(',').map(unquote).filter(|l| !l.is_empty());
        let previous = out.insert(unquote(name), (kind.to_string(), labels.collect()));
        assert!(previous.is_none(), "{name} is documented twice");
    }
    out
}

/// Drives every event once so every family has a series and shows up in `render()`.
fn exercise(m: &Metrics) {
    let d = Duration::from_millis(20);
    m.request("r", Some("sa"), "tools/call", 200, d);
    m.error("r", ErrorType::ParseError);
    m.tool_call("r", "b", "t", Outcome::Error, d);
    m.tool_rejected("r", "t", true, ErrorType::SchemaViolation);
    m.tool_rejected("r", "x", false, ErrorType::RateLimited);
    m.schema_rejected("r");
    m.rate_limited("r", LimitKind::Tool);
    m.a2a_call(Some("sa"), "agent", Outcome::Ok, d);
    m.upstream("r", "b").discovery(true);
    m.catalogue_tools("r", 6);
    m.registry_drift("r", "b", 1);
    let _session = m.session_opened("r");
    let _stream = m.stream_opened("r");
    m.authz_denied("r", DenialKind::Agent);
    m.retry("b");
    m.timeout("b");
    m.config_reload(true);
}

/// (type, labels) per family from the text format: `# TYPE` lines and the labels of the first sample.
fn rendered(text: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line has a kind");
            out.insert(name.to_string(), (kind.to_string(), Vec::new()));
        }
    }
    for (name, (kind, labels)) in out.iter_mut() {
        let sample = if kind == "histogram" {
            format!("{name}_count{{")
        } else {
            format!("{name}{{")
        };
        // A family without labels renders as `name value`.
        let bare = format!("{} ", sample.trim_end_matches('{'));
        if text.lines().any(|l| l.starts_with(&bare)) {
            continue;
        }
        let line = text
            .lines()
            .find(|l| l.starts_with(&sample))
            .unwrap_or_else(|| panic!("no sample for {name}"));
        let inner = &line[sample.len()..line.find('}').expect("labels end")];
        *labels = inner
            .split(',')
            .map(|pair| pair.split_once('=').expect("label=value").0.to_string())
            .collect();
    }
    out
}

#[test]
fn doc_table_lists_exactly_the_registered_families() {
    let m = Metrics::new();
    exercise(&m);
    let text = m.render();
    let mut rendered = rendered(&text);
    // The text format sorts labels by name; compare as sets.
    for (_, labels) in rendered.values_mut() {
        labels.sort();
    }
    let mut documented = documented();
    for (_, labels) in documented.values_mut() {
        labels.sort();
    }
    assert_eq!(
        documented, rendered,
        "docs/metrics.md and the registered families differ"
    );
    let registered: Vec<&str> = m.names().collect();
    assert_eq!(
        registered.len(),
        rendered.len(),
        "every registered family renders"
    );
}

#[test]
fn guide_metric_names_are_all_registered() {
    // observability.prometheus.metrics and observability.mcp.metrics in the guide's step 3.1.
    let guide = [
        "agent_requests_total",
        "agent_request_duration_seconds",
        "tool_invocations_total",
        "tool_invocation_duration_seconds",
        "mcp_errors_total",
        "a2a_calls_total",
        "mcp_tool_calls_total",
        "mcp_tool_call_duration",
        "mcp_tool_errors",
        "mcp_discovery_requests",
    ];
    let m = Metrics::new();
    let names: Vec<&str> = m.names().collect();
    for g in guide {
        assert!(names.contains(&g), "{g} is not registered");
    }
}

#[test]
fn guards_return_gauges_to_zero() {
    let m = Metrics::new();
    {
        let _a = m.stream_opened("r");
        let _b = m.stream_opened("r");
        assert!(
            m.render()
                .contains("agent_gateway_active_streams{route=\"r\"} 2")
        );
    }
    assert!(
        m.render()
            .contains("agent_gateway_active_streams{route=\"r\"} 0")
    );
}
