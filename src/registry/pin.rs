//! What is pinned of a definition, and its digest: SHA-256 over the RFC 8785 form of the members that
//! change what a model is told or what a call may carry — for a tool `name`, `title`, `description`,
//! `inputSchema`, `outputSchema`, `annotations` and `_meta`. Other members (an icon's size, say) are
//! kept in the lock for review but do not change the digest.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::jcs;

/// The members a digest covers.
pub const COVERED: [&str; 7] = [
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
    "_meta",
];

/// One locked definition: its digest and the definition as discovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pin {
    pub digest: String,
    pub definition: Value,
}

impl Pin {
    pub fn of(definition: &Value) -> Pin {
        Pin {
            digest: digest(definition),
            definition: definition.clone(),
        }
    }
}

/// `sha256:` and the hex digest of the covered members (the URI template stands in for `name` in a
/// resource template, which has no other key).
pub fn digest(definition: &Value) -> String {
    let covered: Map<String, Value> = COVERED
        .iter()
        .chain(&["uriTemplate"])
        .filter_map(|key| Some((key.to_string(), definition.get(*key)?.clone())))
        .collect();
    let hash = Sha256::digest(jcs::canonical(&Value::Object(covered)).as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_digest_ignores_order_spacing_and_uncovered_members() {
        let a: Value = serde_json::from_str(
            r#"{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"x":{"type":"number"}}}}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{ "inputSchema": {"properties": {"x": {"type": "number"}}, "type": "object"},
                 "description": "d", "name": "t", "icons": [{"src": "x.png"}] }"#,
        )
        .unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert!(digest(&a).starts_with("sha256:") && digest(&a).len() == 7 + 64);
        let mut changed = a.clone();
        changed["annotations"] = json!({"readOnlyHint": true});
        assert_ne!(digest(&a), digest(&changed));
    }
}
