//! Which backend serves each listed resource, and under which URI. URIs keep the upstream's spelling
//! (rewriting them would break links inside content); a URI several backends list is withheld from all of
//! them and reported, except a `ui://` one, which each backend keeps under a URI qualified with its prefix
//! (`apps`).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Source, apps, withhold_collisions};

#[derive(Default)]
pub struct Uris {
    /// The backend serving each URI a caller may use.
    owner: HashMap<String, usize>,
    /// The upstream URI of each qualified one.
    upstream: HashMap<String, String>,
    /// The qualified URI of a backend's `ui://` resource, by backend and upstream URI.
    qualified: HashMap<(usize, String), String>,
}

impl Uris {
    pub fn owner(&self, uri: &str) -> Option<usize> {
        self.owner.get(uri).copied()
    }

    /// The URI the backend knows a resource by.
    pub fn upstream<'a>(&'a self, uri: &'a str) -> &'a str {
        self.upstream.get(uri).map_or(uri, String::as_str)
    }

    /// The URI a backend's `ui://` resource is exposed under, where it differs from the upstream's.
    pub fn qualified(&self, backend: usize, upstream: &str) -> Option<String> {
        self.qualified
            .get(&(backend, upstream.to_string()))
            .cloned()
    }
}

/// Places the resources the backends list (in order, each with its backend): what `resources/list` shows
/// and the URIs it is served under.
pub fn place(
    offered: Vec<(usize, Value)>,
    sources: &[Source],
    delimiter: &str,
    problems: &mut Vec<String>,
) -> (Vec<(usize, Value)>, Uris) {
    // A URI one backend lists twice is one resource: its first entry.
    let mut seen = HashSet::new();
    let entries: Vec<(String, usize, Value)> = offered
        .into_iter()
        .filter_map(|(backend, r)| Some((r.get("uri")?.as_str()?.to_string(), backend, r)))
        .filter(|(uri, backend, _)| seen.insert((uri.clone(), *backend)))
        .collect();
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for (uri, ..) in &entries {
        *holders.entry(uri).or_default() += 1;
    }
    let exposed: Vec<String> = entries
        .iter()
        .map(|(uri, backend, _)| match sources[*backend].prefix {
            Some(prefix) if holders[uri.as_str()] > 1 && apps::is_ui(uri) => {
                apps::qualified(prefix, delimiter, uri)
            }
            _ => uri.clone(),
        })
        .collect();
    let named = exposed
        .into_iter()
        .zip(entries)
        .map(|(exposed, (uri, backend, r))| (exposed, backend, uri, r))
        .collect();
    let remedy = "serve it from one backend";
    let mut uris = Uris::default();
    let mut listed = Vec::new();
    for (exposed, backend, uri, mut r) in
        withhold_collisions(named, "resource URI", remedy, sources, problems)
    {
        if exposed != uri {
            r["uri"] = Value::String(exposed.clone());
            uris.upstream.insert(exposed.clone(), uri.clone());
            uris.qualified.insert((backend, uri), exposed.clone());
        }
        uris.owner.insert(exposed, backend);
        listed.push((backend, r));
    }
    (listed, uris)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::catalogue::Listing;
    use serde_json::json;

    fn source<'a>(name: &'a str, listing: &'a Listing) -> Source<'a> {
        Source {
            backend_name: name,
            prefix: Some(name),
            listing: Some(listing),
            withheld: None,
        }
    }

    fn offered(uris: &[(usize, &str)]) -> Vec<(usize, Value)> {
        uris.iter()
            .map(|(b, uri)| (*b, json!({"uri": uri, "name": uri})))
            .collect()
    }

    #[test]
    fn a_ui_uri_two_backends_list_is_qualified_for_each() {
        let l = Listing::default();
        let sources = [source("a", &l), source("b", &l)];
        let mut problems = Vec::new();
        let offer = offered(&[
            (0, "ui://app/x.html"),
            (1, "ui://app/x.html"),
            (1, "ui://own"),
        ]);
        let (listed, uris) = place(offer, &sources, "__", &mut problems);
        let shown: Vec<&Value> = listed.iter().map(|(_, r)| &r["uri"]).collect();
        assert_eq!(
            shown,
            ["ui://a__app/x.html", "ui://b__app/x.html", "ui://own"]
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(uris.owner("ui://b__app/x.html"), Some(1));
        assert_eq!(uris.upstream("ui://b__app/x.html"), "ui://app/x.html");
        assert_eq!(
            uris.qualified(0, "ui://app/x.html").as_deref(),
            Some("ui://a__app/x.html")
        );
        // A URI only one backend lists keeps its spelling; the upstream one of a qualified URI is no
        // longer served.
        assert_eq!(
            (uris.owner("ui://own"), uris.upstream("ui://own")),
            (Some(1), "ui://own")
        );
        assert_eq!(uris.qualified(1, "ui://own"), None);
        assert_eq!(uris.owner("ui://app/x.html"), None);
    }

    #[test]
    fn any_other_uri_two_backends_list_is_withheld_and_reported() {
        let l = Listing::default();
        let sources = [source("a", &l), source("b", &l)];
        let mut problems = Vec::new();
        let offer = offered(&[(0, "memo://x"), (1, "memo://x"), (0, "memo://x")]);
        let (listed, uris) = place(offer, &sources, "__", &mut problems);
        assert!(listed.is_empty());
        assert_eq!(uris.owner("memo://x"), None);
        assert_eq!(
            problems,
            [
                "resource URI memo://x collides (memo://x of a, memo://x of b); all are withheld — serve it from one backend"
            ]
        );
    }
}
