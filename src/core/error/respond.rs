//! An [`Error`] as the caller receives it: the JSON-RPC error (or the A2A HTTP+JSON error body), its HTTP
//! status, the headers some kinds need, and the code tagged on the response for the access log.

use http::{HeaderValue, Response, header};
use serde_json::{Map, Value, json};

use super::{Dialect, Error, retry_after_secs};
use crate::core::http::body::{self, Body};
use crate::core::jsonrpc;
use crate::core::telemetry::labels::ErrorType;

/// What an error answer carried, put in the response's extensions so the access log, the span and the
/// metrics read it without parsing the body. Relayed upstream errors are tagged by the relay.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode {
    pub code: i64,
    /// `None` for an upstream's own JSON-RPC error (counted by the call's outcome instead).
    pub metric: Option<ErrorType>,
}

/// The error as a JSON body: a JSON-RPC error reply answering `id`, or for the A2A HTTP+JSON binding
/// the `google.rpc.Status`-like body SDK clients map to their typed errors.
pub fn body(error: &Error, id: &Value, dialect: Dialect) -> Value {
    let message = error.message(dialect);
    let code = error.code(dialect);
    match dialect {
        Dialect::A2aRest => json!({"error": {
            "code": error.status(dialect).as_u16(),
            "status": grpc_status(error, dialect),
            "message": message,
            "details": [error_info(error)],
        }}),
        Dialect::A2aRpc { v1: true } => {
            jsonrpc::error_with_data(id, code, message, Value::Array(vec![error_info(error)]))
        }
        _ => match error.data() {
            Some(data) => jsonrpc::error_with_data(id, code, message, data),
            None => jsonrpc::error(id, code, message),
        },
    }
}

/// The whole answer: body, status, `Retry-After` (rate limits), `WWW-Authenticate` (authentication).
pub fn response(error: &Error, id: &Value, dialect: Dialect) -> Response<Body> {
    let mut response = body::json(error.status(dialect), &body(error, id, dialect));
    let headers = response.headers_mut();
    match error {
        Error::RateLimited { retry_after, .. } => {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(*retry_after)),
            );
        }
        Error::MethodNotAllowed { allow, .. } => {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        Error::Unauthenticated { source, metadata } => {
            if let Ok(value) = HeaderValue::from_str(&source.www_authenticate(metadata)) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        _ => {}
    }
    response.extensions_mut().insert(ErrorCode {
        code: error.code(dialect),
        metric: Some(error.metric()),
    });
    response
}

fn error_info(error: &Error) -> Value {
    a2a_error_info(error.reason(), Map::new())
}

/// The A2A ErrorInfo detail: the reason SDKs map to a typed error (gateway errors, and agent errors
/// translated for 1.0 callers).
pub fn a2a_error_info(reason: &str, metadata: Map<String, Value>) -> Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "a2a-protocol.org",
        "metadata": metadata,
    })
}

fn grpc_status(error: &Error, dialect: Dialect) -> &'static str {
    match error.status(dialect).as_u16() {
        400 => "FAILED_PRECONDITION",
        413 | 415 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "UNIMPLEMENTED",
        429 => "RESOURCE_EXHAUSTED",
        502..=504 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}
