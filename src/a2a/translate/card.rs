//! A card that lists one protocol version made bilingual, since the gateway translates: a 1.0 card gains
//! the 0.3 fields (`url`, `preferredTransport`, `protocolVersion`, 0.3 security schemes) and a 0.3
//! JSON-RPC interface; a 0.3 card gains `supportedInterfaces` with a 1.0 JSON-RPC interface and the 1.0
//! spellings of its security schemes. Both sit side by side, as a2a-sdk's own 0.3-compatible agents serve
//! them, so clients of either version read the card they know. Endpoint URLs are the agent's own here;
//! `card::rewrite` then points them at the gateway.

use serde_json::{Map, Value, json};

use super::super::agents::Family;

/// A field spelt one way in 0.3 and another in 1.0.
type Renamed = Option<(&'static str, &'static str)>;

/// 0.3 security scheme `type`, its 1.0 one-of key, and the fields renamed between them (0.3, 1.0).
const SCHEMES: [(&str, &str, Renamed); 5] = [
    ("apiKey", "apiKeySecurityScheme", Some(("in", "location"))),
    ("http", "httpAuthSecurityScheme", None),
    ("oauth2", "oauth2SecurityScheme", None),
    ("openIdConnect", "openIdConnectSecurityScheme", None),
    ("mutualTLS", "mtlsSecurityScheme", None),
];

/// The card as served by a translating gateway; unchanged when it lists both versions (or neither).
pub fn bilingual(card: &Value, families: &[Family]) -> Value {
    let mut card = card.clone();
    let Some(map) = card.as_object_mut() else {
        return card;
    };
    match families {
        [Family::V10] => add_v03(map),
        [Family::V03] => add_v10(map),
        _ => {}
    }
    card
}

fn add_v03(map: &mut Map<String, Value>) {
    let interfaces = map
        .get("supportedInterfaces")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let is_rpc = |i: &&Value| {
        i.get("protocolBinding")
            .and_then(Value::as_str)
            .is_some_and(|b| b.eq_ignore_ascii_case("jsonrpc"))
    };
    let Some(url) = interfaces
        .iter()
        .find(is_rpc)
        .and_then(|i| i.get("url"))
        .cloned()
    else {
        // Only HTTP+JSON: translation runs on the JSON-RPC binding, so no 0.3 endpoint to offer.
        return;
    };
    if let Some(Value::Array(list)) = map.get_mut("supportedInterfaces") {
        list.push(json!({"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"}));
    }
    map.insert("url".into(), url);
    map.insert("preferredTransport".into(), Value::from("JSONRPC"));
    map.insert("protocolVersion".into(), Value::from("0.3.0"));
    let extended = map
        .get("capabilities")
        .and_then(|c| c.get("extendedAgentCard"))
        .cloned();
    if let Some(Value::Bool(true)) = extended {
        map.insert(
            "supportsAuthenticatedExtendedCard".into(),
            Value::Bool(true),
        );
    }
    // Required in 0.3, optional in 1.0.
    for key in ["defaultInputModes", "defaultOutputModes", "skills"] {
        map.entry(key).or_insert_with(|| json!([]));
    }
    if let Some(Value::Array(skills)) = map.get_mut("skills") {
        for skill in skills.iter_mut().filter_map(Value::as_object_mut) {
            skill.entry("tags").or_insert_with(|| json!([]));
        }
    }
    if let Some(Value::Object(schemes)) = map.get_mut("securitySchemes") {
        for scheme in schemes.values_mut().filter_map(Value::as_object_mut) {
            scheme_v03(scheme);
        }
    }
    if let Some(Value::Array(requirements)) = map.get("securityRequirements") {
        let security: Vec<Value> = requirements
            .iter()
            .map(|r| {
                let mut out = Map::new();
                if let Some(Value::Object(schemes)) = r.get("schemes") {
                    for (name, scopes) in schemes {
                        let list = scopes.get("list").cloned().unwrap_or(json!([]));
                        out.insert(name.clone(), list);
                    }
                }
                Value::Object(out)
            })
            .collect();
        map.entry("security").or_insert(Value::Array(security));
    }
}

