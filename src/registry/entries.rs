//! Entries: one file per approved MCP server (`servers/NAME.json`) and A2A agent (`agents/NAME.json`),
//! named by the backend's name in the config, in the shape of the official MCP Registry's `server.json`
//! (`name`, `description`, `remotes[].url`, `packages[]`), plus `owner` and, for a server run as a
//! child, `command` and `args`. A `server.json` copied from the public registry is read as it is; `lock`
//! writes an entry for each backend that has none, for the operator to complete and review.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::config::{Backend, BackendKind, GatewayConfig};

/// Where a backend is reached, as the config says and as its entry must say.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Url(String),
    Command(String),
    BuiltIn,
}

fn folder(backend: &Backend) -> &'static str {
    match backend.kind {
        BackendKind::A2a { .. } => "agents",
        _ => "servers",
    }
}

fn target(backend: &Backend) -> Target {
    match &backend.kind {
        BackendKind::McpHttp { address, mcp } => Target::Url(format!(
            "{}{}",
            address.trim_end_matches('/'),
            mcp.endpoint.as_deref().unwrap_or("")
        )),
        BackendKind::A2a { address, .. } => Target::Url(address.clone()),
        BackendKind::McpStdio { command, .. } => Target::Command(command.clone()),
        BackendKind::Sample { .. } => Target::BuiltIn,
    }
}

/// What an entry says about where its server is: any `remotes[].url` or `url`, or `command`.
fn targets(entry: &Value) -> Vec<Target> {
    let mut out: Vec<Target> = entry["remotes"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(entry))
        .filter_map(|r| r.get("url")?.as_str())
        .map(|u| Target::Url(u.to_string()))
        .collect();
    if let Some(command) = entry.get("command").and_then(Value::as_str) {
        out.push(Target::Command(command.to_string()));
    }
    out
}

/// Every backend of the config, once by name.
fn backends(config: &GatewayConfig) -> BTreeMap<&str, &Backend> {
    config
        .binds
        .iter()
        .flat_map(|b| &b.listeners)
        .flat_map(|l| &l.routes)
        .flat_map(|r| &r.backends)
        .map(|b| (b.name.as_str(), b))
        .collect()
}

/// Problems between the config's backends and the entries: a backend without an entry, or one whose
/// entry names another URL or command.
pub fn check(registry: &Path, config: &GatewayConfig) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, backend) in backends(config) {
        let file = registry.join(folder(backend)).join(format!("{name}.json"));
        let entry: Value = match std::fs::read_to_string(&file) {
            Ok(text) => match serde_json::from_str(&text) {
                Ok(entry) => entry,
                Err(e) => {
                    problems.push(format!(
                        "{}:{}:{}: not JSON: {e}",
                        file.display(),
                        e.line(),
                        e.column()
                    ));
                    continue;
                }
            },
            Err(_) => {
                problems.push(format!(
                    "backend {name}: no entry ({}); `registry lock` writes one to complete",
                    file.display()
                ));
                continue;
            }
        };
        let wanted = target(backend);
        if wanted != Target::BuiltIn && !targets(&entry).contains(&wanted) {
            problems.push(format!(
                "backend {name}: the config reaches it at {wanted:?}, its entry ({}) says {:?}",
                file.display(),
                targets(&entry)
            ));
        }
    }
    problems
}

/// Writes an entry for each backend that has none; the names written.
pub fn write_missing(registry: &Path, config: &GatewayConfig) -> Result<Vec<String>, String> {
    let mut written = Vec::new();
    for (name, backend) in backends(config) {
        let dir = registry.join(folder(backend));
        let file = dir.join(format!("{name}.json"));
        if file.exists() {
            continue;
        }
        let mut entry = json!({"name": name, "description": "", "owner": ""});
        match (target(backend), &backend.kind) {
            (Target::Url(url), BackendKind::A2a { .. }) => entry["url"] = json!(url),
            (Target::Url(url), _) => {
                entry["remotes"] = json!([{"type": "streamable-http", "url": url}])
            }
            (Target::Command(command), BackendKind::McpStdio { args, .. }) => {
                entry["command"] = json!(command);
                entry["args"] = json!(args);
            }
            _ => entry["builtIn"] = json!(true),
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let text = serde_json::to_string_pretty(&entry).expect("an entry serializes") + "\n";
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        written.push(name.to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_server_json_is_read_as_it_is() {
        let server_json = json!({
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json",
            "name": "io.github.example/weather", "description": "Weather", "version": "1.0.0",
            "remotes": [{"type": "streamable-http", "url": "https://weather.example/mcp"}],
            "packages": [{"registryType": "npm", "identifier": "@example/weather", "transport": {"type": "stdio"}}]
        });
        assert_eq!(
            targets(&server_json),
            [Target::Url("https://weather.example/mcp".into())]
        );
        assert_eq!(
            targets(&json!({"command": "uvx"})),
            [Target::Command("uvx".into())]
        );
    }
}
