//! YAML → JSON values: the documents of a YAML text as `serde_json` values.

use serde_json::{Map, Value, json};
use yaml_rust2::{Yaml, YamlLoader};

fn yaml_to_json(y: &Yaml, at: &str) -> Value {
    match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => json!(i),
        Yaml::Real(s) => json!(
            s.parse::<f64>()
                .unwrap_or_else(|_| panic!("{at}: bad number {s}"))
        ),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| yaml_to_json(v, &format!("{at}[{i}]")))
                .collect(),
        ),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let Yaml::String(k) = k else {
                    panic!("{at}: non-string key {k:?}")
                };
                m.insert(k.clone(), yaml_to_json(v, &format!("{at}.{k}")));
            }
            Value::Object(m)
        }
        other => panic!("{at}: unsupported YAML node {other:?}"),
    }
}

pub(crate) fn parse_docs(text: &str, what: &str) -> Vec<Value> {
    YamlLoader::load_from_str(text)
        .unwrap_or_else(|e| panic!("{what}: {e}\n{text}"))
        .iter()
        .map(|d| yaml_to_json(d, what))
        .filter(|v| !v.is_null())
        .collect()
}

pub(crate) fn parse_one(text: &str, what: &str) -> Value {
    let mut docs = parse_docs(text, what);
    assert_eq!(docs.len(), 1, "{what}: expected one YAML document");
    docs.remove(0)
}
