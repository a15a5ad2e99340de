//! `agent-gateway registry lock|diff|approve|verify --config FILE`: the operator's side of the registry
//! (`registry.path` of the config). Each discovers every MCP upstream of the config once (progress on
//! stderr), then:
//! - `lock` writes `lock.json` from what the upstreams expose now, and an entry for each backend without one;
//! - `diff` prints what drifted since the lock, classified;
//! - `approve NAME… | --all` takes the current definitions of the named servers (or `server/tool`) into the lock;
//! - `verify` exits 0 when the world and the entries match the lock (and, with `registry.publicKey`, the
//!   lock's signature verifies), 1 otherwise (for CI);
//! - `sign --key FILE` signs the lock (no discovery; `keygen` makes the key, see `registry::signature`).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::config::GatewayConfig;
use crate::gateway::runtime;
use crate::mcp::catalogue::discovery;
use crate::registry::drift::{self, Drift};
use crate::registry::entries;
use crate::registry::lock::{self, Lock, Locked};
use crate::registry::signature;

pub enum Action {
    Lock,
    Diff,
    Approve { names: Vec<String>, all: bool },
    Verify,
    Sign { key: std::path::PathBuf },
}

/// What the command prints on stdout and the exit status it asks for.
pub struct Outcome {
    pub report: String,
    pub exit: u8,
}

pub async fn run(config: &GatewayConfig, action: Action) -> Result<Outcome, String> {
    let registry = config.registry.as_ref().ok_or(
        "the config has no `registry:` section (registry: {path: registry, mode: enforce})",
    )?;
    if let Action::Sign { key } = &action {
        let private =
            std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
        let public = signature::sign(&registry.path, &private)?;
        let report = format!(
            "signed {} into {} (registry.publicKey: {public})\n",
            lock::path(&registry.path).display(),
            signature::path(&registry.path).display()
        );
        return Ok(Outcome { report, exit: 0 });
    }
    let rewrites = matches!(action, Action::Lock | Action::Approve { .. });
    let world = discover(config).await?;
    let locked = lock::read(&registry.path)?;
    let file = lock::path(&registry.path);
    let mut report = String::new();
    let exit = match action {
        Action::Lock => {
            lock::write(&registry.path, &world)?;
            let written = entries::write_missing(&registry.path, config)?;
            let _ = writeln!(report, "{}: {}", file.display(), summary(&world));
            if !written.is_empty() {
                let _ = writeln!(
                    report,
                    "new entries to complete (owner, description): {}",
                    written.join(", ")
                );
            }
            0
        }
        Action::Diff => {
            write_drifts(&mut report, &drift::drifts(&locked, &world));
            0
        }
        Action::Approve { names, all } => {
            let (approved, drifts) = approve(locked, &world, &names, all)?;
            lock::write(&registry.path, &approved)?;
            let _ = writeln!(report, "approved into {}:", file.display());
            write_drifts(&mut report, &drifts);
            0
        }
        Action::Sign { .. } => unreachable!("signed above, without discovery"),
        Action::Verify => {
            let drifts = drift::drifts(&locked, &world);
            let mut problems = entries::check(&registry.path, config);
            if let Some(key) = &registry.public_key
                && let Err(e) = signature::verify(&registry.path, key)
            {
                problems.push(e);
            }
            write_drifts(&mut report, &drifts);
            for problem in &problems {
                let _ = writeln!(report, "{problem}");
            }
            u8::from(!drifts.is_empty() || !problems.is_empty())
        }
    };
    if registry.public_key.is_some() && rewrites {
        let _ = writeln!(
            report,
            "registry.publicKey is set: sign the new lock before deploying it (agent-gateway registry sign --config FILE --key KEYFILE)"
        );
    }
    Ok(Outcome { report, exit })
}

/// Every MCP backend's definitions, by backend name, after one discovery round; a backend that does
/// not answer is an error (a lock or a verdict without it would be wrong).
async fn discover(config: &GatewayConfig) -> Result<Lock, String> {
    // What the upstreams expose, not what the lock lets through (and the first `lock` has no lock yet).
    let unpinned = GatewayConfig {
        registry: None,
        ..config.clone()
    };
    let gateway = runtime::build(&unpinned).await?;
    let total: usize = gateway.mcp_routes.iter().map(|r| r.backends.len()).sum();
    let mut world = Lock::default();
    let mut done = 0;
    for route in &gateway.mcp_routes {
        eprintln!(
            "discovering route {} ({} upstreams, {done} of {total} done)",
            route.name,
            route.backends.len()
        );
        let mut listings = vec![Default::default(); route.backends.len()];
        discovery::refresh(route, &mut listings).await;
        for ((backend, known), (_, health)) in route
            .backends
            .iter()
            .zip(&listings)
            .zip(route.backend_health())
        {
            let name = backend.upstream.name();
            let Some(listing) = &known.live else {
                return Err(format!(
                    "upstream {name} (route {}) did not answer: {}",
                    route.name,
                    health.last_error.unwrap_or_default()
                ));
            };
            let locked = Locked::of(&listing.tools, &listing.prompts, &listing.templates);
            match world.servers.get(name) {
                Some(other) if *other != locked => {
                    return Err(format!(
                        "two backends are named {name} but expose different definitions; give them distinct names"
                    ));
                }
                _ => {
                    world.servers.insert(name.to_string(), locked);
                }
            }
        }
        done += route.backends.len();
    }
    eprintln!("discovered {done} upstreams");
    Ok(world)
}

/// `locked` with the named servers (`server`) or tools (`server/tool`) as `world` has them.
fn approve(
    mut locked: Lock,
    world: &Lock,
    names: &[String],
    all: bool,
) -> Result<(Lock, Vec<Drift>), String> {
    if all {
        return Ok((world.clone(), drift::drifts(&locked, world)));
    }
    if names.is_empty() {
        return Err("name the servers (or server/tool) to approve, or pass --all".into());
    }
    let mut approved = Vec::new();
    for name in names {
        let (server, tool) = match name.split_once('/') {
            Some((s, t)) => (s, Some(t)),
            None => (name.as_str(), None),
        };
        let now = world
            .servers
            .get(server)
            .ok_or(format!("no upstream named {server} in the config"))?;
        let before = Lock {
            servers: BTreeMap::from([(
                server.to_string(),
                locked.servers.get(server).cloned().unwrap_or_default(),
            )]),
        };
        let entry = locked.servers.entry(server.to_string()).or_default();
        match tool {
            None => *entry = now.clone(),
            Some(tool) => match now.tools.get(tool) {
                Some(pin) => {
                    entry.tools.insert(tool.to_string(), pin.clone());
                }
                None => {
                    entry
                        .tools
                        .remove(tool)
                        .ok_or(format!("{server} has no tool {tool}, now or in the lock"))?;
                }
            },
        }
        let after = Lock {
            servers: BTreeMap::from([(server.to_string(), entry.clone())]),
        };
        approved.extend(drift::drifts(&before, &after));
    }
    Ok((locked, approved))
}

fn summary(world: &Lock) -> String {
    let count = |f: fn(&Locked) -> usize| world.servers.values().map(f).sum::<usize>();
    format!(
        "{} tools, {} prompts, {} resource templates of {} servers",
        count(|s| s.tools.len()),
        count(|s| s.prompts.len()),
        count(|s| s.resource_templates.len()),
        world.servers.len()
    )
}

fn write_drifts(out: &mut String, drifts: &[Drift]) {
    if drifts.is_empty() {
        let _ = writeln!(out, "no drift: every definition is as locked");
    }
    for d in drifts {
        let _ = writeln!(out, "{d}");
    }
}
