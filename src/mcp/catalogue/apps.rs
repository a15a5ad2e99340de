//! MCP Apps (the `io.modelcontextprotocol/ui` extension): a tool names its interface in
//! `_meta.ui.resourceUri` (servers of the first drafts, and the ext-apps SDK for them, also write
//! `_meta["ui/resourceUri"]`), a `ui://` resource the host reads and renders, and whose script calls the
//! server's tools by their upstream names (`upstream_names`).
//!
//! Two backends serving one `ui://` URI (two instances of one app, or two apps that chose the same URI)
//! would otherwise be withheld like any resource URI two backends list, leaving both apps without their
//! interface. A `ui://` resource is found through its tools' `_meta`, which the gateway rewrites with it,
//! so each backend's copy is exposed under a URI qualified with the backend's prefix instead, the way
//! tool names are: `ui://<prefix><delimiter><rest>`. A `ui://` URI only one backend lists keeps its
//! spelling, as every other resource URI does.

use serde_json::Value;

use super::naming;

const SCHEME: &str = "ui://";
/// The flat key of the first drafts, still written beside `ui.resourceUri`.
const FLAT_KEY: &str = "ui/resourceUri";

pub fn is_ui(uri: &str) -> bool {
    uri.starts_with(SCHEME)
}

/// `ui://get-time/app.html` of backend `a` → `ui://a__get-time/app.html`. The prefix and delimiter are
/// kept to `[A-Za-z0-9_-]` so the URI's authority stays valid.
pub fn qualified(prefix: &str, delimiter: &str, uri: &str) -> String {
    let rest = uri.strip_prefix(SCHEME).unwrap_or(uri);
    let tag: String = prefix
        .chars()
        .chain(delimiter.chars())
        .map(naming::safe)
        .collect();
    format!("{SCHEME}{tag}{rest}")
}

/// Points a tool definition's interface references at the URIs the route exposes them under; `exposed`
/// gives the new URI of one the backend's resources were renamed from.
pub fn repoint(definition: &mut Value, exposed: impl Fn(&str) -> Option<String>) {
    let Some(meta) = definition.get_mut("_meta").and_then(Value::as_object_mut) else {
        return;
    };
    let repoint_one = |reference: Option<&mut Value>| {
        if let Some(reference) = reference
            && let Some(uri) = reference.as_str().and_then(&exposed)
        {
            *reference = Value::String(uri);
        }
    };
    repoint_one(meta.get_mut("ui").and_then(|ui| ui.get_mut("resourceUri")));
    repoint_one(meta.get_mut(FLAT_KEY));
}

/// A `resources/read` result names the resource as the caller asked for it: the contents the upstream
/// gave under `upstream` get the route's `exposed` URI.
pub fn rename_contents(result: &mut Value, upstream: &str, exposed: &str) {
    let contents = result.get_mut("contents").and_then(Value::as_array_mut);
    for content in contents.into_iter().flatten() {
        if content["uri"] == upstream {
            content["uri"] = Value::String(exposed.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qualifies_with_a_safe_prefix() {
        assert_eq!(
            qualified("app", "__", "ui://get-time/mcp-app.html"),
            "ui://app__get-time/mcp-app.html"
        );
        assert_eq!(qualified("a.b", "::", "ui://x"), "ui://a_b__x");
    }

    #[test]
    fn repoints_both_spellings_and_nothing_else() {
        let mut tool = json!({"name": "t", "_meta": {
            "ui": {"resourceUri": "ui://x/app.html", "visibility": ["app"]},
            "ui/resourceUri": "ui://x/app.html",
            "other": "ui://x/app.html"
        }});
        repoint(&mut tool, |uri| {
            (uri == "ui://x/app.html").then(|| "ui://a__x/app.html".to_string())
        });
        assert_eq!(
            tool["_meta"],
            json!({
                "ui": {"resourceUri": "ui://a__x/app.html", "visibility": ["app"]},
                "ui/resourceUri": "ui://a__x/app.html",
                "other": "ui://x/app.html"
            })
        );
        let mut plain = json!({"name": "t"});
        repoint(&mut plain, |_| Some("ui://y".into()));
        assert_eq!(plain, json!({"name": "t"}));
    }

    #[test]
    fn renames_the_contents_read() {
        let mut result =
            json!({"contents": [{"uri": "ui://x", "text": "<html>"}, {"uri": "ui://y"}]});
        rename_contents(&mut result, "ui://x", "ui://a__x");
        assert_eq!(
            result,
            json!({"contents": [{"uri": "ui://a__x", "text": "<html>"}, {"uri": "ui://y"}]})
        );
    }
}
