//! Static checks of the deployment files (no cluster and no `helm` binary on these machines).
//!
//! - The Helm chart in deploy/helm/agentgateway is rendered by a small renderer for exactly the template subset the
//!   chart uses (it fails on anything else), with its default values, with the guide's `--set` flags, and with
//!   every optional object switched on.
//! - Every rendered and every plain manifest (deploy/kubernetes, deploy/kagent) of a built-in kind is parsed into
//!   its k8s-openapi type and serialized back; a field of the input missing from the output (a field the type does
//!   not know, which serde would silently drop) fails the test.
//! - Names, labels, ports, selectors, the ConfigMap key and mount path, the Secret key and the container args are
//!   checked to agree across objects; the ConfigMap's gateway.yaml goes through `config::load_str`.
//! - deploy/kubernetes must equal what the chart renders with default values (`UPDATE_DEPLOY_MANIFESTS=1`
//!   rewrites it).
//! - KAgent resources are checked against an excerpt of KAgent's v0.9.12 CRD schemas
//!   (tests/fixtures/deploy/kagent-v0.9.12-crd-excerpt.json): kinds, apiVersions, field names, types, enums and
//!   required fields. CEL rules (x-kubernetes-validations) are not evaluated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chart_dir() -> PathBuf {
    root().join("deploy/helm/agentgateway")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------------------------
// YAML → JSON values
// ---------------------------------------------------------------------------------------------------------------

fn yaml_to_json(y: &Yaml, at: &str) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => json!(i),
        Yaml::Real(s) => {
            let f: f64 = s.parse().map_err(|_| format!("{at}: bad number {s}"))?;
            json!(f)
        }
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| yaml_to_json(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let Yaml::String(k) = k else {
                    return Err(format!("{at}: non-string key {k:?}"));
                };
                if m.insert(k.clone(), yaml_to_json(v, &format!("{at}.{k}"))?)
                    .is_some()
                {
                    return Err(format!("{at}: duplicate key {k}"));
                }
            }
            Value::Object(m)
        }
        other => return Err(format!("{at}: unsupported YAML node {other:?}")),
    })
}

