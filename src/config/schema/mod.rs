//! The config reference, from one table: a JSON Schema (draft 2020-12) for editors (`agent-gateway schema`,
//! yaml-language-server) and the Markdown of `docs/config.md`.
//!
//! Every mapping the decoder reads is one [`Def`] below, with its fields in the order of the decoder's known-field
//! list (`table.rs`). `tests/config_schema/` scans the decoder's sources for those lists and fails when a field is in the
//! decoder but not here (or the other way round), when an allowed value is missing from an enum, when
//! `docs/config.md` is not what [`reference_markdown`] makes, and when the schema and `config::load_str` disagree
//! on a document. Change the decoder, then this table, then regenerate the docs with
//! `UPDATE_CONFIG_DOCS=1 cargo test --test config_schema`.

use serde_json::{Map, Value, json};

mod markdown;
mod table;

pub use markdown::reference_markdown;
use table::{DEFS, DURATION, POSITIVE_DURATION};

/// What a value must be. Each type maps to a schema and to the words the docs use for it.
#[derive(Clone, Copy)]
enum Ty {
    /// A string that is not empty or blank (names, paths, file names).
    Text,
    /// Any string.
    Str,
    Bool,
    /// An integer in `min..=max`.
    Int(i64, i64),
    /// A number (integer or not) in `min..=max`.
    Num(f64, f64),
    /// `300s`, `1.5s`, `500ms`, `1m`, `1h`; zero allowed.
    Duration,
    /// A duration longer than zero.
    PositiveDuration,
    /// A string matching a regular expression; the second part is what the docs call it.
    Pattern(&'static str, &'static str),
    Enum(&'static [&'static str]),
    /// A list of the item type with at least `min` items. An empty value (`key:`) reads as an empty list.
    List(&'static Ty, usize),
    /// A mapping of names (matching the pattern, if any) to strings.
    StrMap(Option<&'static str>),
    /// Any mapping (not looked into).
    AnyMap,
    /// Another [`Def`], by id.
    Ref(&'static str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Req {
    No,
    Yes,
    /// Required unless the mapping says `enabled: false`.
    WhenEnabled,
}

#[derive(Clone, Copy)]
enum Dflt {
    No,
    Str(&'static str),
    Int(i64),
    Num(f64),
    Bool(bool),
    /// A default that is not a constant (e.g. "the backend name"): in the description only.
    Doc(&'static str),
}

#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    ty: Ty,
    req: Req,
    default: Dflt,
    /// The value of an example, as YAML (flow style). Empty only for a field whose type is a [`Def`]: its example
    /// is that section's.
    example: &'static str,
    desc: &'static str,
}

const fn f(name: &'static str, ty: Ty, example: &'static str, desc: &'static str) -> Field {
    Field {
        name,
        ty,
        req: Req::No,
        default: Dflt::No,
        example,
        desc,
    }
}

impl Field {
    const fn req(mut self) -> Field {
        self.req = Req::Yes;
        self
    }
    const fn when_enabled(mut self) -> Field {
        self.req = Req::WhenEnabled;
        self
    }
    const fn default(mut self, d: Dflt) -> Field {
        self.default = d;
        self
    }
}

/// One value of a discriminator field (`type:`) and what it requires or rules out.
struct Variant {
    value: &'static str,
    /// This variant also applies when the discriminator is absent.
    when_absent: bool,
    requires: &'static [&'static str],
    forbids: &'static [&'static str],
    /// Fields of a nested mapping: (field holding it, fields required in it, fields ruled out in it).
    nested: &'static [(
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    )],
    /// An example of this variant, as YAML.
    example: &'static str,
}

/// A mapping of the config.
struct Def {
    /// The key in `$defs` and the anchor in the docs.
    id: &'static str,
    /// Where it stands in the file, e.g. `binds[].listeners[]`.
    path: &'static str,
    desc: &'static str,
    fields: &'static [Field],
    /// The field whose value selects a variant, and the variants.
    discriminator: Option<(&'static str, &'static [Variant])>,
    /// Pairs of fields that may not both be set.
    exclusive: &'static [(&'static str, &'static str)],
    /// Pairs of fields that are set together or not at all.
    together: &'static [(&'static str, &'static str)],
    /// What other keys may hold; `None`: no other keys (the decoder reports them as unknown).
    additional: Option<Ty>,
    /// An example of the whole mapping, as YAML.
    example: &'static str,
}

