//! The Kubernetes ConfigMap wrapper of the guide (`data: {gateway.yaml: | ...}`). The embedded text is parsed
//! on its own; then every position in it is moved to where that text stands in the outer file, so that
//! diagnostics name the line a person would open.

use super::cx::{Cx, Pos, did_you_mean};
use super::yaml::{self, Key, Node, Value};

const KEY: &str = "gateway.yaml";

/// Whether `root` is a Kubernetes object rather than a bare gateway config.
pub fn is_wrapper(root: &Node) -> bool {
    matches!(&root.value, Value::Map(entries) if entries.iter().any(|(k, _)| k.name == "kind" || k.name == "apiVersion"))
}

/// The embedded gateway document, with positions in the outer file. `None` when there is none (reported).
pub fn unwrap(root: &Node, text: &str, cx: &mut Cx) -> Option<Node> {
    let o = cx.obj(
        root,
        "",
        &[
            "apiVersion",
            "kind",
            "metadata",
            "data",
            "binaryData",
            "immutable",
        ],
    )?;
    let kind = cx.required(&o, "kind", Cx::str);
    if let (Some(kind), Some(at)) = (&kind, o.get("kind"))
        && kind != "ConfigMap"
    {
        let msg = format!(
            "kind \"{kind}\" is not supported; expected a ConfigMap holding the config under data.{KEY}, or the bare config (starting with `binds:`)"
        );
        cx.error(at, "kind", msg);
        return None;
    }
    if let Some(v) = cx.required(&o, "apiVersion", Cx::str)
        && v != "v1"
    {
        cx.error(
            o.get("apiVersion")?,
            "apiVersion",
            format!("a ConfigMap has apiVersion \"v1\", found \"{v}\""),
        );
    }
    let data = cx.required(&o, "data", |_, n, _| Some(n))?;
    let Value::Map(entries) = &data.value else {
        cx.mismatch(data, "data", "a mapping of file names to their text");
        return None;
    };
    let Some((key, value)) = entries.iter().find(|(k, _)| k.name == KEY) else {
        let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        let mut msg = if names.is_empty() {
            format!("this ConfigMap has no \"{KEY}\" key: its data is empty")
        } else {
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            format!(
                "this ConfigMap has no \"{KEY}\" key; its data keys are: {}",
                quoted.join(", ")
            )
        };
        if let Some(close) = names.iter().find(|n| did_you_mean(KEY, &[n]).is_some()) {
            msg.push_str(&format!("; rename \"{close}\" to \"{KEY}\"?"));
        }
        cx.error(data, "data", msg);
        return None;
    };
    let path = format!("data.{KEY}");
    let Value::Str(inner) = &value.value else {
        cx.mismatch(
            value,
            &path,
            "the config text (a literal block: `gateway.yaml: |`)",
        );
        return None;
    };

    let shift: Box<dyn Fn(usize, usize) -> (usize, usize)> = if value.literal_block {
        let (first_line, indent) = block_origin(text, key, value);
        Box::new(move |l, c| (first_line + l - 1, c + indent))
    } else {
        // Folded or quoted text does not keep lines 1:1, so positions cannot be mapped back; say so, and
        // name the embedded text as the file so that no line number points at the wrong place.
        cx.warning(value, &path, "not a literal block (`|`): positions below count from the first line of the embedded text");
        cx.file = format!("{}[{path}]", cx.file);
        Box::new(|l, c| (l, c))
    };
    let mut docs = match yaml::parse(inner) {
        Ok(docs) => docs,
        Err(errors) => {
            for e in errors {
                let (line, column) = shift(e.line, e.column);
                cx.error(Pos { line, column }, "", e.message);
            }
            return None;
        }
    };
    match docs.len() {
        0 => {
            cx.error(value, &path, "the embedded config is empty");
            None
        }
        1 => {
            let mut doc = docs.remove(0);
            doc.shift(&*shift);
            Some(doc)
        }
        n => {
            let mut second = docs.remove(1);
            second.shift(&*shift);
            cx.error(
                &second,
                "",
                format!("the embedded config holds {n} YAML documents; expected one"),
            );
            None
        }
    }
}

/// Where the content of the literal block that is `key`'s value begins: its first line (1-based) and its
/// indentation (the number of columns stripped from every line). Read from the source text because the
/// parser reports the block at its first non-blank line, not where its content starts.
fn block_origin(text: &str, key: &Key, value: &Node) -> (usize, usize) {
    let lines: Vec<&str> = text.lines().collect();
    // The indicator `|` follows the key, normally on the key's line; `gateway.yaml` itself holds no `|`.
    let on_key_line = lines.get(key.line - 1).and_then(|l| {
        let from = l
            .char_indices()
            .nth(key.column - 1)
            .map_or(l.len(), |(i, _)| i);
        l[from..].find('|').map(|i| (key.line, &l[from + i + 1..]))
    });
    let indicator = on_key_line.or_else(|| {
        (key.line..lines.len()).find_map(|i| {
            lines[i]
                .trim_start()
                .strip_prefix('|')
                .map(|header| (i + 1, header))
        })
    });
    let Some((indicator_line, header)) = indicator else {
        // Cannot happen for text the parser accepted; the parser's own marker is the best remaining guess.
        return (value.line, value.column - 1);
    };
    // An explicit indentation indicator (`|2`) counts from the indentation of the mapping holding the key.
    let explicit = header
        .chars()
        .take_while(|c| !c.is_whitespace())
        .find_map(|c| c.to_digit(10));
    let indent = match explicit {
        Some(d) => key.column - 1 + d as usize,
        None => lines
            .iter()
            .skip(indicator_line)
            .find(|l| !l.trim().is_empty())
            .map_or(value.column - 1, |l| {
                l.chars().take_while(|c| *c == ' ').count()
            }),
    };
    (indicator_line + 1, indent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> (usize, usize) {
        let docs = yaml::parse(text).unwrap();
        let Value::Map(top) = &docs[0].value else {
            panic!()
        };
        let Value::Map(data) = &top[0].1.value else {
            panic!()
        };
        block_origin(text, &data[0].0, &data[0].1)
    }

    #[test]
    fn block_content_starts_after_the_indicator() {
        assert_eq!(origin("data:\n  gateway.yaml: |\n    binds: []\n"), (3, 4));
        // Leading blank lines and comments belong to the content, so line 1 of the content is still line 3.
        assert_eq!(
            origin("data:\n  gateway.yaml: |-\n\n    # c\n    binds: []\n"),
            (3, 4)
        );
        assert_eq!(
            origin("data:\n  gateway.yaml: |2\n      binds: []\n"),
            (3, 4)
        );
        assert_eq!(
            origin("data:\n  \"gateway.yaml\": | # the config\n   binds: []\n"),
            (3, 3)
        );
    }
}
