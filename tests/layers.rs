//! The layer rule of `docs/architecture.md`: each top-level module of `src/` imports only modules on a lower
//! layer, and `mcp` and `a2a` (one layer, two protocols) never import each other. Read from the source text,
//! so an upward `crate::…` path anywhere in a file fails here, whatever the compiler would allow.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Layers, lowest first. Modules on one layer may not import each other.
const LAYERS: &[&[&str]] = &[
    &["config"],
    &["core"],
    &["registry"],
    &["mcp", "a2a"],
    &["sample"],
    &["gateway"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every top-level module a source text names through `crate::`, with the line it is named on. A grouped
/// `use crate::{a::x, b::y}` names each member.
fn imports(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            // `agent_gateway::crate` never occurs; `$crate::` (macros) is not ours.
            let before = &rest[..i];
            rest = &rest[i + "crate::".len()..];
            if before.ends_with('$') || before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for member in group[..end].split(',') {
                    let name: String = member
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.push((name, n + 1));
                    }
                }
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push((name, n + 1));
        }
    }
    out
}

/// Every import that breaks the rule, as `file:line: from -> to`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        // lib.rs and main.rs stand above every layer.
        let Some(own) = layer_of(&top) else {
            assert!(
                top == "lib" || top == "main",
                "src/{top} is on no layer: add it to LAYERS here and to docs/architecture.md"
            );
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (module, line) in imports(&text) {
            if module == top {
                continue;
            }
            let Some(layer) = layer_of(&module) else {
                continue;
            };
            if layer >= own {
                out.push(format!(
                    "src/{}:{line}: {top} (layer {own}) imports {module} (layer {layer})",
                    relative.display()
                ));
            }
        }
    }
    out
}

#[test]
fn no_module_imports_a_higher_or_sibling_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports against the layer rule (docs/architecture.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn every_module_of_src_is_on_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let tops: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .filter(|name| name != "lib" && name != "main")
        .collect();
    for top in tops {
        assert!(layer_of(&top).is_some(), "src/{top} is on no layer");
    }
}

#[test]
fn the_check_sees_plain_grouped_and_nested_paths() {
    let text = "use crate::core::jsonrpc;\nuse crate::{mcp::McpRoute, a2a};\nlet x = crate::gateway::router::f(); // crate::cli\n$crate::x\n";
    let found: Vec<(String, usize)> = imports(text);
    assert_eq!(
        found,
        [
            ("core".to_string(), 1),
            ("mcp".to_string(), 2),
            ("a2a".to_string(), 2),
            ("gateway".to_string(), 3)
        ]
    );
    // A scratch tree with one upward import is caught, with its file and line.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("core")).unwrap();
    std::fs::write(
        dir.path().join("core/x.rs"),
        "use crate::config::Limits;\nuse crate::mcp::McpRoute;\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("lib.rs"), "").unwrap();
    assert_eq!(
        violations(dir.path()),
        ["src/core/x.rs:2: core (layer 1) imports mcp (layer 3)"]
    );
}
