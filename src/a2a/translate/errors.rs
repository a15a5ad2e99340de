//! A2A errors across versions and bindings: the ErrorInfo 1.0 SDKs read the error type from, and the
//! HTTP status and `google.rpc.Status`-like body of the 1.0 HTTP+JSON binding.

use http::StatusCode;
use serde_json::{Value, json};

use crate::core::error::a2a_error_info;

/// The A2A error codes with their ErrorInfo reason, and the HTTP status and `google.rpc` status the
/// 1.0 HTTP+JSON binding answers them with.
const CODES: [(i64, &str, u16, &str); 12] = [
    (-32001, "TASK_NOT_FOUND", 404, "NOT_FOUND"),
    (-32002, "TASK_NOT_CANCELABLE", 400, "FAILED_PRECONDITION"),
    (
        -32003,
        "PUSH_NOTIFICATION_NOT_SUPPORTED",
        400,
        "FAILED_PRECONDITION",
    ),
    (-32004, "UNSUPPORTED_OPERATION", 400, "FAILED_PRECONDITION"),
    (
        -32005,
        "CONTENT_TYPE_NOT_SUPPORTED",
        400,
        "INVALID_ARGUMENT",
    ),
    (-32006, "INVALID_AGENT_RESPONSE", 500, "INTERNAL"),
    (
        -32007,
        "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
        400,
        "FAILED_PRECONDITION",
    ),
    (-32600, "INVALID_REQUEST", 400, "INVALID_ARGUMENT"),
    (-32601, "METHOD_NOT_FOUND", 404, "NOT_FOUND"),
    (-32602, "INVALID_PARAMS", 400, "INVALID_ARGUMENT"),
    (-32603, "INTERNAL_ERROR", 500, "INTERNAL"),
    (-32700, "PARSE_ERROR", 400, "INVALID_ARGUMENT"),
];

fn code_of(error: &Value) -> (i64, &'static str, u16, &'static str) {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    CODES.iter().find(|(c, ..)| *c == code).copied().unwrap_or((
        code,
        "INTERNAL_ERROR",
        500,
        "INTERNAL",
    ))
}

/// A JSON-RPC error (with its ErrorInfo `data`, see `add_error_info`) as the HTTP+JSON error answer.
pub fn http_answer(error: &Value) -> (StatusCode, Value) {
    let (_, _, status, grpc) = code_of(error);
    let message = error.get("message").cloned().unwrap_or(Value::from(""));
    let details = error.get("data").cloned().unwrap_or(json!([]));
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"code": status.as_u16(), "status": grpc, "message": message, "details": details}});
    (status, body)
}

/// Adds the ErrorInfo `data` 1.0 SDKs read the error type from to a 0.3 agent's error (what the agent
/// put in `data` is kept in the ErrorInfo's metadata).
pub fn add_error_info(error: &mut Value) {
    // Not an error object (a broken or hostile agent's): relayed as it came, never written into.
    if !error.is_object() || error.get("data").is_some_and(Value::is_array) {
        return;
    }
    let (_, reason, ..) = code_of(error);
    let mut metadata = serde_json::Map::new();
    if let Some(data) = error.get("data").filter(|d| !d.is_null()) {
        metadata.insert("data".into(), Value::from(data.to_string()));
    }
    error["data"] = json!([a2a_error_info(reason, metadata)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_that_is_not_an_object_is_left_as_it_came() {
        for mut odd in [json!("boom"), json!(42), json!([1]), Value::Null] {
            let before = odd.clone();
            add_error_info(&mut odd);
            assert_eq!(odd, before);
        }
    }

    #[test]
    fn errors_get_the_bindings_status_and_error_info() {
        let mut error = json!({"code": -32001, "message": "Task not found", "data": {"id": "t"}});
        add_error_info(&mut error);
        assert_eq!(error["data"][0]["reason"], "TASK_NOT_FOUND");
        assert_eq!(error["data"][0]["metadata"]["data"], r#"{"id":"t"}"#);
        let (status, body) = http_answer(&error);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["status"], "NOT_FOUND");
        assert_eq!(body["error"]["details"][0]["reason"], "TASK_NOT_FOUND");
    }
}
