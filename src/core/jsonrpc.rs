//! JSON-RPC 2.0 as both protocols use it: the error codes of MCP, A2A and the gateway, classifying an
//! incoming message, and building requests, results and errors. Bodies stay `serde_json::Value` so nothing the gateway does not own is lost.

use serde_json::{Map, Value};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// 2026-07-28: an `Mcp-Method`/`Mcp-Name`/`MCP-Protocol-Version` header disagrees with the body.
pub const HEADER_MISMATCH: i64 = -32020;
/// 2026-07-28: serving the request needs a client capability its `_meta` did not declare.
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
/// 2026-07-28: the requested protocol version is not supported.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// Gateway-specific (implementation-defined range): the upstream owning the target failed or timed out.
pub const UPSTREAM_ERROR: i64 = -32002;
/// MCP: the resource a `resources/read` names does not exist (the spec's code; the same number as above).
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// The request was cancelled (`notifications/cancelled`), the code MCP SDKs use.
pub const REQUEST_CANCELLED: i64 = -32800;
/// A2A: no task with this id for this caller.
pub const A2A_TASK_NOT_FOUND: i64 = -32001;
/// A2A: the operation is not supported (here: by the gateway, e.g. listing every caller's tasks).
pub const A2A_UNSUPPORTED_OPERATION: i64 = -32004;
/// A2A: the requested protocol version is not supported.
pub const A2A_VERSION_NOT_SUPPORTED: i64 = -32009;
/// A2A, implementation-defined server error: the caller may not reach this agent.
pub const A2A_FORBIDDEN: i64 = -32000;
/// Gateway-specific: a rate limit refused the request (sent with HTTP 429 and `Retry-After`).
pub const RATE_LIMITED: i64 = -32029;
/// Gateway-specific: the upstream did not answer within the configured timeout.
pub const UPSTREAM_TIMEOUT: i64 = -32001;

/// One incoming JSON-RPC message, classified by shape.
#[derive(Debug)]
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// A reply to a request the gateway sent (e.g. an elicitation it relayed).
    Response {
        id: Value,
        body: Map<String, Value>,
    },
}

/// Why a body is not a usable JSON-RPC message; each maps to one error code.
#[derive(Debug, PartialEq)]
pub struct Invalid {
    pub code: i64,
    pub message: String,
    pub id: Value,
}

impl Message {
    /// The id a reply to this message answers (null for a notification).
    pub fn id(&self) -> &Value {
        match self {
            Message::Request { id, .. } | Message::Response { id, .. } => id,
            Message::Notification { .. } => &Value::Null,
        }
    }

    /// Classifies a parsed JSON value. Batches are refused: MCP removed them in 2025-06-18.
    pub fn classify(value: Value) -> Result<Message, Invalid> {
        let Value::Object(mut obj) = value else {
            let what = if value.is_array() {
                "JSON-RPC batches are not supported"
            } else {
                "a JSON-RPC message must be an object"
            };
            return Err(invalid(Value::Null, what));
        };
        let id = obj.get("id").cloned();
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(invalid(
                id.unwrap_or(Value::Null),
                "\"jsonrpc\" must be \"2.0\"",
            ));
        }
        if let Some(id) = &id
            && !(id.is_string() || id.is_i64() || id.is_u64())
        {
            return Err(invalid(
                Value::Null,
                "\"id\" must be a string or an integer",
            ));
        }
        match obj.get("method") {
            Some(Value::String(_)) => {
                let Some(Value::String(method)) = obj.remove("method") else {
                    unreachable!()
                };
                let params = obj.remove("params").unwrap_or(Value::Null);
                if !(params.is_null() || params.is_object()) {
                    return Err(Invalid {
                        code: INVALID_PARAMS,
                        message: "\"params\" must be an object".into(),
                        id: id.unwrap_or(Value::Null),
                    });
                }
                match id {
                    Some(id) => Ok(Message::Request { id, method, params }),
                    None => Ok(Message::Notification { method, params }),
                }
            }
            Some(_) => Err(invalid(
                id.unwrap_or(Value::Null),
                "\"method\" must be a string",
            )),
            None => match id {
                Some(id) if obj.contains_key("result") || obj.contains_key("error") => {
                    Ok(Message::Response { id, body: obj })
                }
                _ => Err(invalid(
                    id.unwrap_or(Value::Null),
                    "not a request, notification or response",
                )),
            },
        }
    }
}

fn invalid(id: Value, message: &str) -> Invalid {
    Invalid {
        code: INVALID_REQUEST,
        message: format!("Invalid Request: {message}"),
        id,
    }
}

// These build maps by hand: `json!` would pass `params` and `result` through `serde_json::to_value`,
// a deep copy of values that can be large (and was 5% of a relayed call's instructions).

