//! The schema compiles; every example of the reference and every shipped config (examples/, deploy/kubernetes/)
//! is valid for it and for the decoder.

use std::collections::BTreeSet;

use agent_gateway::config::schema;

use crate::validate::{assert_valid, check_gateway_text, compile};
use crate::yaml::{parse_docs, parse_one};
use crate::{read, root, walk};

#[test]
fn schema_compiles_and_every_example_in_the_reference_is_valid() {
    let s = schema::json_schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    compile(&s);
    assert_eq!(
        schema::fields_without_example(),
        Vec::<String>::new(),
        "every scalar field needs an example"
    );
    let examples = schema::examples();
    assert!(examples.len() > 100, "{} examples", examples.len());
    for ex in examples {
        let what = format!(
            "example of {}.{}",
            ex.def,
            ex.field.as_deref().unwrap_or("*")
        );
        let (validator, value) = match ex.field.as_deref() {
            // A field's example: `name: value` as the docs show it.
            Some(field) if !field.contains('=') => (
                compile(&schema::field_json_schema(ex.def, field)),
                parse_docs(&format!("v: {}", ex.yaml), &what)
                    .remove(0)
                    .get("v")
                    .cloned()
                    .unwrap(),
            ),
            _ => (
                compile(&schema::def_json_schema(ex.def)),
                parse_one(&ex.yaml, &what),
            ),
        };
        assert_valid(&validator, &value, &what);
    }
}

/// `examples/` and `deploy/kubernetes/`: every bare config and every ConfigMap holding `gateway.yaml`.
#[test]
fn shipped_configs_are_valid() {
    let v = compile(&schema::json_schema());
    let mut checked = BTreeSet::new();
    for dir in ["examples", "deploy/kubernetes"] {
        for path in walk(&root().join(dir)) {
            if !matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                continue;
            }
            let rel = path.strip_prefix(root()).unwrap().display().to_string();
            let text = read(&path);
            for (i, doc) in parse_docs(&text, &rel).into_iter().enumerate() {
                let what = format!("{rel}#{i}");
                if doc.get("binds").is_some() {
                    assert_valid(&v, &doc, &what);
                    if parse_docs(&text, &rel).len() == 1 {
                        check_gateway_text(&text, &rel);
                    }
                    checked.insert(rel.clone());
                } else if doc["kind"] == "ConfigMap"
                    && let Some(inner) = doc["data"]["gateway.yaml"].as_str()
                {
                    assert_valid(&v, &doc, &what);
                    check_gateway_text(inner, &format!("{what}:data.gateway.yaml"));
                    checked.insert(rel.clone());
                }
            }
        }
    }
    for must in [
        "examples/eks/config.yaml",
        "examples/quickstart.yaml",
        "deploy/kubernetes/agent-gateway.yaml",
    ] {
        assert!(
            checked.contains(must),
            "{must} was not checked: {checked:?}"
        );
    }
}
