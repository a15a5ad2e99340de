//! JSON Schemas of tools, compiled once per distinct schema and reused across catalogue refreshes.
//! Drafts 2020-12 and 07 are both accepted (the `$schema` keyword picks; 2020-12 when absent, as MCP says).
//! Remote `$ref`s are never fetched: the crate is built without retrieval, so a schema cannot make the
//! gateway call out.
//!
//! Compiled schemas take far more memory than their JSON (12–55× measured, a `pattern` 10–100 KB), so
//! discovery charges each upstream the [`cost`] of its distinct schemas against
//! `limits.maxUpstreamSchemaBytes`, and every pattern is compiled under a size cap that makes its cost
//! bounded. The test below checks the estimate against what compiling really allocates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub type Compiled = Result<Arc<jsonschema::Validator>, String>;

/// Caps on one `pattern`'s compiled program and on its lazy-DFA cache; a pattern past the first does not
/// compile (the tool is withheld and reported), one that fills the second falls back to a slower search.
const PATTERN_SIZE_LIMIT: usize = 128 * 1024;
const PATTERN_DFA_LIMIT: usize = 128 * 1024;

/// Bytes charged per byte of schema JSON, and per pattern: above the worst ratio measured (deep nesting,
/// 55×) and above a pattern at its caps plus the engine's own structures.
const BYTES_PER_JSON_BYTE: usize = 64;
const BYTES_PER_PATTERN: usize = PATTERN_SIZE_LIMIT + PATTERN_DFA_LIMIT + 32 * 1024;

/// A conservative estimate of the memory `schema` takes once compiled, given its JSON text's length.
pub fn cost(schema: &Value, json_len: usize) -> usize {
    BYTES_PER_JSON_BYTE * json_len + BYTES_PER_PATTERN * patterns(schema)
}

/// The SHA-256 of `schema`'s JSON text, and the text's length: the schema is written once, straight into
/// the hash, and no copy of the text is kept.
pub fn digest(schema: &Value) -> ([u8; 32], usize) {
    struct Hashing(Sha256, usize);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            self.1 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Hashing(Sha256::new(), 0);
    serde_json::to_writer(&mut out, schema).expect("a JSON value serializes");
    (out.0.finalize().into(), out.1)
}

/// How many regular expressions compiling `schema` may build: `pattern` strings and `patternProperties`
/// keys, wherever they appear (a count that may be high, never low).
fn patterns(value: &Value) -> usize {
    let mut count = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (key, child) in map {
                    count += match (key.as_str(), child) {
                        ("pattern", Value::String(_)) => 1,
                        ("patternProperties", Value::Object(keys)) => keys.len(),
                        _ => 0,
                    };
                    stack.push(child);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    count
}

fn validator(
    schema: &Value,
) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    jsonschema::options()
        .with_pattern_options(
            jsonschema::PatternOptions::fancy_regex()
                .size_limit(PATTERN_SIZE_LIMIT)
                .dfa_size_limit(PATTERN_DFA_LIMIT),
        )
        .build(schema)
}

#[derive(Default)]
pub struct SchemaCache {
    compiled: Mutex<HashMap<[u8; 32], Compiled>>,
}

impl SchemaCache {
    pub fn compile(&self, schema: &Value) -> Compiled {
        let (key, _) = digest(schema);
        if let Some(hit) = self.compiled.lock().unwrap().get(&key) {
            return hit.clone();
        }
        let compiled = validator(schema).map(Arc::new).map_err(|e| e.to_string());
        self.compiled.lock().unwrap().insert(key, compiled.clone());
        compiled
    }

