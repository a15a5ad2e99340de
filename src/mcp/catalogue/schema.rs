//! JSON Schemas of tools, compiled once per distinct schema and reused across catalogue refreshes.
//! Drafts 2020-12 and 07 are both accepted (the `$schema` keyword picks; 2020-12 when absent, as MCP says).
//! Remote `$ref`s are never fetched: the crate is built without retrieval, so a schema cannot make the
//! gateway call out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub type Compiled = Result<Arc<jsonschema::Validator>, String>;

#[derive(Default)]
pub struct SchemaCache {
    compiled: Mutex<HashMap<[u8; 32], Compiled>>,
}

/// Most violations reported for one call; enough to fix a call, bounded against huge inputs.
const MAX_VIOLATIONS: usize = 32;

impl SchemaCache {
    pub fn compile(&self, schema: &Value) -> Compiled {
        let key: [u8; 32] = Sha256::digest(schema.to_string().as_bytes()).into();
        if let Some(hit) = self.compiled.lock().unwrap().get(&key) {
            return hit.clone();
        }
        let compiled = jsonschema::validator_for(schema)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        self.compiled.lock().unwrap().insert(key, compiled.clone());
        compiled
    }

    /// Drops schemas no tool uses any more.
    pub fn retain(&self, live: &[Value]) {
        let keep: std::collections::HashSet<[u8; 32]> = live
            .iter()
            .map(|s| Sha256::digest(s.to_string().as_bytes()).into())
            .collect();
        self.compiled
            .lock()
            .unwrap()
            .retain(|k, _| keep.contains(k));
    }
}

/// Every violation as `{path, message}`, path as a JSON pointer into the instance.
pub fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<Value> {
    validator
        .iter_errors(instance)
        .take(MAX_VIOLATIONS)
        .map(|e| json!({"path": e.instance_path().as_str(), "message": e.to_string()}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_failing_path() {
        let cache = SchemaCache::default();
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "maximum": 14}}, "required": ["city"]});
        let v = cache.compile(&schema).unwrap();
        let errors = violations(&v, &json!({"days": 20}));
        let paths: Vec<&str> = errors.iter().map(|e| e["path"].as_str().unwrap()).collect();
        assert!(
            paths.contains(&"") && paths.contains(&"/days"),
            "{errors:?}"
        );
        assert!(violations(&v, &json!({"city": "Tampa"})).is_empty());
    }

    #[test]
    fn draft_07_and_2020_12_both_work_and_compile_once() {
        let cache = SchemaCache::default();
        let d7 = json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "items": [{"type": "string"}]});
        assert!(cache.compile(&d7).is_ok());
        let a = cache.compile(&json!({"type": "string"})).unwrap();
        let b = cache.compile(&json!({"type": "string"})).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_broken_schema_is_an_error_not_a_panic() {
        assert!(
            SchemaCache::default()
                .compile(&json!({"type": 12}))
                .is_err()
        );
    }
}