const DEF: Def = Def {
    id: "",
    path: "",
    desc: "",
    fields: &[],
    discriminator: None,
    exclusive: &[],
    together: &[],
    additional: None,
    example: "",
};

fn def(id: &str) -> &'static Def {
    DEFS.iter()
        .find(|d| d.id == id)
        .unwrap_or_else(|| panic!("no config schema def {id}"))
}

/// An empty value (`key:`) reads as an empty mapping; it is valid when nothing in it is required.
fn nullable(d: &Def) -> bool {
    d.fields.iter().all(|f| f.req == Req::No) && d.discriminator.is_none()
}

fn ty_schema(ty: &Ty) -> Value {
    match *ty {
        Ty::Text => json!({"type": "string", "pattern": r"\S"}),
        Ty::Str => json!({"type": "string"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Int(min, max) => {
            let mut s = json!({"type": "integer", "minimum": min});
            if max != i64::MAX {
                s["maximum"] = json!(max);
            }
            s
        }
        Ty::Num(min, max) => json!({"type": "number", "minimum": min, "maximum": max}),
        Ty::Duration => json!({"type": "string", "pattern": DURATION}),
        Ty::PositiveDuration => json!({"type": "string", "pattern": POSITIVE_DURATION}),
        Ty::Pattern(re, _) => json!({"type": "string", "pattern": re}),
        Ty::Enum(values) => json!({"type": "string", "enum": values}),
        Ty::List(item, min) => {
            let mut s = json!({"items": ty_schema(item)});
            if min > 0 {
                s["type"] = json!("array");
                s["minItems"] = json!(min);
            } else {
                s["type"] = json!(["array", "null"]);
            }
            s
        }
        Ty::StrMap(keys) => {
            let mut s =
                json!({"type": ["object", "null"], "additionalProperties": {"type": "string"}});
            if let Some(re) = keys {
                s["propertyNames"] = json!({"pattern": re});
            }
            s
        }
        Ty::AnyMap => json!({"type": ["object", "null"]}),
        Ty::Ref(id) => json!({"$ref": format!("#/$defs/{id}")}),
    }
}

fn default_value(d: Dflt) -> Option<Value> {
    match d {
        Dflt::No | Dflt::Doc(_) => None,
        Dflt::Str(s) => Some(json!(s)),
        Dflt::Int(i) => Some(json!(i)),
        Dflt::Num(n) => Some(json!(n)),
        Dflt::Bool(b) => Some(json!(b)),
    }
}

fn field_schema(f: &Field) -> Value {
    let mut s = ty_schema(&f.ty);
    let mut desc = f.desc.to_string();
    if let Dflt::Doc(d) = f.default {
        desc.push_str(&format!(" Default: {d}."));
    }
    s["description"] = json!(desc);
    if let Some(v) = default_value(f.default) {
        s["default"] = v;
    }
    s
}

fn def_schema(d: &Def) -> Value {
    let mut props = Map::new();
    for f in d.fields {
        props.insert(f.name.to_string(), field_schema(f));
    }
    let mut s = json!({
        "type": if nullable(d) { json!(["object", "null"]) } else { json!("object") },
        "description": d.desc,
        "properties": props,
        "additionalProperties": d.additional.map_or(json!(false), |t| ty_schema(&t)),
    });
    let required: Vec<&str> = d
        .fields
        .iter()
        .filter(|f| f.req == Req::Yes)
        .map(|f| f.name)
        .collect();
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    let mut all_of = Vec::new();
    let when_enabled: Vec<&str> = d
        .fields
        .iter()
        .filter(|f| f.req == Req::WhenEnabled)
        .map(|f| f.name)
        .collect();
    if !when_enabled.is_empty() {
        all_of.push(json!({
            "if": {"properties": {"enabled": {"const": false}}, "required": ["enabled"]},
            "else": {"required": when_enabled},
        }));
    }
    for (a, b) in d.exclusive {
        all_of.push(json!({"not": {"required": [a, b]}}));
    }
    if !d.together.is_empty() {
        let mut dependent = Map::new();
        for (a, b) in d.together {
            dependent.insert(a.to_string(), json!([b]));
            dependent.insert(b.to_string(), json!([a]));
        }
        s["dependentRequired"] = Value::Object(dependent);
    }
    if let Some((key, variants)) = d.discriminator {
        for v in variants {
            let mut cond = json!({"properties": {key: {"const": v.value}}});
            if !v.when_absent {
                cond["required"] = json!([key]);
            }
            let mut then_props = Map::new();
            for name in v.forbids {
                then_props.insert(name.to_string(), json!(false));
            }
            for (field, requires, forbids) in v.nested {
                let mut inner = json!({
                    "properties": forbids.iter().map(|n| (n.to_string(), json!(false))).collect::<Map<_, _>>(),
                });
                if !requires.is_empty() {
                    inner["type"] = json!("object");
                    inner["required"] = json!(requires);
                }
                then_props.insert(field.to_string(), inner);
            }
            let mut then = json!({"properties": then_props});
            if !v.requires.is_empty() {
                then["required"] = json!(v.requires);
            }
            all_of.push(json!({"if": cond, "then": then}));
        }
    }
    if !all_of.is_empty() {
        s["allOf"] = json!(all_of);
    }
    s
}

/// The JSON Schema (draft 2020-12) of a config file: the bare `gateway.yaml` document or the ConfigMap wrapping
/// it. For editors, e.g. with yaml-language-server: `# yaml-language-server: $schema=gateway.schema.json`.
pub fn json_schema() -> Value {
    let defs: Map<String, Value> = DEFS
        .iter()
        .map(|d| (d.id.to_string(), def_schema(d)))
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "agent-gateway config",
        "description": "The agent-gateway config: the bare gateway.yaml document, or a Kubernetes ConfigMap holding it under data.gateway.yaml. `agent-gateway validate FILE` checks what a schema cannot (duplicate names and ports, embedded ConfigMap text). Reference: docs/config.md.",
        "oneOf": [{"$ref": "#/$defs/GatewayConfig"}, {"$ref": "#/$defs/ConfigMap"}],
        "$defs": defs,
    })
}

