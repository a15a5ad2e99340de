//! Error answers in the shape each binding expects: JSON-RPC errors (A2A codes) and the HTTP+JSON binding's
//! `google.rpc.Status`-like body, so SDK clients map them to their typed errors.

use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::core::http::body::{Body, json as json_response};

pub const TASK_NOT_FOUND: i64 = -32001;
pub const UNSUPPORTED_OPERATION: i64 = -32004;
pub const VERSION_NOT_SUPPORTED: i64 = -32009;
/// Implementation-defined server error (the -32000..-32099 range): the caller may not reach this agent.
pub const FORBIDDEN: i64 = -32000;
pub const INVALID_REQUEST: i64 = -32600;
pub const PARSE_ERROR: i64 = -32700;
pub const INTERNAL_ERROR: i64 = -32603;

pub fn rpc(status: StatusCode, id: &Value, code: i64, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    )
}

/// The HTTP+JSON binding's error body; `reason` is the A2A reason the SDKs map back to a typed error.
pub fn rest(status: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let grpc = match status {
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::FORBIDDEN => "PERMISSION_DENIED",
        StatusCode::BAD_REQUEST => "FAILED_PRECONDITION",
        StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    json_response(
        status,
        &json!({"error": {
            "code": status.as_u16(),
            "status": grpc,
            "message": message,
            "details": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "a2a-protocol.org",
                "metadata": {},
            }],
        }}),
    )
}

/// The reason string and HTTP status the HTTP+JSON binding uses for an A2A JSON-RPC code.
pub fn rest_for_code(code: i64, message: &str) -> Response<Body> {
    let (status, reason) = match code {
        TASK_NOT_FOUND => (StatusCode::NOT_FOUND, "TASK_NOT_FOUND"),
        UNSUPPORTED_OPERATION => (StatusCode::BAD_REQUEST, "UNSUPPORTED_OPERATION"),
        VERSION_NOT_SUPPORTED => (StatusCode::BAD_REQUEST, "VERSION_NOT_SUPPORTED"),
        FORBIDDEN => (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
        INVALID_REQUEST | PARSE_ERROR => (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
        _ => (StatusCode::BAD_GATEWAY, "INTERNAL_ERROR"),
    };
    rest(status, reason, message)
}
