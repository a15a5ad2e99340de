//! The lock (`registry/lock.json`): every tool, prompt and resource template each approved server
//! exposes, by server (the backend's name), kind and name, each with its digest and its definition as
//! discovered. Written with members sorted and two-space indents: re-locking an unchanged world changes
//! no byte, and a review in git shows only what changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::pin::Pin;

pub const FILE: &str = "lock.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub servers: BTreeMap<String, Locked>,
}

/// What one server exposes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Locked {
    #[serde(default)]
    pub tools: BTreeMap<String, Pin>,
    #[serde(default)]
    pub prompts: BTreeMap<String, Pin>,
    /// By URI template.
    #[serde(default)]
    pub resource_templates: BTreeMap<String, Pin>,
}

impl Locked {
    /// The pins of definitions as an upstream listed them; entries without a name are left out (the
    /// catalogue skips them too).
    pub fn of(tools: &[Value], prompts: &[Value], templates: &[Value]) -> Locked {
        let by = |defs: &[Value], key: &str| -> BTreeMap<String, Pin> {
            defs.iter()
                .filter_map(|d| Some((d.get(key)?.as_str()?.to_string(), Pin::of(&sorted(d)))))
                .filter(|(name, _)| !name.is_empty())
                .collect()
        };
        Locked {
            tools: by(tools, "name"),
            prompts: by(prompts, "name"),
            resource_templates: by(templates, "uriTemplate"),
        }
    }
}

/// `value` with every object's members in sorted order (serde_json keeps insertion order here).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

pub fn path(registry: &Path) -> PathBuf {
    registry.join(FILE)
}

/// The lock in `registry`; an empty one when there is no lock file yet.
pub fn read(registry: &Path) -> Result<Lock, String> {
    let file = path(registry);
    match std::fs::read_to_string(&file) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not a registry lock: {e}",
                file.display(),
                e.line(),
                e.column()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
        Err(e) => Err(format!("{}: {e}", file.display())),
    }
}

pub fn render(lock: &Lock) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(
        &serde_json::to_value(lock).expect("a lock serializes"),
    ))
    .expect("a lock serializes");
    text.push('\n');
    text
}

pub fn write(registry: &Path, lock: &Lock) -> Result<(), String> {
    std::fs::create_dir_all(registry).map_err(|e| format!("{}: {e}", registry.display()))?;
    let file = path(registry);
    std::fs::write(&file, render(lock)).map_err(|e| format!("{}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rendering_is_byte_stable_whatever_order_the_upstream_used() {
        let a = json!({"name": "t", "inputSchema": {"type": "object", "properties": {"b": {}, "a": {}}}});
        let b = json!({"inputSchema": {"properties": {"a": {}, "b": {}}, "type": "object"}, "name": "t"});
        let lock = |def: &Value| Lock {
            servers: [(
                "s".to_string(),
                Locked::of(std::slice::from_ref(def), &[], &[]),
            )]
            .into(),
        };
        assert_eq!(render(&lock(&a)), render(&lock(&b)));
        let back: Lock = serde_json::from_str(&render(&lock(&a))).unwrap();
        assert_eq!(render(&back), render(&lock(&a)));
    }
}
