//! Validation against the schema: compiling it, its errors as the decoder's dotted paths, and a gateway.yaml
//! text checked by both the decoder and the schema.

use agent_gateway::config::{self, schema};
use serde_json::Value;

use crate::yaml::parse_one;

pub(crate) fn compile(schema: &Value) -> jsonschema::Validator {
    jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
}

/// JSON pointer → the decoder's dotted path (`/binds/0/port` → `binds[0].port`).
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// Every schema error as (dotted path, message).
pub(crate) fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<(String, String)> {
    v.iter_errors(instance)
        .map(|e| (dotted(e.instance_path().as_str()), e.to_string()))
        .collect()
}

pub(crate) fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors = schema_errors(v, instance);
    assert!(
        errors.is_empty(),
        "{what} is not valid for the schema: {errors:#?}\n{instance:#}"
    );
}

/// A gateway.yaml text: valid for the decoder and for the schema.
pub(crate) fn check_gateway_text(text: &str, what: &str) {
    if let Err(d) = config::load_str(text, what) {
        let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
        panic!("{what}: load_str refused it:\n{}", lines.join("\n"));
    }
    let v = compile(&schema::json_schema());
    assert_valid(&v, &parse_one(text, what), what);
}
