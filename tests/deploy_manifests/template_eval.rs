//! The template renderer's evaluation: values, variables and the Helm functions the chart uses, run over parsed
//! nodes; and the check that the renderer refuses what it does not know.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::template_syntax::{Expr, Node, parse_template};
use crate::{chart_dir, read};

pub(crate) struct Ctx {
    pub(crate) values: Value,
    pub(crate) release_name: String,
    pub(crate) release_namespace: String,
    pub(crate) vars: BTreeMap<String, Value>,
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

pub(crate) fn exec(nodes: &[Node], cx: &mut Ctx, out: &mut String) -> Result<(), String> {
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
