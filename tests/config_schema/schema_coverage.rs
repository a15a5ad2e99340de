//! The decoder's fields and values are in the schema and the docs, and docs/config.md is what the schema table
//! makes (`UPDATE_CONFIG_DOCS=1` rewrites it).

use std::collections::BTreeSet;

use agent_gateway::config::schema;
use serde_json::{Map, Value, json};

use crate::decoder_scan::scan;
use crate::{read, root};

/// Walks every subschema of `v`.
fn each_schema<'a>(v: &'a Value, f: &mut dyn FnMut(&'a Map<String, Value>)) {
    match v {
        Value::Object(m) => {
            f(m);
            m.values().for_each(|c| each_schema(c, f));
        }
        Value::Array(items) => items.iter().for_each(|c| each_schema(c, f)),
        _ => {}
    }
}

#[test]
fn every_field_and_value_the_decoder_knows_is_in_the_schema_and_the_docs() {
    let s = scan();
    assert!(
        s.obj_lists.len() >= 30,
        "{} cx.obj calls found",
        s.obj_lists.len()
    );
    let schema = schema::json_schema();
    // Mappings that take no other keys, and every enum.
    let mut strict: Vec<BTreeSet<String>> = Vec::new();
    let mut enums: Vec<BTreeSet<String>> = Vec::new();
    each_schema(&schema, &mut |m| {
        if m.get("additionalProperties") == Some(&json!(false))
            && let Some(Value::Object(p)) = m.get("properties")
        {
            strict.push(p.keys().cloned().collect());
        }
        if let Some(Value::Array(e)) = m.get("enum") {
            enums.push(
                e.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
            );
        }
    });
    let docs = read(&root().join("docs/config.md"));
    let mut problems = Vec::new();
    for (at, fields) in &s.obj_lists {
        if !strict.contains(fields) {
            let close = strict
                .iter()
                .max_by_key(|p| p.intersection(fields).count())
                .unwrap();
            problems.push(format!(
                "{at}: the decoder's fields {fields:?} are not the properties of any mapping in the schema \
                 (closest: {close:?}; missing {:?}, extra {:?})",
                fields.difference(close).collect::<Vec<_>>(),
                close.difference(fields).collect::<Vec<_>>()
            ));
        }
        for field in fields {
            if !docs.contains(&format!("| `{field}` |")) {
                problems.push(format!(
                    "{at}: docs/config.md has no row for field `{field}`"
                ));
            }
        }
    }
    for props in &strict {
        if !s.obj_lists.iter().any(|(_, f)| f == props) {
            problems.push(format!(
                "the schema has a mapping with {props:?}, which no cx.obj call of the decoder reads"
            ));
        }
    }
    for (at, values) in &s.value_lists {
        // A `const` list may also be a known-field list (backend.rs's MCP_FIELDS); the cx.obj check covers those.
        let const_fields = at.contains(": ") && strict.contains(values);
        if !enums.contains(values) && !const_fields {
            problems.push(format!(
                "{at}: the values {values:?} are not an enum of the schema"
            ));
        }
        for v in values {
            if !docs.contains(&format!("`{v}`")) {
                problems.push(format!("{at}: docs/config.md does not mention `{v}`"));
            }
        }
    }
    for (at, values) in &s.subsets {
        if !enums.iter().any(|e| e.is_superset(values)) {
            problems.push(format!(
                "{at}: {values:?} are not all values of one enum of the schema"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn docs_are_generated_from_the_schema_table() {
    let path = root().join("docs/config.md");
    let want = schema::reference_markdown();
    if std::env::var_os("UPDATE_CONFIG_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/config.md is not what src/config/schema/ makes; run `UPDATE_CONFIG_DOCS=1 cargo test --test config_schema`"
    );
}
