//! The lock as the gateway uses it at run time: every tool, prompt and resource template an upstream
//! lists is judged against it when the route's catalogue is built, so no definition reaches a caller
//! unjudged. With `mode: enforce` one that is not locked, or whose digest differs, is quarantined; with
//! `warn` it is served; either way it is reported.

use std::sync::Arc;

use serde_json::Value;

use super::drift::{self, Change, Drift, Kind};
use super::lock::{self, Lock};
use super::pin::Pin;
use crate::config::{Registry, RegistryMode};

pub struct Pins {
    /// Quarantine what drifted (`enforce`), or only report it (`warn`).
    pub enforce: bool,
    lock: Lock,
}

impl Pins {
    /// The pins `registry` says to apply; `None` with `mode: off`.
    pub fn load(registry: &Registry) -> Result<Option<Arc<Pins>>, String> {
        let enforce = match registry.mode {
            RegistryMode::Off => return Ok(None),
            RegistryMode::Enforce => true,
            RegistryMode::Warn => false,
        };
        // Enforcing without a lock would withhold every tool, silently as far as callers can tell.
        if enforce && !lock::path(&registry.path).exists() {
            return Err(format!(
                "registry.mode is enforce but {} does not exist: write it with `agent-gateway registry lock --config FILE`, or set mode: warn until then",
                lock::path(&registry.path).display()
            ));
        }
        if let Some(key) = &registry.public_key {
            super::signature::verify(&registry.path, key)?;
        }
        let lock = lock::read(&registry.path)?;
        Ok(Some(Arc::new(Pins { enforce, lock })))
    }

    pub fn new(enforce: bool, lock: Lock) -> Pins {
        Pins { enforce, lock }
    }

    pub fn mode(&self) -> &'static str {
        if self.enforce { "enforce" } else { "warn" }
    }

    /// How `definition` (a `kind`), as `server` lists it now, differs from the lock; `None` when it is
    /// locked as it is.
    pub fn judge(&self, server: &str, kind: Kind, definition: &Value) -> Option<Drift> {
        let key = if kind == Kind::ResourceTemplate {
            "uriTemplate"
        } else {
            "name"
        };
        let name = definition.get(key)?.as_str()?;
        let locked = self.lock.servers.get(server).and_then(|s| {
            match kind {
                Kind::Tool => &s.tools,
                Kind::Prompt => &s.prompts,
                Kind::ResourceTemplate => &s.resource_templates,
            }
            .get(name)
        });
        let changes: Vec<Change> = drift::compare(locked, Some(&Pin::of(definition)));
        (!changes.is_empty()).then(|| Drift {
            server: server.to_string(),
            kind,
            name: name.to_string(),
            changes,
        })
    }

    /// Records `drift`, if any; whether the definition is then withheld (`enforce`) rather than served.
    pub fn withholds(&self, drift: Option<Drift>, found: &mut Vec<Drift>) -> bool {
        let Some(drift) = drift else {
            return false;
        };
        found.push(drift);
        self.enforce
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::lock::Locked;
    use serde_json::json;

    #[test]
    fn enforcing_without_a_lock_is_an_error_that_says_how_to_write_one() {
        let registry = |mode| Registry {
            path: std::env::temp_dir().join("agw-no-registry-here"),
            mode,
            public_key: None,
            location: Default::default(),
        };
        let Err(e) = Pins::load(&registry(RegistryMode::Enforce)) else {
            panic!("enforce without a lock was accepted");
        };
        assert!(e.contains("registry lock --config"), "{e}");
        assert!(Pins::load(&registry(RegistryMode::Warn)).unwrap().is_some());
        assert!(Pins::load(&registry(RegistryMode::Off)).unwrap().is_none());
    }

    #[test]
    fn a_tool_is_judged_by_its_server_and_name() {
        let tool = json!({"name": "t", "description": "d", "inputSchema": {"type": "object"}});
        let pins = Pins {
            enforce: true,
            lock: Lock {
                servers: [(
                    "a".to_string(),
                    Locked::of(std::slice::from_ref(&tool), &[], &[]),
                )]
                .into(),
            },
        };
        assert!(pins.judge("a", Kind::Tool, &tool).is_none());
        assert_eq!(
            pins.judge("b", Kind::Tool, &tool).unwrap().classes(),
            ["new"]
        );
        let mut changed = tool.clone();
        changed["description"] = json!("d, and see https://x.example");
        assert_eq!(
            pins.judge("a", Kind::Tool, &changed).unwrap().classes(),
            ["description changed", "new URL-like text"]
        );
    }
}
