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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use agent_gateway::config::{self, schema};
use serde_json::{Map, Value, json};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml_to_json(y: &Yaml, at: &str) -> Value {
    match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => json!(i),
        Yaml::Real(s) => json!(
            s.parse::<f64>()
                .unwrap_or_else(|_| panic!("{at}: bad number {s}"))
        ),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| yaml_to_json(v, &format!("{at}[{i}]")))
                .collect(),
        ),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let Yaml::String(k) = k else {
                    panic!("{at}: non-string key {k:?}")
                };
                m.insert(k.clone(), yaml_to_json(v, &format!("{at}.{k}")));
            }
            Value::Object(m)
        }
        other => panic!("{at}: unsupported YAML node {other:?}"),
    }
}

fn parse_docs(text: &str, what: &str) -> Vec<Value> {
    YamlLoader::load_from_str(text)
        .unwrap_or_else(|e| panic!("{what}: {e}\n{text}"))
        .iter()
        .map(|d| yaml_to_json(d, what))
        .filter(|v| !v.is_null())
        .collect()
}

fn parse_one(text: &str, what: &str) -> Value {
    let mut docs = parse_docs(text, what);
    assert_eq!(docs.len(), 1, "{what}: expected one YAML document");
    docs.remove(0)
}

fn compile(schema: &Value) -> jsonschema::Validator {
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
fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<(String, String)> {
    v.iter_errors(instance)
        .map(|e| (dotted(e.instance_path().as_str()), e.to_string()))
        .collect()
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors = schema_errors(v, instance);
    assert!(
        errors.is_empty(),
        "{what} is not valid for the schema: {errors:#?}\n{instance:#}"
    );
}

/// A gateway.yaml text: valid for the decoder and for the schema.
fn check_gateway_text(text: &str, what: &str) {
    if let Err(d) = config::load_str(text, what) {
        let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
        panic!("{what}: load_str refused it:\n{}", lines.join("\n"));
    }
    let v = compile(&schema::json_schema());
    assert_valid(&v, &parse_one(text, what), what);
}

// -----------------------------------------------------------------------------------------------------------------
// (a) the schema compiles; examples and shipped configs validate
// -----------------------------------------------------------------------------------------------------------------

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

// The chart's ConfigMap template, rendered for every combination of its `if` switches. The renderer knows only
// what that template uses (plain values, `if`/`else`/`end`, `indent`/`nindent`) and refuses anything else.

fn lookup<'a>(values: &'a Value, path: &str) -> &'a Value {
    let mut v = values;
    for part in path.split('.') {
        v = &v[part];
    }
    v
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
        && v.as_str() != Some("")
        && v.as_f64() != Some(0.0)
        && v.as_array().is_none_or(|a| !a.is_empty())
}

fn eval(expr: &str, values: &Value) -> Value {
    if let Some(path) = expr.strip_prefix(".Values.") {
        return lookup(values, path).clone();
    }
    match expr {
        ".Release.Name" => json!("agent-gateway"),
        ".Release.Namespace" => json!("agent-gateway"),
        _ => panic!("configmap.yaml: the test's renderer does not know `{expr}`; extend it"),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => panic!("configmap.yaml: a value used by the template is missing"),
        other => other.to_string(),
    }
}

fn render(template: &str, values: &Value) -> String {
    let mut out = String::new();
    let mut active: Vec<(bool, bool)> = Vec::new(); // (this branch taken, parent active)
    let on = |active: &Vec<(bool, bool)>| active.last().is_none_or(|&(b, p)| b && p);
    let mut rest = template;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let end = rest[start..].find("}}").expect("unclosed {{") + start;
        let mut action = &rest[start + 2..end];
        if let Some(a) = action.strip_prefix('-') {
            text = text.trim_end();
            action = a;
        }
        trim_next = action.ends_with('-');
        let action = action.trim_end_matches('-').trim();
        if on(&active) {
            out.push_str(text);
        }
        rest = &rest[end + 2..];
        if let Some(cond) = action.strip_prefix("if ") {
            let parent = on(&active);
            active.push((truthy(&eval(cond.trim(), values)), parent));
        } else if action == "else" {
            let (b, p) = active.pop().expect("else without if");
            active.push((!b, p));
        } else if action == "end" {
            active.pop().expect("end without if");
        } else if on(&active) {
            let mut parts = action.split('|').map(str::trim);
            let mut s = text_of(&eval(parts.next().unwrap(), values));
            for filter in parts {
                let (name, n) = filter.split_once(' ').unwrap_or((filter, ""));
                let pad = " ".repeat(n.trim().parse().unwrap_or_else(|_| {
                    panic!("configmap.yaml: `{filter}`: the test's renderer does not know it")
                }));
                let indented: Vec<String> = s.lines().map(|l| format!("{pad}{l}")).collect();
                s = match name {
                    "indent" => indented.join("\n"),
                    "nindent" => format!("\n{}", indented.join("\n")),
                    _ => panic!("configmap.yaml: the test's renderer does not know `{name}`"),
                };
            }
            out.push_str(&s);
        }
    }
    if on(&active) {
        out.push_str(if trim_next { rest.trim_start() } else { rest });
    }
    assert!(active.is_empty(), "configmap.yaml: unclosed if");
    out
}