/// The non-empty documents of a YAML stream.
fn parse_docs(text: &str, file: &str) -> Vec<Value> {
    let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
    docs.iter()
        .enumerate()
        .map(|(i, d)| yaml_to_json(d, &format!("{file}#{i}")).unwrap_or_else(|e| panic!("{e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn parse_one(text: &str, file: &str) -> Value {
    let mut docs = parse_docs(text, file);
    assert_eq!(docs.len(), 1, "{file}: expected one YAML document");
    docs.remove(0)
}

// ---------------------------------------------------------------------------------------------------------------
// The template renderer: the subset of Go templates + Helm functions the chart uses, and nothing else
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(i64),
    Field(String),
    Var(String, Vec<String>),
    Ident(String),
    Pipe,
    LParen,
    RParen,
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let word = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && (chars[*i].is_alphanumeric() || "._-$".contains(chars[*i])) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        return Err(format!(
                            "escapes in string literals are not supported: {src}"
                        ));
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                if i == chars.len() {
                    return Err(format!("unterminated string: {src}"));
                }
                i += 1;
                out.push(Tok::Str(s));
            }
            '.' => out.push(Tok::Field(word(&mut i))),
            '$' => {
                let w = word(&mut i);
                let mut parts = w[1..].split('.').map(str::to_string);
                let name = parts.next().unwrap_or_default();
                out.push(Tok::Var(name, parts.collect()));
            }
            c if c.is_ascii_digit() => {
                let w = word(&mut i);
                out.push(Tok::Num(w.parse().map_err(|_| format!("bad number {w}"))?));
            }
            c if c.is_alphabetic() => out.push(Tok::Ident(word(&mut i))),
            c => return Err(format!("unsupported character {c:?} in {{{{ {src} }}}}")),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Expr {
    Lit(Value),
    Field(String),
    Var(String, Vec<String>),
    Call(String, Vec<Expr>),
}

const FUNCS: &[&str] = &[
    "lookup",
    "printf",
    "index",
    "randBytes",
    "b64enc",
    "indent",
    "nindent",
    "add",
    ".Files.Get",
];

fn parse_pipeline(toks: &[Tok], pos: &mut usize) -> Result<Expr, String> {
    let mut expr = parse_command(toks, pos, None)?;
    while toks.get(*pos) == Some(&Tok::Pipe) {
        *pos += 1;
        expr = parse_command(toks, pos, Some(expr))?;
    }
    Ok(expr)
}

fn parse_command(toks: &[Tok], pos: &mut usize, piped: Option<Expr>) -> Result<Expr, String> {
    let head = toks.get(*pos).cloned().ok_or("empty command")?;
    let name = match &head {
        Tok::Ident(n) => Some(n.clone()),
        Tok::Field(f) if f == ".Files.Get" => Some(f.clone()),
        _ => None,
    };
    let Some(name) = name else {
        if piped.is_some() {
            return Err(format!("cannot pipe into {head:?}"));
        }
        return parse_operand(toks, pos);
    };
    if !FUNCS.contains(&name.as_str()) {
        return Err(format!("unsupported function {name}"));
    }
    *pos += 1;
    let mut args = Vec::new();
    while let Some(t) = toks.get(*pos) {
        if matches!(t, Tok::Pipe | Tok::RParen) {
            break;
        }
        args.push(parse_operand(toks, pos)?);
    }
    args.extend(piped);
    Ok(Expr::Call(name, args))
}

fn parse_operand(toks: &[Tok], pos: &mut usize) -> Result<Expr, String> {
    let t = toks.get(*pos).cloned().ok_or("missing operand")?;
    *pos += 1;
    Ok(match t {
        Tok::Str(s) => Expr::Lit(Value::String(s)),
        Tok::Num(n) => Expr::Lit(json!(n)),
        Tok::Field(f) => {
            let ok = f == ".Release.Name" || f == ".Release.Namespace" || f.starts_with(".Values.");
            if !ok {
                return Err(format!("unsupported field {f}"));
            }
            Expr::Field(f)
        }
        Tok::Var(n, fields) => Expr::Var(n, fields),
        Tok::LParen => {
            let e = parse_pipeline(toks, pos)?;
            if toks.get(*pos) != Some(&Tok::RParen) {
                return Err("missing )".into());
            }
            *pos += 1;
            e
        }
        other => return Err(format!("unexpected {other:?}")),
    })
}

fn parse_expr(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    let mut pos = 0;
    let e = parse_pipeline(&toks, &mut pos)?;
    if pos != toks.len() {
        return Err(format!("trailing tokens in {src}"));
    }
    Ok(e)
}

#[derive(Debug)]
enum Node {
    Text(String),
    Print(Expr),
    Assign(String, Expr),
    If(Expr, Vec<Node>, Vec<Node>),
}

/// Splits a template into text and actions, applying `{{-` and `-}}` whitespace trimming.
fn tokenize(src: &str) -> Result<Vec<(bool, String)>, String> {
    let mut parts: Vec<(bool, String)> = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_string();
        if trim_next {
            text = text.trim_start().to_string();
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unterminated {{")?;
        let mut inner = &after[..end];
        if let Some(s) = inner.strip_prefix('-') {
            if !s.starts_with([' ', '\n']) {
                return Err(format!("`{{{{-` must be followed by a space: {inner}"));
            }
            text = text.trim_end().to_string();
            inner = s;
        }
        trim_next = false;
        if let Some(s) = inner.strip_suffix('-') {
            if !s.ends_with([' ', '\n']) {
                return Err(format!("`-}}}}` must follow a space: {inner}"));
            }
            trim_next = true;
            inner = s;
        }
        parts.push((false, text));
        parts.push((true, inner.trim().to_string()));
        rest = &after[end + 2..];
    }
    let mut text = rest.to_string();
    if trim_next {
        text = text.trim_start().to_string();
    }
    parts.push((false, text));
    Ok(parts)
}

fn parse_template(src: &str) -> Result<Vec<Node>, String> {
    let parts = tokenize(src)?;
    let mut pos = 0;
    let (nodes, end) = parse_nodes(&parts, &mut pos)?;
    if let Some(end) = end {
        return Err(format!("unexpected {{{{ {end} }}}}"));
    }
    Ok(nodes)
}

/// Parses nodes up to an `else` or `end` (returned) or the end of input.
fn parse_nodes(
    parts: &[(bool, String)],
    pos: &mut usize,
) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while let Some((is_action, s)) = parts.get(*pos) {
        *pos += 1;
        if !is_action {
            if !s.is_empty() {
                nodes.push(Node::Text(s.clone()));
            }
            continue;
        }
        if s == "else" || s == "end" {
            return Ok((nodes, Some(s.clone())));
        }
        if let Some(cond) = s.strip_prefix("if ") {
            let cond = parse_expr(cond)?;
            let (then, stop) = parse_nodes(parts, pos)?;
            let otherwise = match stop.as_deref() {
                Some("end") => Vec::new(),
                Some("else") => match parse_nodes(parts, pos)? {
                    (nodes, Some(e)) if e == "end" => nodes,
                    _ => return Err("`else` without `end`".into()),
                },
                _ => return Err("`if` without `end`".into()),
            };
            nodes.push(Node::If(cond, then, otherwise));
        } else if let Some((var, expr)) = s.split_once(":=") {
            let var = var.trim();
            let name = var
                .strip_prefix('$')
                .filter(|n| n.chars().all(char::is_alphanumeric))
                .ok_or_else(|| format!("bad variable {var}"))?;
            nodes.push(Node::Assign(name.to_string(), parse_expr(expr)?));
        } else {
            nodes.push(Node::Print(parse_expr(s)?));
        }
    }
    Ok((nodes, None))
}

struct Ctx {
    values: Value,
    release_name: String,
    release_namespace: String,
    vars: BTreeMap<String, Value>,
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn as_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("cannot print {other}")),
    }
}

fn pad(n: &Value, s: &Value) -> Result<(String, String), String> {
    let n = n.as_u64().ok_or("indent width must be a number")? as usize;
    Ok((" ".repeat(n), as_text(s)?))
}

fn eval(e: &Expr, cx: &Ctx) -> Result<Value, String> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Field(f) if f == ".Release.Name" => Ok(json!(cx.release_name)),
        Expr::Field(f) if f == ".Release.Namespace" => Ok(json!(cx.release_namespace)),
        Expr::Field(f) => {
            let mut v = &cx.values;
            for part in f.trim_start_matches(".Values.").split('.') {
                v = v.get(part).ok_or_else(|| format!("{f}: no such value"))?;
            }
            Ok(v.clone())
        }
        Expr::Var(name, fields) => {
            let mut v = cx
                .vars
                .get(name)
                .ok_or_else(|| format!("${name} is not set"))?
                .clone();
            for f in fields {
                v = v.get(f).cloned().unwrap_or(Value::Null);
            }
            Ok(v)
        }
        Expr::Call(name, args) => {
            let a: Vec<Value> = args.iter().map(|x| eval(x, cx)).collect::<Result<_, _>>()?;
            match (name.as_str(), a.as_slice()) {
                // No cluster: like `helm template`, lookup finds nothing.
                ("lookup", [Value::String(_), Value::String(_), ns, name]) => {
                    as_text(ns)?;
                    as_text(name)?;
                    Ok(json!({}))
                }
                ("printf", [Value::String(fmt), rest @ ..]) => {
                    let pieces: Vec<&str> = fmt.split("%s").collect();
                    if pieces.len() != rest.len() + 1 || fmt.replace("%s", "").contains('%') {
                        return Err(format!("printf: only %s with matching arguments: {fmt}"));
                    }
                    let mut out = pieces[0].to_string();
                    for (arg, piece) in rest.iter().zip(&pieces[1..]) {
                        out += &as_text(arg)?;
                        out += piece;
                    }
                    Ok(json!(out))
                }
                ("index", [m, Value::String(k)]) => Ok(m.get(k).cloned().unwrap_or(Value::Null)),
                // Sprig's randBytes returns the bytes base64-encoded. Fixed bytes keep the output stable.
                ("randBytes", [n]) => {
                    let n = n.as_u64().ok_or("randBytes needs a number")? as usize;
                    let bytes: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(37)).collect();
                    Ok(json!(B64.encode(bytes)))
                }
                ("b64enc", [s]) => Ok(json!(B64.encode(as_text(s)?))),
                ("add", [a, b]) => match (a.as_i64(), b.as_i64()) {
                    (Some(a), Some(b)) => Ok(json!(a + b)),
                    _ => Err(format!("add: only integers: {a} {b}")),
                },
                ("indent", [n, s]) => {
                    let (p, s) = pad(n, s)?;
                    Ok(json!(format!("{p}{}", s.replace('\n', &format!("\n{p}")))))
                }
                ("nindent", [n, s]) => {
                    let (p, s) = pad(n, s)?;
                    Ok(json!(format!(
                        "\n{p}{}",
                        s.replace('\n', &format!("\n{p}"))
                    )))
                }
                (".Files.Get", [Value::String(p)]) => {
                    let path = chart_dir().join(p);
                    Ok(json!(read(&path)))
                }
                _ => Err(format!("{name}: unsupported arguments {a:?}")),
            }
        }
    }
}

