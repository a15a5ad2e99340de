//! JSON Schemas of tools, compiled once per distinct schema and reused across catalogue refreshes.
//! Drafts 2020-12 and 07 are both accepted (the `$schema` keyword picks; 2020-12 when absent, as MCP says).
//! Remote `$ref`s are never fetched: the crate is built without retrieval, so a schema cannot make the
//! gateway call out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub type Compiled = Result<Arc<jsonschema::Validator>, String>;

#[derive(Default)]
pub struct SchemaCache {
    compiled: Mutex<HashMap<[u8; 32], Compiled>>,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