#[test]
fn every_config_the_helm_chart_makes_is_valid() {
    let chart = root().join("deploy/helm/agentgateway");
    let template = read(&chart.join("templates/configmap.yaml"));
    let defaults = parse_one(&read(&chart.join("values.yaml")), "values.yaml");
    let switches: BTreeSet<&str> = template
        .match_indices("if .Values.")
        .map(|(i, _)| {
            let s = &template[i + "if .Values.".len()..];
            &s[..s.find(|c: char| c.is_whitespace() || c == '}').unwrap()]
        })
        .collect();
    assert!(switches.len() >= 3, "{switches:?}");
    let v = compile(&schema::json_schema());
    for combo in 0..(1u32 << switches.len()) {
        let mut values = defaults.clone();
        let mut set = Vec::new();
        for (bit, path) in switches.iter().enumerate() {
            let on = combo & (1 << bit) != 0;
            let mut at = &mut values;
            for part in path.split('.') {
                at = &mut at[part];
            }
            *at = json!(on);
            set.push(format!("{path}={on}"));
        }
        let what = format!("configmap.yaml with {}", set.join(", "));
        let cm = parse_one(&render(&template, &values), &what);
        assert_valid(&v, &cm, &what);
        let inner = cm["data"]["gateway.yaml"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no data.gateway.yaml"));
        check_gateway_text(inner, &what);
    }
    // The defaults as they are (not only switched).
    let cm = parse_one(&render(&template, &defaults), "configmap.yaml");
    check_gateway_text(
        cm["data"]["gateway.yaml"].as_str().unwrap(),
        "configmap.yaml",
    );
}

// -----------------------------------------------------------------------------------------------------------------
// (b) the decoder's fields and values are in the schema and the docs
// -----------------------------------------------------------------------------------------------------------------

/// The decoder's sources, without unit tests and comment lines.
fn decoder_sources() -> Vec<(String, String)> {
    let dir = root().join("src/config");
    let mut out = Vec::new();
    for path in walk(&dir) {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".rs") || path.starts_with(dir.join("schema")) {
            continue;
        }
        let text = read(&path);
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let code: Vec<&str> = code
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        out.push((name, code.join("\n")));
    }
    assert!(out.len() >= 10, "src/config has {} files?", out.len());
    out
}

/// The string literals in `s`.
fn literals(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => lit.extend(chars.next()),
                '"' => break,
                c => lit.push(c),
            }
        }
        out.push(lit);
    }
    out
}

/// The text from `open` (an opening bracket at `s[0]`) to its matching close, exclusive, and the rest.
fn balanced(s: &str) -> (&str, &str) {
    let mut depth = 0;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return (&s[1..i], &s[i + 1..]);
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced: {}", &s[..s.len().min(80)])
}