fn exec(nodes: &[Node], cx: &mut Ctx, out: &mut String) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Print(e) => {
                let v = eval(e, cx)?;
                if v.is_null() {
                    return Err(format!("{e:?} has no value"));
                }
                out.push_str(&as_text(&v)?);
            }
            Node::Assign(name, e) => {
                let v = eval(e, cx)?;
                cx.vars.insert(name.clone(), v);
            }
            Node::If(cond, then, otherwise) => {
                let branch = if truthy(&eval(cond, cx)?) {
                    then
                } else {
                    otherwise
                };
                exec(branch, cx, out)?;
            }
        }
    }
    Ok(())
}

/// Applies `--set a.b=v` the way Helm parses `v` (booleans, integers, else strings).
fn set_value(values: &mut Value, path: &str, raw: &str) {
    let parsed = match raw {
        "true" => json!(true),
        "false" => json!(false),
        _ => raw
            .parse::<i64>()
            .map(|n| json!(n))
            .unwrap_or_else(|_| json!(raw)),
    };
    let mut v = values;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        v = v
            .as_object_mut()
            .unwrap()
            .entry(p.to_string())
            .or_insert_with(|| json!({}));
    }
    v.as_object_mut()
        .unwrap()
        .insert(parts[parts.len() - 1].to_string(), parsed);
}

/// A rendered template file: its name and text.
struct Rendered {
    name: String,
    text: String,
}

/// Renders every template of the chart (templates/*.yaml and NOTES.txt) as `helm install agent-gateway
/// --namespace agent-gateway --set ...` would.
fn render_chart(sets: &[(&str, &str)]) -> Vec<Rendered> {
    let mut values = parse_one(&read(&chart_dir().join("values.yaml")), "values.yaml");
    for (k, v) in sets {
        set_value(&mut values, k, v);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart_dir().join("templates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.ends_with(".yaml") || name == "NOTES.txt",
            "templates/{name}: the test renders only *.yaml and NOTES.txt (no helpers)"
        );
        let nodes =
            parse_template(&read(&path)).unwrap_or_else(|e| panic!("templates/{name}: {e}"));
        let mut cx = Ctx {
            values: values.clone(),
            release_name: "agent-gateway".into(),
            release_namespace: "agent-gateway".into(),
            vars: BTreeMap::new(),
        };
        let mut text = String::new();
        exec(&nodes, &mut cx, &mut text).unwrap_or_else(|e| panic!("templates/{name}: {e}"));
        if name != "NOTES.txt" {
            out.push(Rendered { name, text });
        }
    }
    out
}

fn rendered_docs(files: &[Rendered]) -> Vec<Value> {
    files
        .iter()
        .flat_map(|r| parse_docs(&r.text, &format!("templates/{}", r.name)))
        .collect()
}

const GUIDE_SETS: &[(&str, &str)] = &[
    ("observability.enabled", "true"),
    ("observability.opentelemetry.enabled", "true"),
    ("observability.prometheus.enabled", "true"),
    ("observability.prometheus.port", "9090"),
    ("security.jwt.enabled", "true"),
    ("security.mcp.enabled", "true"),
];

const ALL_OPTIONAL: &[(&str, &str)] = &[
    ("autoscaling.enabled", "true"),
    ("podDisruptionBudget.enabled", "true"),
    ("networkPolicy.enabled", "true"),
    ("serviceMonitor.enabled", "true"),
    ("prometheusRule.enabled", "true"),
];

// ---------------------------------------------------------------------------------------------------------------
// Typed round trip through k8s-openapi
// ---------------------------------------------------------------------------------------------------------------

/// Every field of `input` must be in `output` with the same value (numbers compared as numbers).
fn dropped(input: &Value, output: &Value, at: &str, problems: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                match o.get(k) {
                    Some(ov) => dropped(v, ov, &format!("{at}.{k}"), problems),
                    None if v.is_null() => {}
                    None => problems.push(format!("{at}.{k}: not a field of the type (dropped)")),
                }
            }
        }
        (Value::Array(i), Value::Array(o)) if i.len() == o.len() => {
            for (n, (a, b)) in i.iter().zip(o).enumerate() {
                dropped(a, b, &format!("{at}[{n}]"), problems);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => problems.push(format!("{at}: {a} came back as {b}")),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    dropped(doc, &back, "", &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn api_kind(doc: &Value) -> (String, String) {
    let s = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (s("apiVersion"), s("kind"))
}

fn name_of(doc: &Value) -> &str {
    doc.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?")
}

/// Checks a built-in kind strictly; `Ok(false)` for a kind this test checks by other means (custom resources).
fn check_typed(doc: &Value) -> Result<bool, String> {
    let (api, kind) = api_kind(doc);
    let r = match (api.as_str(), kind.as_str()) {
        ("v1", "Namespace") => round_trip::<Namespace>(doc),
        ("v1", "ServiceAccount") => round_trip::<ServiceAccount>(doc),
        ("v1", "ConfigMap") => round_trip::<ConfigMap>(doc),
        ("v1", "Secret") => round_trip::<Secret>(doc),
        ("v1", "Service") => round_trip::<Service>(doc),
        ("apps/v1", "Deployment") => round_trip::<Deployment>(doc),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => round_trip::<ClusterRole>(doc),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            round_trip::<ClusterRoleBinding>(doc)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => round_trip::<Role>(doc),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => round_trip::<RoleBinding>(doc),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => round_trip::<HorizontalPodAutoscaler>(doc),
        ("policy/v1", "PodDisruptionBudget") => round_trip::<PodDisruptionBudget>(doc),
        ("networking.k8s.io/v1", "NetworkPolicy") => round_trip::<NetworkPolicy>(doc),
        ("batch/v1", "CronJob") => round_trip::<CronJob>(doc),
        ("monitoring.coreos.com/v1", "ServiceMonitor" | "PrometheusRule") => return Ok(false),
        ("kagent.dev/v1alpha2", "Agent" | "RemoteMCPServer") => return Ok(false),
        _ => Err(format!("unknown kind {api} {kind}")),
    };
    r.map(|()| true)
        .map_err(|e| format!("{kind} {}: {e}", name_of(doc)))
}

#[test]
fn round_trip_catches_unknown_fields() {
    let good = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetPort": "http"}]}});
    assert!(check_typed(&good).unwrap());
    let typo = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetport": "http"}]}});
    let err = check_typed(&typo).unwrap_err();
    assert!(err.contains(".spec.ports[0].targetport"), "{err}");
    let unknown = json!({"apiVersion": "v9", "kind": "Service"});
    assert!(check_typed(&unknown).is_err());
}

// ---------------------------------------------------------------------------------------------------------------
// Cross-object checks
// ---------------------------------------------------------------------------------------------------------------

fn find<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| api_kind(d).1 == kind).collect()
}

fn one<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let all = find(docs, kind);
    assert_eq!(all.len(), 1, "expected one {kind}");
    all[0]
}

