//! The chart's ConfigMap template, rendered for every combination of its `if` switches: each config it makes is
//! valid. The renderer knows only what that template uses (plain values, `if`/`else`/`end`, `indent`/`nindent`)
//! and refuses anything else.

use std::collections::BTreeSet;

use agent_gateway::config::schema;
use serde_json::{Value, json};

use crate::validate::{assert_valid, check_gateway_text, compile};
use crate::yaml::parse_one;
use crate::{read, root};

fn lookup<'a>(values: &'a Value, path: &str) -> &'a Value {
    let mut v = values;
    for part in path.split('.') {
        v = &v[part];
    }
    v
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
        && v.as_str() != Some("")
        && v.as_f64() != Some(0.0)
        && v.as_array().is_none_or(|a| !a.is_empty())
}

fn eval(expr: &str, values: &Value) -> Value {
    if let Some(path) = expr.strip_prefix(".Values.") {
        return lookup(values, path).clone();
    }
    match expr {
        ".Release.Name" => json!("agent-gateway"),
        ".Release.Namespace" => json!("agent-gateway"),
        _ => panic!("configmap.yaml: the test's renderer does not know `{expr}`; extend it"),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => panic!("configmap.yaml: a value used by the template is missing"),
        other => other.to_string(),
    }
}

fn render(template: &str, values: &Value) -> String {
    let mut out = String::new();
    let mut active: Vec<(bool, bool)> = Vec::new(); // (this branch taken, parent active)
    let on = |active: &Vec<(bool, bool)>| active.last().is_none_or(|&(b, p)| b && p);
    let mut rest = template;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let end = rest[start..].find("}}").expect("unclosed {{") + start;
        let mut action = &rest[start + 2..end];
        if let Some(a) = action.strip_prefix('-') {
            text = text.trim_end();
            action = a;
        }
        trim_next = action.ends_with('-');
        let action = action.trim_end_matches('-').trim();
        if on(&active) {
            out.push_str(text);
        }
        rest = &rest[end + 2..];
        if let Some(cond) = action.strip_prefix("if ") {
            let parent = on(&active);
            active.push((truthy(&eval(cond.trim(), values)), parent));
        } else if action == "else" {
            let (b, p) = active.pop().expect("else without if");
            active.push((!b, p));
        } else if action == "end" {
            active.pop().expect("end without if");
        } else if on(&active) {
            let mut parts = action.split('|').map(str::trim);
            let mut s = text_of(&eval(parts.next().unwrap(), values));
            for filter in parts {
                let (name, n) = filter.split_once(' ').unwrap_or((filter, ""));
                let pad = " ".repeat(n.trim().parse().unwrap_or_else(|_| {
                    panic!("configmap.yaml: `{filter}`: the test's renderer does not know it")
                }));
                let indented: Vec<String> = s.lines().map(|l| format!("{pad}{l}")).collect();
                s = match name {
                    "indent" => indented.join("\n"),
                    "nindent" => format!("\n{}", indented.join("\n")),
                    _ => panic!("configmap.yaml: the test's renderer does not know `{name}`"),
                };
            }
            out.push_str(&s);
        }
    }
    if on(&active) {
        out.push_str(if trim_next { rest.trim_start() } else { rest });
    }
    assert!(active.is_empty(), "configmap.yaml: unclosed if");
    out
}

#[test]
fn every_config_the_helm_chart_makes_is_valid() {
    let chart = root().join("deploy/helm/agentgateway");
    let template = read(&chart.join("templates/configmap.yaml"));
    let defaults = parse_one(&read(&chart.join("values.yaml")), "values.yaml");
    let switches: BTreeSet<&str> = template
        .match_indices("if .Values.")
        .map(|(i, _)| {
            let s = &template[i + "if .Values.".len()..];
            &s[..s.find(|c: char| c.is_whitespace() || c == '}').unwrap()]
        })
        .collect();
    assert!(switches.len() >= 3, "{switches:?}");
    let v = compile(&schema::json_schema());
    for combo in 0..(1u32 << switches.len()) {
        let mut values = defaults.clone();
        let mut set = Vec::new();
        for (bit, path) in switches.iter().enumerate() {
            let on = combo & (1 << bit) != 0;
            let mut at = &mut values;
            for part in path.split('.') {
                at = &mut at[part];
            }
            // A text switch (empty: off) is switched on with a value it accepts.
            *at = match (at.is_string(), on) {
                (true, true) => json!(text_switch_sample(path)),
                (true, false) => json!(""),
                (false, on) => json!(on),
            };
            set.push(format!("{path}={on}"));
        }
        let what = format!("configmap.yaml with {}", set.join(", "));
        let cm = parse_one(&render(&template, &values), &what);
        assert_valid(&v, &cm, &what);
        let inner = cm["data"]["gateway.yaml"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no data.gateway.yaml"));
        check_gateway_text(inner, &what);
    }
    // The defaults as they are (not only switched).
    let cm = parse_one(&render(&template, &defaults), "configmap.yaml");
    check_gateway_text(
        cm["data"]["gateway.yaml"].as_str().unwrap(),
        "configmap.yaml",
    );
}

/// A value a text switch of the chart's ConfigMap accepts when set.
fn text_switch_sample(path: &str) -> &'static str {
    match path {
        // `agent-gateway registry keygen`'s output shape: 32 bytes, base64.
        "registry.publicKey" => "zErQGGoeJ59KN825yad/4RCeb8QePnAUEZneZH+6FyY=",
        other => panic!("{other}: a text switch of configmap.yaml without a sample value here"),
    }
}
