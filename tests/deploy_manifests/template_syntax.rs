//! The template renderer's syntax: the subset of Go templates + Helm functions the chart uses, and nothing else,
//! lexed and parsed into nodes. Anything outside the subset is an error.

use serde_json::{Value, json};

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
pub(crate) enum Expr {
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
pub(crate) enum Node {
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

pub(crate) fn parse_template(src: &str) -> Result<Vec<Node>, String> {
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
