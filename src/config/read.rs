//! Typed readers of spanned nodes. They never stop decoding: on a bad value they report what was expected
//! and what was found, and return `None`, so one run finds every problem.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::cx::{Cx, child, item, unknown};
use super::values;
use super::yaml::{Node, Value};

impl Cx {
    /// Reports that `node` is not what the field needs, saying what was found.
    pub fn mismatch(&mut self, node: &Node, path: &str, expected: &str) {
        let mut msg = format!("expected {expected}, found {}", describe(node));
        if expected == "a string"
            && let Some(raw) = scalar_text(node)
        {
            msg.push_str(&format!("; quote it if it is meant as text: \"{raw}\""));
        }
        self.error(node, path, msg);
    }

    pub fn str(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.mismatch(node, path, "a string");
                None
            }
        }
    }

    /// A string that must not be empty (names, URLs, file paths).
    pub fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.str(node, path)?;
        if s.trim().is_empty() {
            self.error(node, path, "must not be empty");
            return None;
        }
        Some(s)
    }

    pub fn bool(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            _ => {
                self.mismatch(node, path, "true or false");
                None
            }
        }
    }

    /// An integer within `min..=max`.
    pub fn int(&mut self, node: &Node, path: &str, min: i64, max: i64) -> Option<i64> {
        let Value::Int(i) = node.value else {
            self.mismatch(node, path, "an integer");
            return None;
        };
        if (min..=max).contains(&i) {
            return Some(i);
        }
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        self.error(node, path, format!("must be {range}, found {i}"));
        None
    }

    pub fn float(&mut self, node: &Node, path: &str) -> Option<f64> {
        match node.value {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            _ => {
                self.mismatch(node, path, "a number");
                None
            }
        }
    }

    /// `300s`, `1.5s`, `500ms`, `1m`, `1h`. A bare number is refused: its unit would be a guess.
    pub fn duration(&mut self, node: &Node, path: &str) -> Option<Duration> {
        match &node.value {
            Value::Str(s) => match values::parse_duration(s) {
                Ok(d) => Some(d),
                Err(msg) => {
                    self.error(node, path, msg);
                    None
                }
            },
            Value::Int(_) | Value::Float(_) => {
                let raw = scalar_text(node).unwrap_or_default();
                self.error(
                    node,
                    path,
                    format!("expected a duration with a unit (e.g. 300s, 500ms, 1m, 1h), found a number ({raw}); write \"{raw}s\" for seconds"),
                );
                None
            }
            _ => {
                self.mismatch(node, path, "a duration (e.g. 300s, 500ms, 1m, 1h)");
                None
            }
        }
    }

    /// A duration that must be longer than zero (timeouts, intervals).
    pub fn positive_duration(&mut self, node: &Node, path: &str) -> Option<Duration> {
        let d = self.duration(node, path)?;
        if d.is_zero() {
            self.error(node, path, "must be longer than zero");
            return None;
        }
        Some(d)
    }

    /// A string that must be one of `choices`.
    pub fn choice(&mut self, node: &Node, path: &str, choices: &[&str]) -> Option<String> {
        let s = self.str(node, path)?;
        if choices.contains(&s.as_str()) {
            return Some(s);
        }
        self.error(node, path, unknown("value", &s, choices));
        None
    }

    /// A list; an empty value (`key:`) reads as an empty list.
    pub fn list<'a>(&mut self, node: &'a Node, path: &str) -> Option<&'a [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            _ => {
                self.mismatch(node, path, "a list");
                None
            }
        }
    }

    pub fn str_list(&mut self, node: &Node, path: &str) -> Option<Vec<String>> {
        let items = self.list(node, path)?;
        Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| self.text(n, &item(path, i)))
                .collect(),
        )
    }

    /// A mapping of names to strings (headers, environment variables).
    pub fn str_map(&mut self, node: &Node, path: &str) -> Option<BTreeMap<String, String>> {
        let entries = match &node.value {
            Value::Map(entries) => entries.as_slice(),
            Value::Null => &[],
            _ => {
                self.mismatch(node, path, "a mapping of names to strings");
                return None;
            }
        };
        let mut out = BTreeMap::new();
        let mut lines = HashMap::new();
        for (k, v) in entries {
            let p = child(path, &k.name);
            if let Some(first) = lines.insert(k.name.as_str(), k.line) {
                self.error(
                    k,
                    &p,
                    format!("duplicate key \"{}\" (first set at line {first})", k.name),
                );
                continue;
            }
            if let Some(s) = self.str(v, &p) {
                out.insert(k.name.clone(), s);
            }
        }
        Some(out)
    }
}

/// What a node is, for "expected X, found Y" messages.
pub fn describe(node: &Node) -> String {
    match &node.value {
        Value::Null => "an empty value".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Int(_) | Value::Float(_) => {
            format!("a number ({})", scalar_text(node).unwrap_or_default())
        }
        Value::Str(s) => {
            let shown: String = s.chars().take(40).collect();
            let more = if shown.len() < s.len() { "…" } else { "" };
            format!("a string (\"{}{more}\")", shown.escape_debug())
        }
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a mapping".into(),
    }
}

/// The text of a non-string scalar as it would be written.
fn scalar_text(node: &Node) -> Option<String> {
    match node.value {
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(format!("{f:?}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(value: Value) -> Node {
        Node {
            value,
            line: 3,
            column: 7,
            literal_block: false,
        }
    }

    #[test]
    fn readers_report_what_they_found() {
        let mut cx = Cx::new("f.yaml");
        assert_eq!(cx.str(&node(Value::Float(0.11)), "a.b"), None);
        assert_eq!(cx.int(&node(Value::Int(70000)), "port", 1, 65535), None);
        assert_eq!(cx.duration(&node(Value::Int(300)), "t"), None);
        assert_eq!(
            cx.duration(&node(Value::Str("5 minutes".into())), "t"),
            None
        );
        assert_eq!(
            cx.duration(&node(Value::Str("1.5s".into())), "t"),
            Some(Duration::from_millis(1500))
        );
        let lines: Vec<String> = cx.diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "f.yaml:3:7: a.b: expected a string, found a number (0.11); quote it if it is meant as text: \"0.11\"",
                "f.yaml:3:7: port: must be between 1 and 65535, found 70000",
                "f.yaml:3:7: t: expected a duration with a unit (e.g. 300s, 500ms, 1m, 1h), found a number (300); write \"300s\" for seconds",
                "f.yaml:3:7: t: invalid duration \"5 minutes\": expected a number followed by ms, s, m or h (e.g. 300s, 1.5s, 500ms, 1m, 1h)",
            ]
        );
    }
}