    /// Drops schemas no tool uses any more.
    pub fn retain(&self, live: &[Value]) {
        let keep: std::collections::HashSet<[u8; 32]> = live.iter().map(|s| digest(s).0).collect();
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
    fn the_digest_is_the_sha256_of_the_json_text() {
        let schema =
            json!({"type": "object", "properties": {"q": {"type": "string", "pattern": "^a"}}});
        let text = schema.to_string();
        let expected: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        assert_eq!(digest(&schema), (expected, text.len()));
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

    /// Counts, per thread, the bytes allocated minus the bytes freed: what a compile keeps is what it
    /// allocated and did not free. The lib's unit tests run on it (a test binary has one allocator).
    struct Counting;
    thread_local! {
        static NET: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
    }
    unsafe impl std::alloc::GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            let _ = NET.try_with(|n| n.set(n.get() + layout.size() as isize));
            unsafe { std::alloc::System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            let _ = NET.try_with(|n| n.set(n.get() - layout.size() as isize));
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
    }
    #[global_allocator]
    static COUNTING: Counting = Counting;

    fn kept_by_compiling(schema: &Value) -> Option<usize> {
        let before = NET.with(|n| n.get());
        let validator = validator(schema).ok()?;
        let kept = NET.with(|n| n.get()) - before;
        drop(validator);
        Some(kept.max(0) as usize)
    }

    /// Shapes an upstream could send to make compiled schemas large: wide, deep, long enums, many
    /// `$ref`s and branches, patterns up to the size cap. The estimate must never be below the truth.
    #[test]
    fn the_cost_estimate_is_never_below_what_compiling_keeps() {
        let _ = kept_by_compiling(&json!({"type": "object", "pattern": "x"})); // the crate's one-time set-up
        let many = |n: usize, f: &dyn Fn(usize) -> (String, Value)| -> Value {
            Value::Object((0..n).map(f).collect())
        };
        let mut deep = json!({"type": "string"});
        for _ in 0..60 {
            deep = json!({"type": "object", "properties": {"x": deep}, "required": ["x"]});
        }
        let mut shapes = vec![
            json!({"type": "object", "properties": {"city": {"type": "string", "maxLength": 100}}, "required": ["city"]}),
            json!({"type": "object", "properties": many(300, &|i| (format!("p{i}"), json!({"type": "string"})))}),
            deep,
            json!({"enum": (0..2000).map(|i| format!("v{i}")).collect::<Vec<_>>()}),
            json!({"$defs": many(100, &|i| (format!("d{i}"), json!({"properties": {"a": {"$ref": format!("#/$defs/d{}", (i + 1) % 100)}}}))), "$ref": "#/$defs/d0"}),
            json!({"anyOf": (0..300).map(|i| json!({"required": [format!("k{i}")]})).collect::<Vec<_>>()}),
            json!({"patternProperties": many(100, &|i| (format!("^x{i}[a-z]+$"), json!({"type": "integer"})))}),
        ];
        for n in [10, 200, 700] {
            shapes.push(json!({"type": "string", "pattern": format!("\\w{{{n}}}")}));
            shapes.push(json!({"type": "string", "pattern": format!("(a|b|c|d){{{n}}}")}));
        }
        let mut compiled = 0;
        for schema in &shapes {
            let Some(kept) = kept_by_compiling(schema) else {
                continue; // past the pattern cap: refused, nothing kept
            };
            compiled += 1;
            let estimate = cost(schema, digest(schema).1);
            assert!(
                kept <= estimate,
                "kept {kept} > estimate {estimate} for {:.120}",
                schema.to_string()
            );
        }
        assert!(
            compiled >= shapes.len() - 1,
            "only {compiled} of {} shapes compiled",
            shapes.len()
        );
    }

    #[test]
    fn a_pattern_past_the_size_cap_does_not_compile() {
        let cache = SchemaCache::default();
        assert!(cache.compile(&json!({"pattern": "(a|b|c|d){100}"})).is_ok());
        assert!(
            cache
                .compile(&json!({"pattern": "(a|b|c|d){5000}"}))
                .is_err()
        );
    }

    #[test]
    fn patterns_are_counted_wherever_they_are() {
        let schema = json!({"properties": {"pattern": {"pattern": "a"}, "b": {"items": [{"pattern": "b"}]}},
            "patternProperties": {"^x": {}, "^y": {"pattern": "c"}}, "enum": ["pattern"]});
        assert_eq!(patterns(&schema), 5);
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