/// `{"jsonrpc": "2.0", "id": id}` (no id for a notification), plus `members`.
fn envelope(id: Option<&Value>, members: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut message = Map::new();
    message.insert("jsonrpc".into(), Value::String("2.0".into()));
    if let Some(id) = id {
        message.insert("id".into(), id.clone());
    }
    for (key, value) in members {
        message.insert(key.into(), value);
    }
    Value::Object(message)
}

pub fn result(id: &Value, result: Value) -> Value {
    envelope(Some(id), [("result", result)])
}

pub fn error(id: &Value, code: i64, message: impl Into<String>) -> Value {
    error_object(id, code, message.into(), None)
}

pub fn error_with_data(id: &Value, code: i64, message: impl Into<String>, data: Value) -> Value {
    error_object(id, code, message.into(), Some(data))
}

fn error_object(id: &Value, code: i64, message: String, data: Option<Value>) -> Value {
    let mut error = Map::new();
    error.insert("code".into(), code.into());
    error.insert("message".into(), Value::String(message));
    if let Some(data) = data {
        error.insert("data".into(), data);
    }
    envelope(Some(id), [("error", Value::Object(error))])
}

/// A request or notification; null `params` are left out.
fn call(id: Option<&Value>, method: &str, params: Value) -> Value {
    let method = ("method", Value::String(method.into()));
    match params {
        Value::Null => envelope(id, [method]),
        params => envelope(id, [method, ("params", params)]),
    }
}

pub fn notification(method: &str, params: Value) -> Value {
    call(None, method, params)
}

pub fn request(id: &Value, method: &str, params: Value) -> Value {
    call(Some(id), method, params)
}

/// The error code of a JSON-RPC error reply, if it is one.
pub fn error_code(reply: &Value) -> Option<i64> {
    reply.get("error")?.get("code")?.as_i64()
}

/// Deepest nesting of arrays and objects in a JSON text, counted without parsing, so an attacker's
/// deeply nested body is refused before serde recurses into it.
pub fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Arbitrary JSON values, strings included (which may hold brackets and escaped quotes).
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[\\[\\]{}\"\\\\a-z ]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(8, 64, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z\\[{\"]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    proptest! {
        /// The byte count agrees with the parsed tree for any JSON, brackets inside strings included.
        #[test]
        fn nesting_depth_is_the_trees_depth(value in json_value()) {
            prop_assert_eq!(nesting_depth(value.to_string().as_bytes()), depth(&value));
        }
    }

    #[test]
    fn classifies_requests_notifications_and_responses() {
        let req = Message::classify(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"})).unwrap();
        assert!(matches!(req, Message::Request { ref method, .. } if method == "tools/list"));
        let note = Message::classify(json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .unwrap();
        assert!(matches!(note, Message::Notification { .. }));
        let resp = Message::classify(json!({"jsonrpc":"2.0","id":"a","result":{}})).unwrap();
        assert!(matches!(resp, Message::Response { .. }));
    }

    #[test]
    fn rejects_malformed_shapes_with_precise_codes() {
        let cases = [
            (
                json!([{"jsonrpc":"2.0","id":1,"method":"x"}]),
                INVALID_REQUEST,
            ),
            (json!({"id":1,"method":"x"}), INVALID_REQUEST),
            (json!({"jsonrpc":"2.0","id":1,"method":7}), INVALID_REQUEST),
            (
                json!({"jsonrpc":"2.0","id":{"a":1},"method":"x"}),
                INVALID_REQUEST,
            ),
            (
                json!({"jsonrpc":"2.0","id":1,"method":"x","params":[1]}),
                INVALID_PARAMS,
            ),
            (json!({"jsonrpc":"2.0","id":1}), INVALID_REQUEST),
            (json!("hello"), INVALID_REQUEST),
        ];
        for (body, code) in cases {
            let err = Message::classify(body.clone()).unwrap_err();
            assert_eq!(err.code, code, "{body}");
        }
    }

    #[test]
    fn depth_ignores_brackets_inside_strings() {
        assert_eq!(nesting_depth(br#"{"a":[1,{"b":"[[[{{{"}]}"#), 3);
        assert_eq!(nesting_depth(br#""\"[""#), 0);
        assert_eq!(nesting_depth(&[b'['; 100]), 100);
    }

    #[test]
    fn builds_the_same_messages_as_the_spec_shows() {
        let id = json!(7);
        assert_eq!(
            request(&id, "tools/call", json!({"name": "x"})),
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "x"}})
        );
        assert_eq!(
            request(&id, "ping", Value::Null),
            json!({"jsonrpc": "2.0", "id": 7, "method": "ping"})
        );
        assert_eq!(
            notification("notifications/initialized", Value::Null),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        );
        assert_eq!(
            result(&id, json!({"a": 1})),
            json!({"jsonrpc": "2.0", "id": 7, "result": {"a": 1}})
        );
        assert_eq!(
            error_with_data(&id, -32602, "bad", json!([1])),
            json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32602, "message": "bad", "data": [1]}})
        );
        assert_eq!(
            error(&Value::Null, -32700, "Parse error").to_string(),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#
        );
    }
}
