//! The scanner of the decoder's sources (src/config/*.rs): the known-field lists of `cx.obj` calls and the allowed
//! values of `cx.choice` calls, `const` lists and tables; and the check that it reads each kind of list.

use std::collections::{BTreeMap, BTreeSet};

use crate::{read, root, walk};

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

pub(crate) struct Scan {
    /// Known-field lists of `cx.obj` calls, with where they are.
    pub(crate) obj_lists: Vec<(String, BTreeSet<String>)>,
    /// Allowed values: `cx.choice` lists, `const` string lists and the first column of `const` tuple tables.
    pub(crate) value_lists: Vec<(String, BTreeSet<String>)>,
    /// `const` string lists named `ACTIVE_*`: each must be a subset of an enum.
    pub(crate) subsets: Vec<(String, BTreeSet<String>)>,
}

pub(crate) fn scan() -> Scan {
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
            panic!(
                "{at}: the scanner cannot read the list `{arg}`; extend tests/config_schema/decoder_scan.rs"
            );
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