fn str_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// What the gateway's objects must agree on. Returns the ConfigMap's gateway.yaml.
fn check_gateway_objects(docs: &[Value], expect_secret: bool) -> String {
    for d in docs {
        check_typed(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let dep = one(docs, "Deployment");
    assert_eq!(name_of(dep), "agent-gateway");
    let pod = dep.pointer("/spec/template").unwrap();
    let pod_labels = str_map(pod.pointer("/metadata/labels"));
    assert_eq!(
        pod_labels.get("app").map(String::as_str),
        Some("agent-gateway")
    );
    let dep_selector = str_map(dep.pointer("/spec/selector/matchLabels"));
    assert!(selects(&dep_selector, &pod_labels), "Deployment selector");

    let containers = pod.pointer("/spec/containers").unwrap().as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let ports: BTreeMap<String, i64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["containerPort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ports.get("http"), Some(&8080));
    assert_eq!(ports.get("metrics"), Some(&9090));
    for probe in ["livenessProbe", "readinessProbe"] {
        let port = &c[probe]["httpGet"]["port"];
        let port = port
            .as_i64()
            .or_else(|| port.as_str().and_then(|n| ports.get(n).copied()));
        assert_eq!(port, Some(8080), "{probe} port");
    }
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(c["resources"]["requests"].is_object() && c["resources"]["limits"].is_object());

    // Security context: non-root, read-only, no capabilities, RuntimeDefault seccomp.
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    let psc = pod.pointer("/spec/securityContext").unwrap();
    assert_eq!(psc["runAsNonRoot"], true);
    assert_ne!(psc["runAsUser"], 0);

    // Service: named after the release, selects the pods, ports 8080 and 9090 onto the named container ports.
    let svc = one(docs, "Service");
    assert_eq!(name_of(svc), "agent-gateway");
    assert!(
        selects(&str_map(svc.pointer("/spec/selector")), &pod_labels),
        "Service selector"
    );
    let mut svc_ports = Vec::new();
    for p in svc.pointer("/spec/ports").unwrap().as_array().unwrap() {
        let target = &p["targetPort"];
        let target = target
            .as_i64()
            .or_else(|| target.as_str().and_then(|n| ports.get(n).copied()));
        assert_eq!(
            target,
            p["port"].as_i64(),
            "Service port {} targets the same container port",
            p["port"]
        );
        svc_ports.push(p["port"].as_i64().unwrap());
    }
    assert_eq!(svc_ports, vec![8080, 9090]);

    // ServiceAccount and the token-reviewer RBAC of the guide's step 2.
    let sa = one(docs, "ServiceAccount");
    assert_eq!(name_of(sa), "agent-gateway");
    assert_eq!(
        pod.pointer("/spec/serviceAccountName"),
        Some(&json!("agent-gateway"))
    );
    let role = one(docs, "ClusterRole");
    assert_eq!(name_of(role), "agent-gateway-token-reviewer");
    let reviews = role["rules"].as_array().unwrap().iter().any(|r| {
        r["apiGroups"] == json!(["authentication.k8s.io"])
            && r["resources"] == json!(["tokenreviews"])
            && r["verbs"].as_array().unwrap().contains(&json!("create"))
    });
    assert!(reviews, "ClusterRole grants tokenreviews create");
    let crb = one(docs, "ClusterRoleBinding");
    assert_eq!(crb["roleRef"]["name"], json!(name_of(role)));
    assert_eq!(crb["roleRef"]["kind"], "ClusterRole");
    assert_eq!(
        crb["subjects"],
        json!([{"kind": "ServiceAccount", "name": "agent-gateway", "namespace": "agent-gateway"}])
    );

    // ConfigMap: key gateway.yaml, mounted as a directory at the path the container args name.
    // The gateway's config (a registry lock, when enabled, has a ConfigMap of its own).
    let cm = find(docs, "ConfigMap")
        .into_iter()
        .find(|c| name_of(c).ends_with("-config"))
        .expect("the gateway's ConfigMap");
    assert_eq!(name_of(cm), "agent-gateway-config");
    let volumes = pod.pointer("/spec/volumes").unwrap().as_array().unwrap();
    let config_vol = volumes
        .iter()
        .find(|v| v["configMap"]["name"] == json!(name_of(cm)))
        .expect("a volume of the ConfigMap");
    assert_eq!(
        config_vol["configMap"]["items"],
        json!([{"key": "gateway.yaml", "path": "gateway.yaml"}])
    );
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == config_vol["name"])
        .expect("the config volume is mounted");
    assert!(
        mount.get("subPath").is_none(),
        "a subPath mount would not see ConfigMap updates"
    );
    let config_path = format!("{}/gateway.yaml", mount["mountPath"].as_str().unwrap());
    assert_eq!(config_path, "/etc/agent-gateway/gateway.yaml");
    assert_eq!(
        c["args"],
        json!(["run", "--config", config_path, "--log-format", "json"]),
        "container args"
    );

    // The session key: env from the Secret, whose value is 32 bytes in base64.
    let env = c["env"].as_array().unwrap();
    let key_env = env
        .iter()
        .find(|e| e["name"] == "AGENT_GATEWAY_SESSION_KEY")
        .expect("AGENT_GATEWAY_SESSION_KEY");
    let key_ref = &key_env["valueFrom"]["secretKeyRef"];
    assert_eq!(key_ref["name"], "agent-gateway-session-key");
    assert_eq!(key_ref["key"], "session-key");
    let secrets = find(docs, "Secret");
    if expect_secret {
        assert_eq!(secrets.len(), 1);
        let s = secrets[0];
        assert_eq!(name_of(s), "agent-gateway-session-key");
        let stored = s["data"]["session-key"].as_str().expect("data.session-key");
        let env_value = B64.decode(stored).expect("Secret data is base64");
        let key = B64.decode(&env_value).expect("the env value is base64");
        assert_eq!(key.len(), 32, "the session key is 32 bytes");
    } else {
        assert!(
            secrets.is_empty(),
            "plain manifests must not carry a session key"
        );
    }

    // Optional objects select the same pods and target the same Deployment and ports.
    for pdb in find(docs, "PodDisruptionBudget") {
        assert!(
            selects(
                &str_map(pdb.pointer("/spec/selector/matchLabels")),
                &pod_labels
            ),
            "PDB"
        );
    }
    for hpa in find(docs, "HorizontalPodAutoscaler") {
        assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], json!(name_of(dep)));
        assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
        assert_eq!(hpa["spec"]["minReplicas"], 2);
        assert_eq!(hpa["spec"]["maxReplicas"], 10);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            70
        );
    }
    for np in find(docs, "NetworkPolicy") {
        assert!(
            selects(
                &str_map(np.pointer("/spec/podSelector/matchLabels")),
                &pod_labels
            ),
            "NetworkPolicy"
        );
        assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 8080);
        let egress = np["spec"]["egress"].to_string();
        assert!(egress.contains("\"port\":53"), "NetworkPolicy allows DNS");
    }
    let svc_labels = str_map(svc.pointer("/metadata/labels"));
    for sm in find(docs, "ServiceMonitor") {
        assert_eq!(api_kind(sm).0, "monitoring.coreos.com/v1");
        assert!(
            selects(
                &str_map(sm.pointer("/spec/selector/matchLabels")),
                &svc_labels
            ),
            "ServiceMonitor"
        );
        assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
        assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
    }
    for pr in find(docs, "PrometheusRule") {
        let alerts = parse_one(
            &read(&root().join("deploy/prometheus/alerts.yaml")),
            "alerts.yaml",
        );
        assert_eq!(
            pr["spec"]["groups"], alerts["groups"],
            "PrometheusRule groups = deploy/prometheus/alerts.yaml"
        );
        let keys: Vec<&String> = pr["spec"].as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["groups"]);
    }
    for d in docs {
        let ns = d.pointer("/metadata/namespace").and_then(Value::as_str);
        let cluster_scoped = matches!(
            api_kind(d).1.as_str(),
            "ClusterRole" | "ClusterRoleBinding" | "Namespace"
        );
        assert_eq!(ns.is_none(), cluster_scoped, "{}: namespace", name_of(d));
        if let Some(ns) = ns {
            assert_eq!(ns, "agent-gateway");
        }
    }

    let gateway_yaml = cm["data"]["gateway.yaml"]
        .as_str()
        .expect("data.gateway.yaml")
        .to_string();
    let loaded =
        agent_gateway::config::load_str(&gateway_yaml, "gateway.yaml").unwrap_or_else(|d| {
            let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
            panic!(
                "gateway.yaml is invalid:\n{}\n---\n{gateway_yaml}",
                lines.join("\n")
            )
        });
    let bind_ports: Vec<u16> = loaded.config.binds.iter().map(|b| b.port).collect();
    assert_eq!(
        bind_ports,
        vec![8080],
        "the bind port is the container's http port"
    );
    // Kubernetes sends SIGTERM, waits terminationGracePeriodSeconds, then sends SIGKILL: the gateway's drain
    // (its grace period, then up to a second to close what is left) must fit in between.
    let termination = pod
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_u64)
        .expect("the pod sets terminationGracePeriodSeconds");
    let drain = loaded.config.shutdown.grace_period + std::time::Duration::from_secs(1);
    assert!(
        drain < std::time::Duration::from_secs(termination),
        "shutdown.gracePeriod {:?} does not fit in terminationGracePeriodSeconds {termination}",
        loaded.config.shutdown.grace_period
    );
    if let Some(prom) = loaded
        .config
        .observability
        .as_ref()
        .and_then(|o| o.prometheus.as_ref())
    {
        assert_eq!(i64::from(prom.port), ports["metrics"], "metrics port");
    }
    gateway_yaml
}

