//! The chart rendered as `helm install` would: values.yaml with `--set` flags applied, every template run
//! through the renderer; and the flag sets the tests render with.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::template_eval::{Ctx, exec};
use crate::template_syntax::parse_template;
use crate::yaml::{parse_docs, parse_one};
use crate::{chart_dir, read};

/// Applies `--set a.b=v` the way Helm parses `v` (booleans, integers, else strings).
fn set_value(values: &mut Value, path: &str, raw: &str) {
    let parsed = match raw {
        "true" => json!(true),
        "false" => json!(false),
        _ => raw
            .parse::<i64>()
            .map(|n| json!(n))
            .unwrap_or_else(|_| json!(raw)),
    };
    let mut v = values;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        v = v
            .as_object_mut()
            .unwrap()
            .entry(p.to_string())
            .or_insert_with(|| json!({}));
    }
    v.as_object_mut()
        .unwrap()
        .insert(parts[parts.len() - 1].to_string(), parsed);
}

/// A rendered template file: its name and text.
pub(crate) struct Rendered {
    pub(crate) name: String,
    pub(crate) text: String,
}

/// Renders every template of the chart (templates/*.yaml and NOTES.txt) as `helm install agent-gateway
/// --namespace agent-gateway --set ...` would.
pub(crate) fn render_chart(sets: &[(&str, &str)]) -> Vec<Rendered> {
    let mut values = parse_one(&read(&chart_dir().join("values.yaml")), "values.yaml");
    for (k, v) in sets {
        set_value(&mut values, k, v);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart_dir().join("templates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.ends_with(".yaml") || name == "NOTES.txt",
            "templates/{name}: the test renders only *.yaml and NOTES.txt (no helpers)"
        );
        let nodes =
            parse_template(&read(&path)).unwrap_or_else(|e| panic!("templates/{name}: {e}"));
        let mut cx = Ctx {
            values: values.clone(),
            release_name: "agent-gateway".into(),
            release_namespace: "agent-gateway".into(),
            vars: BTreeMap::new(),
        };
        let mut text = String::new();
        exec(&nodes, &mut cx, &mut text).unwrap_or_else(|e| panic!("templates/{name}: {e}"));
        if name != "NOTES.txt" {
            out.push(Rendered { name, text });
        }
    }
    out
}

pub(crate) fn rendered_docs(files: &[Rendered]) -> Vec<Value> {
    files
        .iter()
        .flat_map(|r| parse_docs(&r.text, &format!("templates/{}", r.name)))
        .collect()
}

pub(crate) const GUIDE_SETS: &[(&str, &str)] = &[
    ("observability.enabled", "true"),
    ("observability.opentelemetry.enabled", "true"),
    ("observability.prometheus.enabled", "true"),
    ("observability.prometheus.port", "9090"),
    ("security.jwt.enabled", "true"),
    ("security.mcp.enabled", "true"),
];

pub(crate) const ALL_OPTIONAL: &[(&str, &str)] = &[
    ("autoscaling.enabled", "true"),
    ("podDisruptionBudget.enabled", "true"),
    ("networkPolicy.enabled", "true"),
    ("serviceMonitor.enabled", "true"),
    ("prometheusRule.enabled", "true"),
];
