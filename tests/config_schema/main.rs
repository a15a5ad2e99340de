//! The config's JSON Schema and `docs/config.md` against the code, so that neither can drift from the decoder.
//!
//! - The schema compiles, and every example in the reference, the shipped configs (examples/, deploy/kubernetes/)
//!   and every config the Helm chart's ConfigMap template produces (all combinations of its `if` switches) are
//!   valid for it and for `config::load_str`.
//! - The decoder's sources (src/config/*.rs) are scanned for the known-field lists passed to `cx.obj` and the
//!   allowed values passed to `cx.choice` (literal lists, `const` lists, and the policy table). Each known-field
//!   list must be the exact property set of one mapping of the schema, and every field must have a row in
//!   docs/config.md; each list of allowed values must be an `enum` of the schema. A field or value added to the
//!   decoder without a schema entry fails here.
//! - docs/config.md must be exactly what `schema::reference_markdown()` makes (`UPDATE_CONFIG_DOCS=1` rewrites it).
//! - Invalid documents (unknown field, wrong type, bad enum value, misplaced field...) fail both the schema and
//!   `load_str`, and both name the same place.
//! - The defaults the schema states are the values the decoder fills in.
//!
//! Where things are: `yaml` (YAML to JSON values), `validate` (schema validation helpers), `decoder_scan` (the
//! scanner of the decoder's sources), `base` (the valid document the later checks edit); the tests in
//! `shipped_configs`, `chart_configmap`, `schema_coverage`, `decoder_scan`, `invalid_documents` and `defaults`.
//! Paths and file reading are here.

mod base;
mod chart_configmap;
mod decoder_scan;
mod defaults;
mod invalid_documents;
mod schema_coverage;
mod shipped_configs;
mod validate;
mod yaml;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
