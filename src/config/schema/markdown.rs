//! `docs/config.md`, generated from the table.

use super::{DEFS, Dflt, Req, Ty};

fn ty_doc(ty: &Ty) -> String {
    match *ty {
        Ty::Text => "string (not empty)".into(),
        Ty::Str => "string".into(),
        Ty::Bool => "boolean".into(),
        Ty::Int(min, i64::MAX) => format!("integer ≥ {min}"),
        Ty::Int(min, max) => format!("integer {min}–{max}"),
        Ty::Num(min, max) => format!("number {min}–{max}"),
        Ty::Duration => "duration".into(),
        Ty::PositiveDuration => "duration > 0".into(),
        Ty::Pattern(_, what) => what.into(),
        Ty::Enum(values) => {
            let v: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
            format!("one of {}", v.join(", "))
        }
        Ty::List(item, 0) => format!("list of {}", ty_doc(item)),
        Ty::List(item, min) => format!("list of {} (at least {min})", ty_doc(item)),
        Ty::StrMap(Some(_)) => "map of header name to string".into(),
        Ty::StrMap(None) => "map of string to string".into(),
        Ty::AnyMap => "mapping".into(),
        Ty::Ref(id) => format!("[{id}](#{})", id.to_lowercase()),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `docs/config.md`: every section and field, generated from the same table as [`super::json_schema`].
pub fn reference_markdown() -> String {
    let mut md = String::new();
    md.push_str(
        "# Configuration reference\n\n\
         <!-- Generated from src/config/schema/ by `UPDATE_CONFIG_DOCS=1 cargo test --test config_schema`; do not edit by hand. -->\n\n\
         The gateway reads one YAML file: the bare `gateway.yaml` document below, or a Kubernetes ConfigMap holding it under \
         `data.gateway.yaml` (the user's guide's form). `agent-gateway validate FILE` checks a file and prints every problem as \
         `file:line:column: field: message`. `agent-gateway schema` prints the JSON Schema of this reference, for editors:\n\n\
         ```sh\nagent-gateway schema > gateway.schema.json\n# first line of the config file, for yaml-language-server (VS Code's YAML extension):\n\
         # yaml-language-server: $schema=./gateway.schema.json\n```\n\n\
         The schema checks field names, types, allowed values and required fields. Some checks need the whole file and only \
         `validate` makes them: duplicate ports, names and path prefixes, a second policy of one type on a route, MCP and A2A \
         backends mixed on one route, and the text inside a ConfigMap.\n\n\
         **Durations** are a number and a unit: `500ms`, `1.5s`, `300s`, `1m`, `1h`. A bare number is refused (its unit would be a guess).\n\
         **Globs** (principals, tool names) use `*` and `?`.\n\
         **An empty value** (`key:` with nothing after it) reads as an empty mapping or list.\n\
         Fields marked *extension* are this gateway's additions to the guide's format.\n\n",
    );
    md.push_str("## Sections\n\n");
    for d in DEFS {
        md.push_str(&format!(
            "- [{}](#{}) — `{}`\n",
            d.id,
            d.id.to_lowercase(),
            d.path
        ));
    }
    md.push('\n');
    for d in DEFS {
        md.push_str(&format!(
            "## {}\n\nPath: `{}`\n\n{}\n\n",
            d.id, d.path, d.desc
        ));
        if let Some(t) = d.additional {
            md.push_str(&format!("Other keys: {}.\n\n", ty_doc(&t)));
        }
        md.push_str("| Field | Type | Required | Default | Description | Example |\n|---|---|---|---|---|---|\n");
        for f in d.fields {
            let required = match f.req {
                Req::Yes => "yes",
                Req::WhenEnabled => "unless `enabled: false`",
                Req::No => "no",
            };
            let default = match f.default {
                Dflt::No => "—".to_string(),
                Dflt::Doc(s) => s.to_string(),
                Dflt::Str(s) => format!("`{s}`"),
                Dflt::Int(i) => format!("`{i}`"),
                Dflt::Num(n) => format!("`{n:?}`"),
                Dflt::Bool(b) => format!("`{b}`"),
            };
            let example = match (f.example, f.ty) {
                ("", Ty::Ref(id) | Ty::List(&Ty::Ref(id), _)) => {
                    format!("see [{id}](#{})", id.to_lowercase())
                }
                (e, _) => format!("`{}: {e}`", f.name),
            };
            md.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                f.name,
                cell(&ty_doc(&f.ty)),
                required,
                cell(&default),
                cell(f.desc),
                cell(&example)
            ));
        }
        md.push('\n');
        for (a, b) in d.exclusive {
            md.push_str(&format!("Set `{a}` or `{b}`, not both.\n\n"));
        }
        for (a, b) in d.together {
            md.push_str(&format!("Set `{a}` and `{b}` together, or neither.\n\n"));
        }
        if let Some((key, variants)) = d.discriminator {
            md.push_str(&format!("### By `{key}`\n\n"));
            for v in variants {
                let absent = if v.when_absent {
                    format!(" (also when `{key}` is absent)")
                } else {
                    String::new()
                };
                md.push_str(&format!("#### `{key}: {}`{absent}\n\n", v.value));
                let mut rules = Vec::new();
                let list = |names: &[&str], under: &str| {
                    names
                        .iter()
                        .map(|n| format!("`{under}{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                if !v.requires.is_empty() {
                    rules.push(format!("Requires {}.", list(v.requires, "")));
                }
                for (field, requires, _) in v.nested {
                    if !requires.is_empty() {
                        rules.push(format!(
                            "Requires {}.",
                            list(requires, &format!("{field}."))
                        ));
                    }
                }
                let mut forbidden = list(v.forbids, "");
                for (field, _, forbids) in v.nested {
                    if !forbids.is_empty() {
                        if !forbidden.is_empty() {
                            forbidden.push_str(", ");
                        }
                        forbidden.push_str(&list(forbids, &format!("{field}.")));
                    }
                }
                if !forbidden.is_empty() {
                    rules.push(format!("Not allowed: {forbidden}."));
                }
                if key == "type"
                    && d.id == "Policy"
                    && !crate::config::ACTIVE_POLICY_TYPES.contains(&v.value)
                {
                    rules.push("Accepted but not active in this build.".into());
                }
                md.push_str(&rules.join(" "));
                md.push_str(&format!("\n\n```yaml\n{}```\n\n", v.example));
            }
        }
        md.push_str(&format!("Example:\n\n```yaml\n{}```\n\n", d.example));
    }
    md.truncate(md.trim_end().len());
    md.push('\n');
    md
}