/// Top-level comma-separated arguments of an argument list's text.
fn args(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0;
    let mut in_str = false;
    for c in s.chars() {
        match c {
            '"' => in_str = !in_str,
            '(' | '[' | '{' if !in_str => depth += 1,
            ')' | ']' | '}' if !in_str => depth -= 1,
            ',' if depth == 0 && !in_str => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().unwrap().push(c);
    }
    out.into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

struct Scan {
    /// Known-field lists of `cx.obj` calls, with where they are.
    obj_lists: Vec<(String, BTreeSet<String>)>,
    /// Allowed values: `cx.choice` lists, `const` string lists and the first column of `const` tuple tables.
    value_lists: Vec<(String, BTreeSet<String>)>,
    /// `const` string lists named `ACTIVE_*`: each must be a subset of an enum.
    subsets: Vec<(String, BTreeSet<String>)>,
}

fn scan() -> Scan {
    let mut scan = Scan {
        obj_lists: Vec::new(),
        value_lists: Vec::new(),
        subsets: Vec::new(),
    };
    for (file, code) in decoder_sources() {
        // `const NAME: &[&str] = &[...]` and `const NAME: &[(&str, ...)] = &[(...), ...]`.
        let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut tables: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for (i, _) in code.match_indices("const ") {
            let decl = &code[i + 6..];
            let Some((name, ty)) = decl.split_once(':') else {
                continue;
            };
            let name = name.trim().to_string();
            let ty = ty.trim_start();
            let Some(eq) = ty.find("= &[") else { continue };
            let (body, _) = balanced(&ty[eq + 3..]);
            if ty.starts_with("&[&str]") {
                lists.insert(name, literals(body));
            } else if ty.starts_with("&[(&str") {
                let mut rows = Vec::new();
                let mut rest = body;
                while let Some(open) = rest.find('(') {
                    let (row, after) = balanced(&rest[open..]);
                    rows.push(literals(row));
                    rest = after;
                }
                tables.insert(name, rows);
            }
        }
        for (name, values) in &lists {
            let set: BTreeSet<String> = values.iter().cloned().collect();
            if name.starts_with("ACTIVE_") {
                scan.subsets.push((format!("{file}: {name}"), set));
            } else {
                scan.value_lists.push((format!("{file}: {name}"), set));
            }
        }
        for (name, rows) in &tables {
            let first: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
            scan.value_lists
                .push((format!("{file}: {name} (first column)"), first));
        }
        // A `let NAME ... = ...;` made of literals and `TABLE.iter().map(|t| t.N)` columns (the policy fields).
        let local = |var: &str| -> Option<BTreeSet<String>> {
            let at = code.find(&format!("let {var}"))?;
            let stmt = &code[at..at + code[at..].find(';')?];
            let mut set: BTreeSet<String> = literals(stmt).into_iter().collect();
            for (name, rows) in &tables {
                for (j, _) in stmt.match_indices(&format!("{name}.iter().map(|t| t.")) {
                    let col: usize = stmt[j..]
                        .split("t.")
                        .nth(1)?
                        .split(')')
                        .next()?
                        .parse()
                        .ok()?;
                    set.extend(rows.iter().map(|r| r[col].clone()));
                }
            }
            Some(set)
        };
        let resolve = |arg: &str, at: &str| -> BTreeSet<String> {
            if arg.starts_with("&[") {
                return literals(arg).into_iter().collect();
            }
            if let Some(l) = lists.get(arg) {
                return l.iter().cloned().collect();
            }
            if let Some(var) = arg.strip_prefix('&')
                && let Some(set) = local(var)
            {
                return set;
            }
            panic!("{at}: the scanner cannot read the list `{arg}`; extend tests/config_schema.rs");
        };
        for (call, into_obj) in [(".obj(", true), (".choice(", false)] {
            for (i, _) in code.match_indices(call) {
                let line = code[..i].lines().count();
                let at = format!("src/config/{file}:{line}");
                let (inner, _) = balanced(&code[i + call.len() - 1..]);
                let a = args(inner);
                assert_eq!(a.len(), 3, "{at}: expected 3 arguments, found {a:?}");
                let set = resolve(&a[2], &at);
                if into_obj {
                    scan.obj_lists.push((at, set));
                } else {
                    scan.value_lists.push((at, set));
                }
            }
        }
    }
    scan
}

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

/// The scanner itself: a field added to a decoder list is noticed.
#[test]
fn the_scanner_reads_literal_const_and_table_lists() {
    let s = scan();
    let has = |fields: &[&str]| {
        let want: BTreeSet<String> = fields.iter().map(|f| f.to_string()).collect();
        s.obj_lists.iter().any(|(_, f)| *f == want)
    };
    assert!(has(&["port", "address", "listeners"]), "literal list");
    assert!(
        has(&[
            "endpoint",
            "protocol",
            "timeout",
            "prefix",
            "forwardAuthorization",
            "headers",
            "command",
            "args",
            "env"
        ]),
        "const list (backend MCP_FIELDS)"
    );
    assert!(
        has(&["type", "jwt", "mcp", "a2a", "rateLimit", "timeout", "retry"]),
        "policy fields from the TYPES table"
    );
    let values = |v: &[&str]| {
        let want: BTreeSet<String> = v.iter().map(|f| f.to_string()).collect();
        s.value_lists.iter().any(|(_, f)| *f == want)
    };
    assert!(values(&[
        "jwt-authn",
        "mcp-authz",
        "a2a-authz",
        "rate-limit",
        "timeout",
        "retry"
    ]));
    assert!(values(&["tool-name", "agent", "principal"]));
    assert!(values(&["failOpen", "failClosed"]));
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

// -----------------------------------------------------------------------------------------------------------------
// (c) invalid documents: the schema and the decoder agree on what is wrong and where
// -----------------------------------------------------------------------------------------------------------------

const BASE: &str = r#"binds:
  - port: 8080
    listeners:
      - name: l
        routes:
          - name: r
            match: {path: {prefix: /mcp}}
            policies:
              - type: timeout
                timeout: {request: 30s}
              - type: retry
                retry: {attempts: 2, retryOn: [5xx]}
            backends:
              - name: up
                type: mcp-http
                address: "http://up:8000"
                mcp: {endpoint: /mcp}
security: {sessionTtl: 1h}
rateLimitStore: {redis: "redis://r:6379", failMode: failOpen}
"#;

const R: &str = "binds[0].listeners[0].routes[0]";

#[test]
fn the_base_document_is_valid_for_both() {
    check_gateway_text(BASE, "base");
}

#[test]
fn invalid_documents_fail_the_schema_and_the_decoder_at_the_same_place() {
    // (what, replace, with, the path both must name)
    let cases: Vec<(&str, &str, &str, String)> = vec![
        (
            "unknown field",
            "          - name: r\n",
            "          - name: r\n            colour: red\n",
            format!("{R}.colour"),
        ),
        (
            "unknown top-level field",
            "rateLimitStore:",
            "rateLimitStores:",
            "rateLimitStores".into(),
        ),
        (
            "wrong type: string port",
            "port: 8080",
            "port: \"8080\"",
            "binds[0].port".into(),
        ),
        (
            "port out of range",
            "port: 8080",
            "port: 70000",
            "binds[0].port".into(),
        ),
        (
            "wrong type: bool as string",
            "security: {sessionTtl: 1h}",
            "security: {mtls: {enabled: \"yes\", certificateAuthority: a, serverCert: b, serverKey: c}}",
            "security.mtls.enabled".into(),
        ),
        (
            "wrong type: list for a mapping",
            "match: {path: {prefix: /mcp}}",
            "match: [/mcp]",
            format!("{R}.match"),
        ),
        (
            "bad enum: backend type",
            "type: mcp-http",
            "type: mcp-htp",
            format!("{R}.backends[0].type"),
        ),
        (
            "bad enum: policy type",
            "type: timeout",
            "type: time-out",
            format!("{R}.policies[0].type"),
        ),
        (
            "bad enum: retryOn",
            "retryOn: [5xx]",
            "retryOn: [5xx, conect-failure]",
            format!("{R}.policies[1].retry.retryOn[1]"),
        ),
        (
            "bad enum: failMode",
            "failMode: failOpen",
            "failMode: open",
            "rateLimitStore.failMode".into(),
        ),
        (
            "duration without unit",
            "request: 30s",
            "request: 30",
            format!("{R}.policies[0].timeout.request"),
        ),
        (
            "zero duration",
            "request: 30s",
            "request: 0s",
            format!("{R}.policies[0].timeout.request"),
        ),
        (
            "field of another backend type",
            "mcp: {endpoint: /mcp}",
            "mcp: {endpoint: /mcp, command: node}",
            format!("{R}.backends[0].mcp.command"),
        ),
        (
            "agentName on an MCP backend",
            "mcp: {endpoint: /mcp}",
            "agentName: x",
            format!("{R}.backends[0].agentName"),
        ),
        (
            "settings under another policy's field",
            "timeout: {request: 30s}",
            "retry: {attempts: 1}",
            format!("{R}.policies[0].retry"),
        ),
        (
            "missing required field",
            "                address: \"http://up:8000\"\n",
            "",
            format!("{R}.backends[0].address"),
        ),
        (
            "path prefix without a slash",
            "prefix: /mcp",
            "prefix: mcp",
            format!("{R}.match.path.prefix"),
        ),
        (
            "endpoint without a slash",
            "endpoint: /mcp",
            "endpoint: mcp",
            format!("{R}.backends[0].mcp.endpoint"),
        ),
        (
            "address not a URL",
            "\"http://up:8000\"",
            "up:8000",
            format!("{R}.backends[0].address"),
        ),
        (
            "both session key forms",
            "security: {sessionTtl: 1h}",
            "security: {sessionKey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, sessionKeyFile: /k}",
            "security.sessionKeyFile".into(),
        ),
        (
            "short session key",
            "security: {sessionTtl: 1h}",
            "security: {sessionKey: c2hvcnQ=}",
            "security.sessionKey".into(),
        ),
        (
            "rediss",
            "redis://r:6379",
            "rediss://r:6379",
            "rateLimitStore.redis".into(),
        ),
        (
            "attempts zero",
            "attempts: 2",
            "attempts: 0",
            format!("{R}.policies[1].retry.attempts"),
        ),
        (
            "bad header name",
            "mcp: {endpoint: /mcp}",
            "mcp: {headers: {'bad header': v}}",
            format!("{R}.backends[0].mcp.headers.bad header"),
        ),
        (
            "stdio without command",
            "type: mcp-http\n                address: \"http://up:8000\"\n                mcp: {endpoint: /mcp}",
            "type: mcp-stdio\n                mcp: {args: [x]}",
            format!("{R}.backends[0].mcp.command"),
        ),
        (
            "client certificate without its key",
            "mcp: {endpoint: /mcp}",
            "tls: {certFile: client.pem}",
            format!("{R}.backends[0].tls.keyFile"),
        ),
        (
            "mtls on without files",
            "security: {sessionTtl: 1h}",
            "security: {mtls: {mode: STRICT}}",
            "security.mtls.certificateAuthority".into(),
        ),
    ];
    let root_validator = compile(&schema::json_schema());
    let bare = compile(&schema::def_json_schema("GatewayConfig"));
    let mut problems = Vec::new();
    for (what, from, to, path) in &cases {
        assert!(BASE.contains(from), "{what}: the base has no {from:?}");
        let text = BASE.replacen(from, to, 1);
        let doc = parse_one(&text, what);
        let decoder: Vec<config::Diagnostic> = match config::load_str(&text, "t.yaml") {
            Ok(_) => {
                problems.push(format!("{what}: load_str accepted it"));
                continue;
            }
            Err(d) => d.into_iter().filter(|d| d.is_error()).collect(),
        };
        if root_validator.is_valid(&doc) {
            problems.push(format!("{what}: the schema accepted it"));
            continue;
        }
        let errors = schema_errors(&bare, &doc);
        if !decoder.iter().any(|d| d.location.path == *path) {
            let got: Vec<String> = decoder.iter().map(ToString::to_string).collect();
            problems.push(format!(
                "{what}: the decoder did not report {path}: {got:#?}"
            ));
        }
        // The schema names the field itself, or the mapping holding it (unknown and missing fields).
        let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
        if !errors.iter().any(|(p, _)| p == path || p == parent) {
            problems.push(format!(
                "{what}: the schema did not report {path}: {errors:#?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_configmap_wrapper_is_checked_as_such() {
    let v = compile(&schema::json_schema());
    let wrap = |kind: &str, data: Value| json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "c"}, "data": data});
    assert!(v.is_valid(&wrap(
        "ConfigMap",
        json!({"gateway.yaml": "binds: []", "other": "x"})
    )));
    for (what, doc) in [
        (
            "not a ConfigMap",
            wrap("Secret", json!({"gateway.yaml": "x"})),
        ),
        (
            "no gateway.yaml",
            wrap("ConfigMap", json!({"gateway.yml": "x"})),
        ),
        (
            "gateway.yaml not text",
            wrap("ConfigMap", json!({"gateway.yaml": {"binds": []}})),
        ),
    ] {
        assert!(!v.is_valid(&doc), "{what}: the schema accepted it");
        let text = serde_json::to_string(&doc).unwrap();
        assert!(
            config::load_str(&text, "t.yaml").is_err(),
            "{what}: load_str accepted it"
        );
    }
}

// -----------------------------------------------------------------------------------------------------------------
// defaults: what the schema states is what the decoder fills in
// -----------------------------------------------------------------------------------------------------------------

#[test]
fn stated_defaults_are_the_decoders() {
    let s = schema::json_schema();
    let default = |def: &str, field: &str| -> Value {
        s["$defs"][def]["properties"][field]["default"].clone()
    };
    let text = BASE
        .replace("mcp: {endpoint: /mcp}", "mcp: {}")
        .replace("match: {path: {prefix: /mcp}}", "match: {path: {prefix: /mcp}}\n            mcp: {}")
        .replace(", failMode: failOpen", "")
        .replace(
            "security: {sessionTtl: 1h}",
            "security: {mtls: {certificateAuthority: a, serverCert: b, serverKey: c}}\n\
             observability: {prometheus: {}, mcp: {}, opentelemetry: {endpoint: 'http://c:4317', tracing: {}}}\nlimits: {}",
        )
        .replace(
            "              - type: retry",
            "              - type: rate-limit\n                rateLimit: {descriptors: [{key: principal, value: '*', rateLimit: {requestsPerMinute: 1}}]}\n              - type: jwt-authn\n                jwt: {issuer: i, jwksUri: 'https://k/jwks'}\n              - type: retry",
        );
    check_gateway_text(&text, "defaults");
    let c = config::load_str(&text, "defaults").unwrap().config;
    let bind = &c.binds[0];
    assert_eq!(default("Bind", "address"), json!(bind.address));
    let route = &bind.listeners[0].routes[0];
    assert_eq!(default("RouteMcp", "outputSchema"), json!("report"),);
    assert_eq!(route.mcp.output_schema, config::OutputSchemaMode::Report);
    let config::BackendKind::McpHttp { mcp, .. } = &route.backends[0].kind else {
        panic!()
    };
    assert_eq!(default("BackendMcp", "protocol"), json!("http"));
    assert_eq!(mcp.protocol, config::McpTransport::StreamableHttp);
    assert_eq!(
        default("BackendMcp", "forwardAuthorization"),
        json!(mcp.forward_authorization)
    );
    for p in &route.policies {
        match &p.kind {
            config::PolicyKind::RateLimit(r) => assert_eq!(
                default("RateLimitDescriptor", "perPrincipal"),
                json!(r.descriptors[0].per_principal)
            ),
            config::PolicyKind::JwtAuthn(j) => {
                assert_eq!(default("JwtAuthn", "mode"), json!("jwks"));
                assert_eq!(j.mode, config::JwtMode::Jwks);
            }
            _ => {}
        }
    }
    let obs = c.observability.as_ref().unwrap();
    let prom = obs.prometheus.as_ref().unwrap();
    assert_eq!(default("Prometheus", "enabled"), json!(prom.enabled));
    assert_eq!(default("Prometheus", "port"), json!(prom.port));
    assert_eq!(default("Prometheus", "path"), json!(prom.path));
    assert_eq!(
        default("McpObservability", "enabled"),
        json!(obs.mcp.as_ref().unwrap().enabled)
    );
    let otel = obs.opentelemetry.as_ref().unwrap();
    assert_eq!(default("OpenTelemetry", "enabled"), json!(otel.enabled));
    assert_eq!(default("OpenTelemetry", "protocol"), json!(otel.protocol));
    let tracing = otel.tracing.as_ref().unwrap();
    assert_eq!(default("Tracing", "enabled"), json!(tracing.enabled));
    assert_eq!(
        default("Tracing", "samplingRate"),
        json!(tracing.sampling_rate)
    );
    let mtls = c.security.mtls.as_ref().unwrap();
    assert_eq!(default("Mtls", "enabled"), json!(mtls.enabled));
    assert_eq!(default("Mtls", "mode"), json!(mtls.mode));
    assert_eq!(
        default("Limits", "maxBodyBytes"),
        json!(c.limits.max_body_bytes)
    );
    assert_eq!(
        default("Limits", "maxJsonDepth"),
        json!(c.limits.max_json_depth)
    );
    assert_eq!(default("Shutdown", "gracePeriod"), json!("25s"));
    assert_eq!(c.shutdown.grace_period, std::time::Duration::from_secs(25));
    assert_eq!(default("RateLimitStore", "failMode"), json!("failOpen"));
    assert_eq!(
        c.rate_limit_store.as_ref().unwrap().fail_mode,
        config::RateLimitFailMode::Open
    );
}