fn policy_types(gateway_yaml: &str) -> Vec<String> {
    let g = parse_one(gateway_yaml, "gateway.yaml");
    let mut out = Vec::new();
    for l in g["binds"][0]["listeners"].as_array().unwrap() {
        for r in l["routes"].as_array().unwrap() {
            for p in r["policies"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{}:{}",
                    r["name"].as_str().unwrap(),
                    p["type"].as_str().unwrap()
                ));
            }
        }
    }
    out
}

#[test]
fn chart_renders_as_the_guide_installs_it() {
    let files = render_chart(GUIDE_SETS);
    let docs = rendered_docs(&files);
    let gateway_yaml = check_gateway_objects(&docs, true);
    let g = parse_one(&gateway_yaml, "gateway.yaml");
    let jwt = &g["binds"][0]["listeners"][0]["routes"][0]["policies"][0];
    assert_eq!(jwt["type"], "jwt-authn");
    assert_eq!(
        jwt["jwt"]["jwksUri"],
        "https://kubernetes.default.svc/openid/v1/jwks"
    );
    assert_eq!(jwt["jwt"]["audiences"], json!(["agent-gateway"]));
    let types = policy_types(&gateway_yaml);
    assert!(
        types.contains(&"agent-to-mcp-tools:mcp-authz".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"agent-to-agent:jwt-authn".to_string()),
        "{types:?}"
    );
    assert_eq!(g["observability"]["prometheus"]["port"], 9090);
    assert_eq!(g["observability"]["opentelemetry"]["enabled"], true);
    let backend = &g["binds"][0]["listeners"][0]["routes"][0]["backends"][0];
    assert!(
        backend["address"].as_str().unwrap().contains("set-me"),
        "the MCP backend is a placeholder to set"
    );
}

