//! YAML → JSON values: the documents of a YAML stream as `serde_json` values, refusing what JSON cannot hold.

use serde_json::{Map, Value, json};
use yaml_rust2::{Yaml, YamlLoader};

fn yaml_to_json(y: &Yaml, at: &str) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => json!(i),
        Yaml::Real(s) => {
            let f: f64 = s.parse().map_err(|_| format!("{at}: bad number {s}"))?;
            json!(f)
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| yaml_to_json(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let Yaml::String(k) = k else {
                    return Err(format!("{at}: non-string key {k:?}"));
                };
                if m.insert(k.clone(), yaml_to_json(v, &format!("{at}.{k}"))?)
                    .is_some()
                {
                    return Err(format!("{at}: duplicate key {k}"));
                }
            }
            Value::Object(m)
        }
        other => return Err(format!("{at}: unsupported YAML node {other:?}")),
    })
}

/// The non-empty documents of a YAML stream.
pub(crate) fn parse_docs(text: &str, file: &str) -> Vec<Value> {
    let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
    docs.iter()
        .enumerate()
        .map(|(i, d)| yaml_to_json(d, &format!("{file}#{i}")).unwrap_or_else(|e| panic!("{e}")))
        .filter(|v| !v.is_null())
        .collect()
}

pub(crate) fn parse_one(text: &str, file: &str) -> Value {
    let mut docs = parse_docs(text, file);
    assert_eq!(docs.len(), 1, "{file}: expected one YAML document");
    docs.remove(0)
}
