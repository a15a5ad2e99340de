//! The gateway's YAML config: loading, validation and diagnostics.
//!
//! A file is either the bare `gateway.yaml` document or the Kubernetes ConfigMap of the user's guide that embeds
//! it under `data.gateway.yaml`. Decoding collects every problem instead of stopping at the first, and each
//! problem names `file:line:column: field.path`, in the outer file even for a ConfigMap.

mod backend;
mod configmap;
mod cx;
mod decode;
mod diagnostic;
mod policy;
mod ratelimit_store;
mod read;
mod route;
mod scalar;
pub mod schema;
mod settings;
pub mod types;
mod values;
mod yaml;

use std::io::Write;
use std::path::Path;

pub use diagnostic::{Diagnostic, Severity};
pub use types::*;

use cx::{Cx, Pos};

/// Policy types this build enforces. Others are decoded and validated, and get a `Note` saying they are not active.
pub const ACTIVE_POLICY_TYPES: &[&str] = &[
    "timeout",
    "jwt-authn",
    "mcp-authz",
    "a2a-authz",
    "rate-limit",
    "retry",
];

/// A config that passed validation.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: GatewayConfig,
    /// Warnings and notes only, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Decodes and validates `text`; `file` is the name diagnostics print. `Err` holds every diagnostic, in file
/// order, with at least one error.
pub fn load_str(text: &str, file: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let mut cx = Cx::new(file);
    let config = match yaml::parse(text) {
        Err(errors) => {
            for e in errors {
                cx.error(
                    Pos {
                        line: e.line,
                        column: e.column,
                    },
                    "",
                    e.message,
                );
            }
            None
        }
        Ok(docs) => match docs.as_slice() {
            [] => {
                let msg = "the file is empty; expected a gateway config (starting with `binds:`) or a ConfigMap holding one under data.gateway.yaml";
                cx.error(Pos { line: 1, column: 1 }, "", msg);
                None
            }
            [root] if configmap::is_wrapper(root) => {
                configmap::unwrap(root, text, &mut cx).map(|inner| decode::decode(&inner, &mut cx))
            }
            [root] => Some(decode::decode(root, &mut cx)),
            [_, second, ..] => {
                cx.error(
                    second,
                    "",
                    format!("the file holds {} YAML documents; expected one", docs.len()),
                );
                None
            }
        },
    };
    let mut diagnostics = cx.diags;
    // File order. Inside a ConfigMap whose text cannot be mapped back, the embedded text has its own name
    // (the outer name plus a suffix), which sorts after the outer file's own diagnostics.
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| (d.location.file.len(), d.location.line, d.location.column);
        key(a).cmp(&key(b))
    });
    match config {
        Some(config) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(Loaded {
            config,
            diagnostics,
        }),
        _ => Err(diagnostics),
    }
}

/// Reads and loads `path`. A file that cannot be read is one error with line 0 (no position).
pub fn load_file(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let mut loaded = match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, &file)?,
        Err(e) => return Err(vec![unreadable(&file, &e)]),
    };
    // The registry folder is named relative to the config file, as it sits next to it in git.
    if let Some(registry) = loaded.config.registry.as_mut()
        && registry.path.is_relative()
        && let Some(folder) = path.parent()
    {
        registry.path = folder.join(&registry.path);
    }
    Ok(loaded)
}

fn unreadable(file: &str, e: &std::io::Error) -> Diagnostic {
    let location = Location {
        file: file.to_string(),
        line: 0,
        column: 0,
        path: String::new(),
    };
    Diagnostic {
        severity: Severity::Error,
        location,
        message: format!("cannot read the file: {e}"),
    }
}

/// What `agent-gateway validate FILE` prints and its exit code (0 ok, 1 invalid, 2 unreadable): one line per
/// diagnostic, `severity: file:line:column: path: message`, then a summary line.
pub fn validate_command(path: &Path, out: &mut dyn Write) -> i32 {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            let d = unreadable(&file, &e);
            let _ = writeln!(out, "{}: {d}", d.severity);
            return 2;
        }
    };
    let (diagnostics, config) = match load_str(&text, &file) {
        Ok(loaded) => (loaded.diagnostics, Some(loaded.config)),
        Err(diagnostics) => (diagnostics, None),
    };
    for d in &diagnostics {
        let _ = writeln!(out, "{}: {d}", d.severity);
    }
    let count = |severity| {
        diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    let tally: Vec<String> = [
        (count(Severity::Error), "error"),
        (count(Severity::Warning), "warning"),
        (count(Severity::Note), "note"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| plural(n, what))
    .collect();
    match config {
        Some(config) => {
            let listeners: Vec<&Listener> =
                config.binds.iter().flat_map(|b| &b.listeners).collect();
            let routes: Vec<&Route> = listeners.iter().flat_map(|l| &l.routes).collect();
            let backends: usize = routes.iter().map(|r| r.backends.len()).sum();
            let shape = [
                plural(config.binds.len(), "bind"),
                plural(listeners.len(), "listener"),
                plural(routes.len(), "route"),
                plural(backends, "backend"),
            ]
            .join(", ");
            let tail = if tally.is_empty() {
                String::new()
            } else {
                format!("; {}", tally.join(", "))
            };
            let _ = writeln!(out, "{file}: valid ({shape}){tail}");
            0
        }
        None => {
            let _ = writeln!(out, "{file}: {}", tally.join(", "));
            1
        }
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// For the modules' unit tests: every diagnostic of `text` as printed, whether or not it loads.
#[cfg(test)]
fn diagnostics_of(text: &str) -> Vec<String> {
    let diags = match load_str(text, "t.yaml") {
        Ok(loaded) => loaded.diagnostics,
        Err(diags) => diags,
    };
    diags.iter().map(ToString::to_string).collect()
}

/// For the modules' unit tests: a bare config whose only route has the given policies and backends (flow YAML).
#[cfg(test)]
fn route_yaml(policies: &str, backends: &str) -> String {
    format!(
        "binds:\n- port: 8080\n  listeners:\n  - name: l\n    routes:\n    - name: r\n      match: {{path: {{prefix: /mcp}}}}\n      policies: {policies}\n      backends: {backends}\n"
    )
}

/// One fuzz case: any text is read as a config without a panic.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let _ = load_str(&String::from_utf8_lossy(data), "fuzz.yaml");
}