/// `registry.enabled` with the repository's own lock: the lock lands in a ConfigMap mounted read-only at
/// the path the generated gateway.yaml names, with the mode asked for.
#[test]
fn chart_mounts_the_registry_lock() {
    let lock = read(&root().join("registry/lock.json"));
    let sets = [
        ("registry.enabled", "true"),
        ("registry.mode", "warn"),
        ("registry.lock", lock.as_str()),
    ];
    let docs = rendered_docs(&render_chart(&sets));
    let g = parse_one(&check_gateway_objects(&docs, true), "gateway.yaml");
    assert_eq!(
        g["registry"],
        serde_json::json!({"path": "/etc/agent-gateway-registry", "mode": "warn"})
    );
    let configmap = find(&docs, "ConfigMap")
        .into_iter()
        .find(|c| name_of(c) == "agent-gateway-registry")
        .expect("the registry ConfigMap");
    // The mounted file is the lock byte for byte (its signature covers the bytes).
    assert_eq!(configmap["data"]["lock.json"].as_str(), Some(lock.as_str()));
    let pod = &one(&docs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "registry")
            .unwrap()["configMap"]["name"],
        "agent-gateway-registry"
    );
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    let mount = mounts
        .iter()
        .find(|m| m["name"] == "registry")
        .expect("the registry mount");
    assert_eq!(
        (&mount["mountPath"], &mount["readOnly"]),
        (&g["registry"]["path"], &Value::Bool(true))
    );
    // Signed: the public key in the config, the signature beside the lock, and the mounted pair verifies.
    let dir = std::env::temp_dir().join(format!("agw-chart-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lock.json"), &lock).unwrap();
    let (private, public) = agent_gateway::registry::signature::keygen();
    agent_gateway::registry::signature::sign(&dir, &private).unwrap();
    let signature = read(&dir.join("lock.json.sig"));
    let sets = [
        ("registry.enabled", "true"),
        ("registry.lock", lock.as_str()),
        ("registry.publicKey", public.as_str()),
        ("registry.signature", signature.as_str()),
    ];
    let docs = rendered_docs(&render_chart(&sets));
    let g = parse_one(&check_gateway_objects(&docs, true), "gateway.yaml");
    assert_eq!(g["registry"]["publicKey"], public.as_str());
    let configmap = find(&docs, "ConfigMap")
        .into_iter()
        .find(|c| name_of(c) == "agent-gateway-registry")
        .expect("the registry ConfigMap");
    let mounted = dir.join("mounted");
    std::fs::create_dir_all(&mounted).unwrap();
    for file in ["lock.json", "lock.json.sig"] {
        std::fs::write(
            mounted.join(file),
            configmap["data"][file].as_str().unwrap(),
        )
        .unwrap();
    }
    let key = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &public).unwrap();
    agent_gateway::registry::signature::verify(&mounted, &key).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // Off by default: nothing of it is rendered.
    let docs = rendered_docs(&render_chart(&[]));
    assert!(
        parse_one(&check_gateway_objects(&docs, true), "gateway.yaml")
            .get("registry")
            .is_none()
    );
    assert!(
        find(&docs, "ConfigMap")
            .iter()
            .all(|c| name_of(c) != "agent-gateway-registry")
    );
}

#[test]
fn chart_flags_switch_sections() {
    let off = [
        ("observability.enabled", "false"),
        ("security.jwt.enabled", "false"),
        ("security.mcp.enabled", "false"),
    ];
    let docs = rendered_docs(&render_chart(&off));
    let gateway_yaml = check_gateway_objects(&docs, true);
    let types = policy_types(&gateway_yaml);
    assert!(
        !types
            .iter()
            .any(|t| t.ends_with("jwt-authn") || t.ends_with("mcp-authz")),
        "{types:?}"
    );
    assert!(
        parse_one(&gateway_yaml, "gateway.yaml")
            .get("observability")
            .is_none()
    );

    let only_metrics = [("observability.opentelemetry.enabled", "false")];
    let docs = rendered_docs(&render_chart(&only_metrics));
    let g = parse_one(&check_gateway_objects(&docs, true), "gateway.yaml");
    assert_eq!(g["observability"]["opentelemetry"]["enabled"], false);

    // Every optional object on, with the guide's flags.
    let sets: Vec<(&str, &str)> = GUIDE_SETS.iter().chain(ALL_OPTIONAL).copied().collect();
    let docs = rendered_docs(&render_chart(&sets));
    check_gateway_objects(&docs, true);
    for kind in [
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ServiceMonitor",
        "PrometheusRule",
    ] {
        one(&docs, kind);
    }
}

#[test]
fn chart_defaults_leave_optional_objects_off() {
    let docs = rendered_docs(&render_chart(&[]));
    for kind in [
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "ServiceMonitor",
        "PrometheusRule",
    ] {
        assert!(find(&docs, kind).is_empty(), "{kind} is off by default");
    }
    one(&docs, "PodDisruptionBudget");
}

#[test]
fn renderer_refuses_what_it_does_not_know() {
    for bad in [
        "{{ include \"x\" . }}",
        "{{ .Values.a | quote }}",
        "{{ .Chart.Name }}",
        "{{ range .Values.a }}x{{ end }}",
        "{{ if .Values.a }}x",
        "{{ toYaml .Values.a }}",
    ] {
        let parsed = parse_template(bad);
        let ran = parsed.and_then(|nodes| {
            let mut cx = Ctx {
                values: json!({"a": {"b": 1}}),
                release_name: "r".into(),
                release_namespace: "n".into(),
                vars: BTreeMap::new(),
            };
            exec(&nodes, &mut cx, &mut String::new())
        });
        assert!(ran.is_err(), "{bad} should be refused");
    }
    let nodes =
        parse_template("a:\n{{- if .Values.a.b }}\n  b: {{ .Values.a.b }}\n{{- end }}\n").unwrap();
    let mut cx = Ctx {
        values: json!({"a": {"b": 1}}),
        release_name: "r".into(),
        release_namespace: "n".into(),
        vars: BTreeMap::new(),
    };
    let mut out = String::new();
    exec(&nodes, &mut cx, &mut out).unwrap();
    assert_eq!(out, "a:\n  b: 1\n");
}

// ---------------------------------------------------------------------------------------------------------------
// Plain manifests = the chart with default values
// ---------------------------------------------------------------------------------------------------------------

const PLAIN_HEADER: &str = "# Generated from deploy/helm/agentgateway with its default values (release agent-gateway, namespace\n# agent-gateway) by tests/deploy_manifests.rs; UPDATE_DEPLOY_MANIFESTS=1 cargo test --test deploy_manifests\n# rewrites it. Edit the chart, not this file.\n";

/// The plain file for each rendered template: core objects in deploy/kubernetes, optional ones in optional/.
fn plain_layout() -> Vec<(String, Vec<String>)> {
    vec![
        (
            "agent-gateway.yaml".into(),
            [
                "serviceaccount.yaml",
                "clusterrole.yaml",
                "clusterrolebinding.yaml",
                "configmap.yaml",
                "service.yaml",
                "deployment.yaml",
                "pdb.yaml",
            ]
            .map(String::from)
            .to_vec(),
        ),
        ("optional/hpa.yaml".into(), vec!["hpa.yaml".into()]),
        (
            "optional/networkpolicy.yaml".into(),
            vec!["networkpolicy.yaml".into()],
        ),
        (
            "optional/servicemonitor.yaml".into(),
            vec!["servicemonitor.yaml".into()],
        ),
        (
            "optional/prometheusrule.yaml".into(),
            vec!["prometheusrule.yaml".into()],
        ),
    ]
}