fn add_v10(map: &mut Map<String, Value>) {
    let Some(url) = map.get("url").cloned() else {
        return;
    };
    let transport = map
        .get("preferredTransport")
        .and_then(Value::as_str)
        .unwrap_or("JSONRPC");
    // Translation runs on the JSON-RPC binding: a 1.0 JSON-RPC endpoint where the agent has its 0.3 one.
    let rpc_url = if transport.eq_ignore_ascii_case("jsonrpc") {
        Some(url.clone())
    } else {
        map.get("additionalInterfaces")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter().find(|i| {
                    i.get("transport")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.eq_ignore_ascii_case("jsonrpc"))
                })
            })
            .and_then(|i| i.get("url").cloned())
    };
    let Some(rpc_url) = rpc_url else {
        return;
    };
    // The 1.0 HTTP+JSON binding is served over the same JSON-RPC endpoint (`rest::as_rpc`).
    let mut interfaces = vec![
        json!({"url": rpc_url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}),
        json!({"url": rpc_url, "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}),
    ];
    interfaces.push(json!({"url": url, "protocolBinding": transport, "protocolVersion": "0.3"}));
    for extra in map
        .get("additionalInterfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let binding = extra.get("transport").cloned().unwrap_or(Value::Null);
        let interface =
            json!({"url": extra.get("url"), "protocolBinding": binding, "protocolVersion": "0.3"});
        if !interfaces.contains(&interface) {
            interfaces.push(interface);
        }
    }
    map.insert("supportedInterfaces".into(), Value::Array(interfaces));
    if map.get("supportsAuthenticatedExtendedCard") == Some(&Value::Bool(true)) {
        let capabilities = map.entry("capabilities").or_insert_with(|| json!({}));
        if let Some(c) = capabilities.as_object_mut() {
            c.insert("extendedAgentCard".into(), Value::Bool(true));
        }
    }
    if let Some(Value::Object(schemes)) = map.get_mut("securitySchemes") {
        for scheme in schemes.values_mut().filter_map(Value::as_object_mut) {
            scheme_v10(scheme);
        }
    }
    if let Some(Value::Array(security)) = map.get("security") {
        let requirements: Vec<Value> = security
            .iter()
            .filter_map(Value::as_object)
            .map(|r| {
                let schemes: Map<String, Value> = r
                    .iter()
                    .map(|(name, scopes)| (name.clone(), json!({"list": scopes})))
                    .collect();
                json!({"schemes": schemes})
            })
            .collect();
        map.entry("securityRequirements")
            .or_insert(Value::Array(requirements));
    }
}

/// Adds the 0.3 spelling (`type` plus the fields) beside a 1.0 scheme's one-of key.
fn scheme_v03(scheme: &mut Map<String, Value>) {
    for (kind, key, renamed) in SCHEMES {
        if let Some(Value::Object(inner)) = scheme.get(key).cloned() {
            scheme.entry("type").or_insert(Value::from(kind));
            for (field, value) in inner {
                let field = match renamed {
                    Some((v03, v10)) if field == v10 => v03.to_string(),
                    _ => field,
                };
                scheme.entry(field).or_insert(value);
            }
            return;
        }
    }
}

/// Adds the 1.0 one-of key beside a 0.3 scheme's `type` and fields.
fn scheme_v10(scheme: &mut Map<String, Value>) {
    let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
    let Some((_, key, renamed)) = SCHEMES.iter().find(|(k, _, _)| *k == kind) else {
        return;
    };
    let inner: Map<String, Value> = scheme
        .iter()
        .filter(|(field, _)| *field != "type")
        .map(|(field, value)| match renamed {
            Some((v03, v10)) if field == v03 => (v10.to_string(), value.clone()),
            _ => (field.clone(), value.clone()),
        })
        .collect();
    scheme.insert(key.to_string(), Value::Object(inner));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_1_0_card_gains_the_0_3_fields_and_interface() {
        let card = json!({
            "name": "w", "version": "1",
            "supportedInterfaces": [{"url": "http://a/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
                                    {"url": "http://a/rest", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}],
            "capabilities": {"streaming": true, "extendedAgentCard": true},
            "skills": [{"id": "s", "name": "S", "description": "d"}],
            "securitySchemes": {"key": {"apiKeySecurityScheme": {"location": "header", "name": "X-Key"}}},
            "securityRequirements": [{"schemes": {"key": {"list": []}}}]
        });
        let out = bilingual(&card, &[Family::V10]);
        assert_eq!(out["url"], "http://a/");
        assert_eq!(out["protocolVersion"], "0.3.0");
        assert_eq!(out["preferredTransport"], "JSONRPC");
        assert_eq!(out["supportsAuthenticatedExtendedCard"], true);
        assert_eq!(
            out["supportedInterfaces"][2],
            json!({"url": "http://a/", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"})
        );
        assert_eq!(out["skills"][0]["tags"], json!([]));
        assert_eq!(out["defaultInputModes"], json!([]));
        let key = &out["securitySchemes"]["key"];
        assert_eq!(
            (&key["type"], &key["in"], &key["name"]),
            (&json!("apiKey"), &json!("header"), &json!("X-Key"))
        );
        assert_eq!(out["security"], json!([{"key": []}]));
        assert_eq!(bilingual(&card, &[Family::V10, Family::V03]), card);
    }

    #[test]
    fn a_0_3_card_gains_a_1_0_json_rpc_interface() {
        let card = json!({
            "name": "w", "url": "http://a/rpc", "preferredTransport": "JSONRPC", "protocolVersion": "0.3.0",
            "additionalInterfaces": [{"url": "http://a/rest", "transport": "HTTP+JSON"}],
            "supportsAuthenticatedExtendedCard": true,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "security": [{"bearer": ["read"]}]
        });
        let out = bilingual(&card, &[Family::V03]);
        assert_eq!(
            out["supportedInterfaces"],
            json!([{"url": "http://a/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
                   {"url": "http://a/rpc", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
                   {"url": "http://a/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
                   {"url": "http://a/rest", "protocolBinding": "HTTP+JSON", "protocolVersion": "0.3"}])
        );
        assert_eq!(out["capabilities"]["extendedAgentCard"], true);
        assert_eq!(
            out["securitySchemes"]["bearer"]["httpAuthSecurityScheme"],
            json!({"scheme": "bearer"})
        );
        assert_eq!(
            out["securityRequirements"],
            json!([{"schemes": {"bearer": {"list": ["read"]}}}])
        );
        assert_eq!(out["url"], "http://a/rpc");
    }
}
