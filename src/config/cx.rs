//! The decoding context: where diagnostics collect, mappings checked against their known fields, and
//! "did you mean" hints. Typed readers of values are in `read`.

use std::collections::HashMap;

use super::diagnostic::{Diagnostic, Severity};
use super::types::Location;
use super::yaml::{Key, Node, Value};

/// A position in the file being reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl From<&Node> for Pos {
    fn from(n: &Node) -> Pos {
        Pos {
            line: n.line,
            column: n.column,
        }
    }
}

impl From<&Key> for Pos {
    fn from(k: &Key) -> Pos {
        Pos {
            line: k.line,
            column: k.column,
        }
    }
}

impl From<&Location> for Pos {
    fn from(l: &Location) -> Pos {
        Pos {
            line: l.line,
            column: l.column,
        }
    }
}

pub struct Cx {
    /// The name diagnostics print for the file.
    pub file: String,
    pub diags: Vec<Diagnostic>,
}

/// `parent.key`, or `key` at the top.
pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `parent[i]`.
pub fn item(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A mapping being decoded: its fields have been checked against the known names already.
pub struct Obj<'a> {
    pub node: &'a Node,
    pub path: String,
    entries: &'a [(Key, Node)],
}

impl<'a> Obj<'a> {
    /// The value of `key` (its first occurrence; later ones were reported as duplicates).
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    pub fn key(&self, key: &str) -> Option<&'a Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k)
    }

    pub fn path(&self, key: &str) -> String {
        child(&self.path, key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &'a Key> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn location(&self, file: &str) -> Location {
        Location {
            file: file.to_string(),
            line: self.node.line,
            column: self.node.column,
            path: self.path.clone(),
        }
    }
}

impl Cx {
    pub fn new(file: &str) -> Cx {
        Cx {
            file: file.to_string(),
            diags: Vec::new(),
        }
    }

    pub fn location(&self, at: impl Into<Pos>, path: &str) -> Location {
        let at = at.into();
        Location {
            file: self.file.clone(),
            line: at.line,
            column: at.column,
            path: path.to_string(),
        }
    }

    pub fn report(
        &mut self,
        severity: Severity,
        at: impl Into<Pos>,
        path: &str,
        message: impl Into<String>,
    ) {
        let location = self.location(at, path);
        self.diags.push(Diagnostic {
            severity,
            location,
            message: message.into(),
        });
    }

    pub fn error(&mut self, at: impl Into<Pos>, path: &str, message: impl Into<String>) {
        self.report(Severity::Error, at, path, message);
    }

    pub fn warning(&mut self, at: impl Into<Pos>, path: &str, message: impl Into<String>) {
        self.report(Severity::Warning, at, path, message);
    }

    /// A part that is decoded and checked but not acted on by this build: said out loud, never silently ignored.
    pub fn inactive(&mut self, at: impl Into<Pos>, path: &str, what: &str) {
        self.report(
            Severity::Note,
            at,
            path,
            format!("accepted but not active in this build: {what}"),
        );
    }

    /// `node` as a mapping whose field names must be among `known`. An empty value (`key:`) reads as an empty
    /// mapping, so that missing required fields are what gets reported.
    pub fn obj<'a>(&mut self, node: &'a Node, path: &str, known: &[&str]) -> Option<Obj<'a>> {
        let entries: &'a [(Key, Node)] = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            _ => {
                self.mismatch(node, path, "a mapping");
                return None;
            }
        };
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (k, _) in entries {
            let p = child(path, &k.name);
            if let Some(first) = seen.insert(&k.name, k.line) {
                self.error(
                    k,
                    &p,
                    format!("duplicate field \"{}\" (first set at line {first})", k.name),
                );
                seen.insert(&k.name, first);
            } else if !known.contains(&k.name.as_str()) {
                self.error(k, &p, unknown("field", &k.name, known));
            }
        }
        Some(Obj {
            node,
            path: path.to_string(),
            entries,
        })
    }

    /// Reads an optional field with `read`.
    pub fn field<'a, T>(
        &mut self,
        o: &Obj<'a>,
        key: &str,
        read: impl FnOnce(&mut Cx, &'a Node, &str) -> Option<T>,
    ) -> Option<T> {
        let node = o.get(key)?;
        read(self, node, &o.path(key))
    }

    /// Reads a field that must be present; its absence is reported at the enclosing mapping.
    pub fn required<'a, T>(
        &mut self,
        o: &Obj<'a>,
        key: &str,
        read: impl FnOnce(&mut Cx, &'a Node, &str) -> Option<T>,
    ) -> Option<T> {
        match o.get(key) {
            Some(node) => read(self, node, &o.path(key)),
            None => {
                self.error(
                    o.node,
                    &o.path(key),
                    format!("missing required field \"{key}\""),
                );
                None
            }
        }
    }
}

/// Where a name or value was first seen, to point back at it when it is repeated.
pub struct Seen<K> {
    first: HashMap<K, (String, usize)>,
}

impl<K: std::hash::Hash + Eq> Seen<K> {
    pub fn new() -> Self {
        Seen {
            first: HashMap::new(),
        }
    }

    /// Records `key` at `path`/`line`; returns where it was first seen if this is a repeat.
    pub fn repeat(&mut self, key: K, path: &str, line: usize) -> Option<(String, usize)> {
        match self.first.get(&key) {
            Some(first) => Some(first.clone()),
            None => {
                self.first.insert(key, (path.to_string(), line));
                None
            }
        }
    }
}

/// `unknown field "x"; did you mean "y"?`, or the list of what is known when nothing is close.
pub fn unknown(what: &str, word: &str, known: &[&str]) -> String {
    match did_you_mean(word, known) {
        Some(best) => format!("unknown {what} \"{word}\"; did you mean \"{best}\"?"),
        None if known.is_empty() => format!("unknown {what} \"{word}\""),
        None => format!(
            "unknown {what} \"{word}\"; expected one of: {}",
            known.join(", ")
        ),
    }
}

/// The closest of `candidates` to `word`, if any is close enough to be a likely typo. Case and `-`/`_` are
/// ignored first, so `jwks_uri` and `JwksURI` both find `jwksUri`.
pub fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let w = norm(word);
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&w, &norm(c)), *c))
        // Below ~0.8 Jaro-Winkler pairs unrelated short words; above, it is nearly always a slip.
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("allowedTool", &["principal", "allowedTools", "rateLimit"]),
            Some("allowedTools")
        );
        assert_eq!(
            did_you_mean("jwks_uri", &["issuer", "audiences", "jwksUri"]),
            Some("jwksUri")
        );
        assert_eq!(
            did_you_mean("mcp-authx", &["jwt-authn", "mcp-authz", "a2a-authz"]),
            Some("mcp-authz")
        );
        assert_eq!(did_you_mean("colour", &["name", "routes"]), None);
        assert_eq!(
            unknown("field", "colour", &["name", "routes"]),
            "unknown field \"colour\"; expected one of: name, routes"
        );
    }
}