fn expected_plain() -> Vec<(String, String)> {
    let defaults = render_chart(&[]);
    let optional = render_chart(ALL_OPTIONAL);
    plain_layout()
        .into_iter()
        .map(|(file, templates)| {
            let source = if file.starts_with("optional/") {
                &optional
            } else {
                &defaults
            };
            let mut text = PLAIN_HEADER.to_string();
            for t in &templates {
                let r = source.iter().find(|r| &r.name == t).unwrap();
                text += &format!(
                    "---\n# Source: agentgateway/templates/{t}\n{}\n",
                    r.text.trim()
                );
            }
            (file, text)
        })
        .collect()
}

#[test]
fn plain_manifests_match_the_chart() {
    let dir = root().join("deploy/kubernetes");
    let expected = expected_plain();
    if std::env::var_os("UPDATE_DEPLOY_MANIFESTS").is_some() {
        for (file, text) in &expected {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
    }
    let mut all = Vec::new();
    for (file, text) in &expected {
        let actual = read(&dir.join(file));
        let a = parse_docs(&actual, file);
        assert_eq!(
            a,
            parse_docs(text, file),
            "deploy/kubernetes/{file} differs from the chart's rendering"
        );
        all.extend(a);
    }
    // The namespace file, and nothing else unaccounted for.
    let ns_docs = parse_docs(&read(&dir.join("namespace.yaml")), "namespace.yaml");
    assert_eq!(ns_docs.len(), 1);
    check_typed(&ns_docs[0]).unwrap();
    assert_eq!(name_of(&ns_docs[0]), "agent-gateway");
    let mut listed: Vec<String> = expected.iter().map(|(f, _)| f.clone()).collect();
    listed.push("namespace.yaml".into());
    for entry in walk(&dir) {
        let rel = entry
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if rel.ends_with(".yaml") {
            assert!(
                listed.contains(&rel),
                "deploy/kubernetes/{rel} is not checked by this test"
            );
        }
    }
    check_gateway_objects(&all, false);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn chart_alert_rules_are_the_prometheus_ones() {
    let ours = parse_one(
        &read(&chart_dir().join("files/alerts.yaml")),
        "files/alerts.yaml",
    );
    let theirs = parse_one(
        &read(&root().join("deploy/prometheus/alerts.yaml")),
        "alerts.yaml",
    );
    assert_eq!(
        ours, theirs,
        "copy deploy/prometheus/alerts.yaml to deploy/helm/agentgateway/files/"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// KAgent resources against the CRD excerpt
// ---------------------------------------------------------------------------------------------------------------

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_schema(v: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let actual = json_type(v);
        let ok = actual == t || (t == "number" && actual == "integer");
        if !ok {
            problems.push(format!("{at}: expected {t}, found {actual}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        problems.push(format!("{at}: {v} is not one of {e:?}"));
    }
    for (k, cmp) in [("maxLength", 1), ("minLength", -1)] {
        if let (Some(n), Some(s)) = (schema.get(k).and_then(Value::as_u64), v.as_str()) {
            let len = s.chars().count() as u64;
            if (cmp == 1 && len > n) || (cmp == -1 && len < n) {
                problems.push(format!("{at}: {k} {n}"));
            }
        }
    }
    if let Some(n) = schema.get("maxItems").and_then(Value::as_u64)
        && v.as_array().is_some_and(|a| a.len() as u64 > n)
    {
        problems.push(format!("{at}: more than {n} items"));
    }
    if schema.get("x-excerpt").is_some() {
        problems.push(format!(
            "{at}: the schema excerpt left this field out; regenerate it"
        ));
    }
    if let Value::Object(obj) = v {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                problems.push(format!("{at}: missing required field {r}"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, sub) in obj {
                match props.get(k) {
                    Some(s) => check_schema(sub, s, &format!("{at}.{k}"), problems),
                    None => problems.push(format!(
                        "{at}.{k}: no such field (known: {:?})",
                        props.keys()
                    )),
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check_schema(item, item_schema, &format!("{at}[{i}]"), problems);
        }
    }
}

fn kagent_docs() -> Vec<(String, Value)> {
    let dir = root().join("deploy/kagent");
    let mut out = Vec::new();
    for p in walk(&dir) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".yaml") || name == "kagent-values.yaml" {
            continue;
        }
        for d in parse_docs(&read(&p), &name) {
            out.push((name.clone(), d));
        }
    }
    out
}

#[test]
fn kagent_resources_match_kagents_crds() {
    let excerpt: Value = serde_json::from_str(&read(
        &root().join("tests/fixtures/deploy/kagent-v0.9.12-crd-excerpt.json"),
    ))
    .unwrap();
    let docs = kagent_docs();
    let mut problems = Vec::new();
    let mut custom = 0;
    for (file, d) in &docs {
        if check_typed(d).unwrap_or_else(|e| panic!("{file}: {e}")) {
            continue;
        }
        let (api, kind) = api_kind(d);
        let k = &excerpt["kinds"][&kind];
        assert!(
            k.is_object(),
            "{file}: {kind} is not a KAgent kind of the excerpt"
        );
        assert_eq!(k["apiVersion"], json!(api), "{file}: {kind} apiVersion");
        assert_eq!(k["served"], true);
        let mut body = d.clone();
        // metadata is ObjectMeta; check it as such.
        let meta = body.as_object_mut().unwrap().remove("metadata").unwrap();
        serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(
            meta.clone(),
        )
        .unwrap();
        let mut with_meta = body.clone();
        with_meta["metadata"] = json!({});
        check_schema(
            &with_meta,
            &k["schema"],
            &format!("{file}: {kind} {}", name_of(d)),
            &mut problems,
        );
        custom += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(custom, 3, "RemoteMCPServer and two Agents");

    // The guide's invented fields must not be used anywhere.
    let mut keys = Vec::new();
    for (_, d) in docs
        .iter()
        .filter(|(_, d)| api_kind(d).0.starts_with("kagent.dev/"))
    {
        collect_keys(d, &mut keys);
    }
    for invented in [
        "endpoint",
        "authentication",
        "headers",
        "agents",
        "capabilities",
    ] {
        assert!(
            !keys.iter().any(|k| k == invented),
            "deploy/kagent uses {invented}, which KAgent does not have"
        );
    }
}

fn collect_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                collect_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_keys(x, out)),
        _ => {}
    }
}

#[test]
fn kagent_resources_agree_with_each_other_and_the_gateway() {
    let docs: Vec<Value> = kagent_docs().into_iter().map(|(_, d)| d).collect();
    let by = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| api_kind(d).1 == kind && name_of(d) == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let rmcp = one(&docs, "RemoteMCPServer");
    assert_eq!(
        rmcp["spec"]["url"],
        "http://agent-gateway.agent-gateway.svc.cluster.local:8080/mcp"
    );
    assert_eq!(rmcp["spec"]["protocol"], "STREAMABLE_HTTP");

    // Every header from a Secret names a Secret and key that exist, and carries a bearer token.
    let mut refs = Vec::new();
    for d in &docs {
        collect_header_refs(d, &mut refs);
    }
    assert_eq!(refs.len(), 2, "{refs:?}");
    for (header, secret, key) in &refs {
        assert_eq!(header, "Authorization");
        let s = by("Secret", secret);
        let v = s["stringData"][key]
            .as_str()
            .expect("the Secret has the key");
        assert!(v.starts_with("Bearer "));
    }

    // The weather agent's tools: the gateway's RemoteMCPServer, the guide's six tools.
    let weather = by("Agent", "weather-agent-v6");
    let tool = &weather["spec"]["declarative"]["tools"][0];
    assert_eq!(tool["type"], "McpServer");
    assert_eq!(tool["mcpServer"]["kind"], "RemoteMCPServer");
    assert_eq!(tool["mcpServer"]["apiGroup"], "kagent.dev");
    assert_eq!(tool["mcpServer"]["name"], json!(name_of(rmcp)));
    let gateway = rendered_docs(&render_chart(&[]));
    let cm = one(&gateway, "ConfigMap");
    let g = parse_one(cm["data"]["gateway.yaml"].as_str().unwrap(), "gateway.yaml");
    let rule = &g["binds"][0]["listeners"][0]["routes"][0]["policies"][1]["mcp"]["rules"][0];
    assert_eq!(
        tool["mcpServer"]["toolNames"], rule["allowedTools"],
        "the tools the gateway allows"
    );
    let sa = weather["spec"]["declarative"]["deployment"]["serviceAccountName"]
        .as_str()
        .unwrap();
    by("ServiceAccount", sa);
    assert_eq!(
        rule["principal"],
        json!(format!("system:serviceaccount:agent-core-infra:{sa}"))
    );

    // The planning agent calls the weather agent as a tool.
    let planner = by("Agent", "planning-agent");
    let tool = &planner["spec"]["declarative"]["tools"][0];
    assert_eq!(tool["type"], "Agent");
    assert_eq!(tool["agent"]["name"], json!(name_of(weather)));
    let planner_sa = planner["spec"]["declarative"]["deployment"]["serviceAccountName"]
        .as_str()
        .unwrap();
    let a2a_rule = &g["binds"][0]["listeners"][1]["routes"][0]["policies"][1]["a2a"]["rules"][0];
    assert_eq!(
        a2a_rule["source"],
        json!(format!(
            "system:serviceaccount:agent-core-infra:{planner_sa}"
        ))
    );
    assert_eq!(a2a_rule["target"], json!(name_of(weather)));

    // The refresher mints tokens with the gateway's audience for exactly these ServiceAccounts and Secrets.
    let cron = one(&docs, "CronJob");
    let script = cron
        .pointer("/spec/jobTemplate/spec/template/spec/containers/0/args/0")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(script.contains("--audience agent-gateway"));
    let role = one(&docs, "Role");
    let names = |res: &str| -> Vec<String> {
        let rule = role["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resources"] == json!([res]))
            .unwrap();
        rule["resourceNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    };
    for (_, secret, _) in &refs {
        assert!(
            script.contains(secret.as_str()) && names("secrets").contains(secret),
            "{secret}"
        );
    }
    for sa in [sa, planner_sa] {
        assert!(
            script.contains(sa) && names("serviceaccounts/token").contains(&sa.to_string()),
            "{sa}"
        );
    }
    for agent in [name_of(weather), name_of(planner)] {
        assert!(names("agents").contains(&agent.to_string()), "{agent}");
    }
    let binding = one(&docs, "RoleBinding");
    assert_eq!(binding["roleRef"]["name"], json!(name_of(role)));
    let runner = cron
        .pointer("/spec/jobTemplate/spec/template/spec/serviceAccountName")
        .unwrap();
    assert_eq!(binding["subjects"][0]["name"], *runner);
    by("ServiceAccount", runner.as_str().unwrap());
}

fn collect_header_refs(v: &Value, out: &mut Vec<(String, String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(list) = m.get("headersFrom").and_then(Value::as_array) {
                for h in list {
                    if h["valueFrom"]["type"] == "Secret" {
                        out.push((
                            h["name"].as_str().unwrap().into(),
                            h["valueFrom"]["name"].as_str().unwrap().into(),
                            h["valueFrom"]["key"].as_str().unwrap().into(),
                        ));
                    }
                }
            }
            m.values().for_each(|x| collect_header_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_header_refs(x, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Container image
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn dockerfile_is_multi_stage_and_non_root() {
    let d = read(&root().join("deploy/Dockerfile"));
    let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].starts_with("FROM rust:") && froms[0].ends_with(" AS builder"));
    assert_eq!(froms[1], "FROM gcr.io/distroless/cc-debian12:nonroot");
    assert!(d.contains("\nUSER 65532:65532\n"));
    assert!(d.contains("\nENTRYPOINT [\"/agent-gateway\"]\n"));
    let ignore = read(&root().join(".dockerignore"));
    for p in ["target/", ".tools/", ".git/"] {
        assert!(ignore.lines().any(|l| l == p), ".dockerignore lacks {p}");
    }
    // The image's default command is the one the Deployment runs.
    let docs = rendered_docs(&render_chart(&[]));
    let dep = one(&docs, "Deployment");
    let args = dep
        .pointer("/spec/template/spec/containers/0/args")
        .unwrap();
    let cmd_line = d.lines().find(|l| l.starts_with("CMD ")).unwrap();
    let cmd: Value = serde_json::from_str(cmd_line.trim_start_matches("CMD ")).unwrap();
    assert_eq!(&cmd, args);
}
