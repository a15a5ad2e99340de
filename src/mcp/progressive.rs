//! Progressive discovery (`mcp.discovery: progressive`): instead of every definition, `tools/list` gives
//! two tools of the gateway's — `search_tools`, a ranked keyword search (BM25) over the names, titles and
//! descriptions of the tools the caller may call, and `describe_tools`, their full definitions — so an
//! agent behind a large catalogue reads the few schemas it needs. `tools/call` still reaches every tool
//! the caller may call. The index is built once per catalogue generation; a search scores only the
//! postings of the query's terms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::catalogue::Catalogue;

pub const SEARCH: &str = "search_tools";
pub const DESCRIBE: &str = "describe_tools";
/// The most results of one search and definitions of one describe.
const MAX_RESULTS: usize = 50;
const DEFAULT_RESULTS: usize = 10;
const QUERY_MAX_TERMS: usize = 32;
// BM25's usual constants.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// The two tools `tools/list` shows instead of the catalogue.
pub fn definitions() -> Vec<Value> {
    vec![
        json!({
            "name": SEARCH,
            "title": "Search tools",
            "description": "Find tools you may call by keywords (matched against their names, titles and descriptions). Returns the best matches, best first, with name and description; then call describe_tools with the names you need, and call those tools directly.",
            "inputSchema": {"type": "object", "properties": {
                "query": {"type": "string", "description": "Keywords, e.g. \"weather forecast city\"."},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "description": "How many results (default 10)."}
            }, "required": ["query"], "additionalProperties": false},
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
        json!({
            "name": DESCRIBE,
            "title": "Describe tools",
            "description": "The full definitions (input and output schemas included) of the named tools, as tools/list would give them.",
            "inputSchema": {"type": "object", "properties": {
                "names": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_RESULTS}
            }, "required": ["names"], "additionalProperties": false},
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
    ]
}

/// Lower-cased words of `text`, split at anything not a letter or digit and at camelCase humps, so
/// `get_weather_data` and `getWeatherData` both give `get`, `weather`, `data`.
fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            previous_lower = false;
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_uppercase() && previous_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// An inverted index over one catalogue's tools.
pub struct Index {
    generation: u64,
    postings: HashMap<String, Vec<(u32, u32)>>,
    lengths: Vec<u32>,
    average: f64,
}

impl Index {
    pub fn build(catalogue: &Catalogue) -> Index {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(catalogue.tools.len());
        for (i, tool) in catalogue.tools.iter().enumerate() {
            let d = &tool.definition;
            let text = ["name", "title", "description"]
                .iter()
                .filter_map(|k| d.get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            let words = terms(&text);
            lengths.push(words.len() as u32);
            let mut counts: HashMap<String, u32> = HashMap::new();
            for w in words {
                *counts.entry(w).or_default() += 1;
            }
            for (w, n) in counts {
                postings.entry(w).or_default().push((i as u32, n));
            }
        }
        let average = lengths.iter().map(|&l| l as f64).sum::<f64>() / lengths.len().max(1) as f64;
        Index {
            generation: catalogue.generation,
            postings,
            lengths,
            average,
        }
    }

    /// The best `limit` tools for `query` among `visible` (all when `None`), best first.
    pub fn search(
        &self,
        query: &str,
        visible: Option<&[usize]>,
        limit: usize,
    ) -> Vec<(usize, f64)> {
        let n = self.lengths.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        let mut query_terms = terms(query);
        query_terms.sort();
        query_terms.dedup();
        for term in query_terms.iter().take(QUERY_MAX_TERMS) {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let idf = ((n - list.len() as f64 + 0.5) / (list.len() as f64 + 0.5) + 1.0).ln();
            for &(doc, tf) in list {
                // A view lists tool indices in ascending order.
                if visible.is_some_and(|v| v.binary_search(&(doc as usize)).is_err()) {
                    continue;
                }
                let tf = tf as f64;
                let norm = 1.0 - B + B * self.lengths[doc as usize] as f64 / self.average.max(1.0);
                *scores.entry(doc).or_default() += idf * tf * (K1 + 1.0) / (tf + K1 * norm);
            }
        }
        let mut ranked: Vec<(usize, f64)> =
            scores.into_iter().map(|(d, s)| (d as usize, s)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked
    }
}

/// The route's index, rebuilt when the catalogue's generation changes.
#[derive(Default)]
pub struct Indexes {
    current: Mutex<Option<Arc<Index>>>,
}

impl Indexes {
    pub fn for_catalogue(&self, catalogue: &Catalogue) -> Arc<Index> {
        let mut current = self.current.lock().unwrap();
        match current.as_ref() {
            Some(index) if index.generation == catalogue.generation => index.clone(),
            _ => {
                let index = Arc::new(Index::build(catalogue));
                *current = Some(index.clone());
                index
            }
        }
    }
}

/// `search_tools`: the matches among `visible`, as a tool result (structured and as text).
pub fn search_result(
    catalogue: &Catalogue,
    index: &Index,
    visible: Option<&[usize]>,
    args: &Value,
) -> Result<Value, String> {
    let query = args
        .get("query")
        .and_then(Value::as_str)
        .ok_or("search_tools needs a string \"query\"")?;
    let limit = match args.get("limit") {
        None => DEFAULT_RESULTS,
        Some(n) => n
            .as_u64()
            .filter(|n| (1..=MAX_RESULTS as u64).contains(n))
            .ok_or("\"limit\" must be an integer from 1 to 50")? as usize,
    };
    let found: Vec<Value> = index
        .search(query, visible, limit)
        .into_iter()
        .map(|(i, _)| {
            let d = &catalogue.tools[i].definition;
            let mut hit = json!({"name": d["name"], "description": d.get("description").cloned().unwrap_or(Value::Null)});
            if let Some(title) = d.get("title") {
                hit["title"] = title.clone();
            }
            hit
        })
        .collect();
    let text = found
        .iter()
        .map(|t| {
            format!(
                "{}: {}",
                t["name"].as_str().unwrap_or(""),
                t["description"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(
        json!({"content": [{"type": "text", "text": if text.is_empty() { "no tool matches".to_string() } else { text }}],
              "structuredContent": {"tools": found}, "isError": false}),
    )
}

/// `describe_tools`: the definitions of the named tools among `visible`; names the caller may not see
/// are reported unknown, exactly like names that do not exist.
pub fn describe_result(
    catalogue: &Catalogue,
    visible: Option<&[usize]>,
    args: &Value,
) -> Result<Value, String> {
    let names = args
        .get("names")
        .and_then(Value::as_array)
        .filter(|n| !n.is_empty() && n.len() <= MAX_RESULTS)
        .ok_or("describe_tools needs \"names\": 1 to 50 tool names")?;
    let allowed = |i: usize| visible.is_none_or(|v| v.binary_search(&i).is_ok());
    let (mut tools, mut unknown) = (Vec::new(), Vec::new());
    for name in names {
        let Some(name) = name.as_str() else {
            return Err("\"names\" must be strings".into());
        };
        match catalogue.tool_index(name).filter(|&i| allowed(i)) {
            Some(i) => tools.push(catalogue.tools[i].definition.clone()),
            None => unknown.push(name.to_string()),
        }
    }
    let text = serde_json::to_string(&json!({"tools": tools, "unknown": unknown}))
        .expect("JSON serializes");
    Ok(json!({"content": [{"type": "text", "text": text}],
              "structuredContent": {"tools": tools, "unknown": unknown}, "isError": false}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue(tools: &[(&str, &str)]) -> Catalogue {
        let listing = crate::mcp::catalogue::Listing {
            tools: tools.iter().map(|(n, d)| json!({"name": n, "description": d, "inputSchema": {"type": "object"}})).collect(),
            ..Default::default()
        };
        let source = crate::mcp::catalogue::Source {
            backend_name: "b",
            prefix: None,
            listing: Some(&listing),
            withheld: None,
        };
        Catalogue::build(&[source], "__", &Default::default(), None)
    }

    #[test]
    fn rarer_and_denser_matches_rank_first_and_the_view_bounds_the_search() {
        let c = catalogue(&[
            ("get_forecast", "The weather forecast for a city."),
            (
                "list_cities",
                "Cities with weather stations, and much more text about many other unrelated things here.",
            ),
            ("send_mail", "Sends an email."),
        ]);
        let index = Index::build(&c);
        let names = |hits: Vec<(usize, f64)>| {
            hits.iter()
                .map(|&(i, _)| c.tools[i].exposed.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(index.search("weather forecast", None, 10)),
            ["get_forecast", "list_cities"]
        );
        assert_eq!(
            names(index.search("weather", Some(&[1, 2]), 10)),
            ["list_cities"]
        );
        assert_eq!(names(index.search("WEATHER", None, 1)), ["get_forecast"]);
        assert!(index.search("nothing-like-it", None, 10).is_empty());
    }

    #[test]
    fn terms_split_names_the_way_people_write_them() {
        assert_eq!(terms("get_weather_data"), ["get", "weather", "data"]);
        assert_eq!(terms("getWeatherData v2"), ["get", "weather", "data", "v2"]);
        assert_eq!(terms("HTTPServer-status"), ["httpserver", "status"]);
    }
}