/// An example from the reference: of a whole mapping (`field: None`), of one field's value, or of one variant
/// (`field: Some("type=<value>")`). For the tests, which check every example against the schema.
pub struct Example {
    pub def: &'static str,
    pub field: Option<String>,
    pub yaml: String,
}

/// Every example in the reference.
pub fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    for d in DEFS {
        out.push(Example {
            def: d.id,
            field: None,
            yaml: d.example.to_string(),
        });
        for f in d.fields.iter().filter(|f| !f.example.is_empty()) {
            out.push(Example {
                def: d.id,
                field: Some(f.name.to_string()),
                yaml: f.example.to_string(),
            });
        }
        if let Some((key, variants)) = d.discriminator {
            for v in variants {
                out.push(Example {
                    def: d.id,
                    field: Some(format!("{key}={}", v.value)),
                    yaml: v.example.to_string(),
                });
            }
        }
    }
    out
}

/// Fields whose type is neither a mapping of its own nor has an example: none should exist (the tests check).
pub fn fields_without_example() -> Vec<String> {
    DEFS.iter()
        .flat_map(|d| {
            d.fields
                .iter()
                .filter(|f| {
                    f.example.is_empty() && !matches!(f.ty, Ty::Ref(_) | Ty::List(Ty::Ref(_), _))
                })
                .map(move |f| format!("{}.{}", d.id, f.name))
        })
        .collect()
}

/// The JSON Schema of one mapping of the reference (with all definitions), e.g. `"Backend"`; for the tests.
pub fn def_json_schema(id: &str) -> Value {
    let _ = def(id);
    let mut s = json_schema();
    s.as_object_mut().unwrap().remove("oneOf");
    s["$ref"] = json!(format!("#/$defs/{id}"));
    s
}

/// The JSON Schema of one field of a mapping (with all definitions); for the tests.
pub fn field_json_schema(id: &str, field: &str) -> Value {
    let d = def(id);
    let f = d
        .fields
        .iter()
        .find(|f| f.name == field)
        .unwrap_or_else(|| panic!("{id} has no field {field}"));
    let mut s = json_schema();
    s.as_object_mut().unwrap().remove("oneOf");
    let obj = s.as_object_mut().unwrap();
    for (k, v) in field_schema(f).as_object().unwrap() {
        obj.insert(k.clone(), v.clone());
    }
    s
}
