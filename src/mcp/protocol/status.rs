//! The HTTP status of an upstream's JSON-RPC error reply as the gateway relays it. The session era
//! answers every JSON-RPC error with 200; the 2026-07-28 wire (SEP-2575) gives some codes a status of
//! their own, so a caller (or an intermediary) reads the same status through the gateway as from the
//! upstream directly. Errors the gateway authors get theirs from `core::error`.

use http::StatusCode;

use crate::core::jsonrpc;

pub fn of_relayed_error(stateless: bool, code: Option<i64>) -> StatusCode {
    match (stateless, code) {
        (true, Some(jsonrpc::METHOD_NOT_FOUND)) => StatusCode::NOT_FOUND,
        (
            true,
            Some(
                jsonrpc::MISSING_REQUIRED_CLIENT_CAPABILITY
                | jsonrpc::HEADER_MISMATCH
                | jsonrpc::UNSUPPORTED_PROTOCOL_VERSION,
            ),
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_2026_wire_gives_errors_a_status() {
        for code in [-32601, -32021, -32020, -32022, -32602, -32603] {
            assert_eq!(of_relayed_error(false, Some(code)), StatusCode::OK);
        }
        assert_eq!(of_relayed_error(true, Some(-32601)), StatusCode::NOT_FOUND);
        for code in [-32021, -32020, -32022] {
            assert_eq!(of_relayed_error(true, Some(code)), StatusCode::BAD_REQUEST);
        }
        assert_eq!(of_relayed_error(true, Some(-32602)), StatusCode::OK);
        assert_eq!(of_relayed_error(true, None), StatusCode::OK);
    }
}
