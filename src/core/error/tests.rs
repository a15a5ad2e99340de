//! The error mapping, kind by kind and dialect by dialect, without a route or a request.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::core::telemetry::labels::{ErrorType, LimitKind};

const MCP: [Dialect; 2] = [Dialect::McpSession, Dialect::McpStateless];
const A2A: [Dialect; 3] = [
    Dialect::A2aRpc { v1: false },
    Dialect::A2aRpc { v1: true },
    Dialect::A2aRest,
];

fn unknown_tool() -> Error {
    Error::Unknown {
        kind: TargetKind::Tool,
        name: "drop_tables".into(),
    }
}

#[test]
fn mcp_answers_a_denied_target_exactly_like_an_unknown_one() {
    let denied = Error::Denied {
        kind: TargetKind::Tool,
        name: "drop_tables".into(),
    };
    for d in MCP {
        assert_eq!(
            body(&denied, &json!(1), d),
            body(&unknown_tool(), &json!(1), d)
        );
        assert_eq!(denied.status(d), unknown_tool().status(d));
    }
    let denied_uri = Error::Denied {
        kind: TargetKind::Resource,
        name: "memo://secret".into(),
    };
    assert_eq!(
        body(&denied_uri, &json!(1), Dialect::McpSession)["error"],
        json!({"code": -32002, "message": "Resource not found", "data": {"uri": "memo://secret"}})
    );
}

#[test]
fn a2a_answers_a_denied_agent_with_403_and_an_unknown_one_with_404() {
    let denied = Error::Denied {
        kind: TargetKind::Agent,
        name: "weather".into(),
    };
    let unknown = Error::Unknown {
        kind: TargetKind::Agent,
        name: "weather".into(),
    };
    for d in A2A {
        assert_eq!(denied.status(d), StatusCode::FORBIDDEN);
        assert_eq!(unknown.status(d), StatusCode::NOT_FOUND);
    }
    assert_eq!(denied.code(Dialect::A2aRpc { v1: false }), -32000);
}

#[test]
fn session_era_carries_json_rpc_errors_with_200_and_stateless_uses_http_statuses() {
    let not_found = Error::MethodNotFound("ping".into());
    let version = Error::UnsupportedVersion {
        requested: "1999-01-01".into(),
        supported: vec!["2026-07-28", "2025-11-25"],
    };
    assert_eq!(not_found.status(Dialect::McpSession), StatusCode::OK);
    assert_eq!(
        not_found.status(Dialect::McpStateless),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        version.status(Dialect::McpStateless),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        body(&version, &json!("a"), Dialect::McpStateless)["error"],
        json!({"code": -32022, "message": "Unsupported protocol version 1999-01-01",
               "data": {"requested": "1999-01-01", "supported": ["2026-07-28", "2025-11-25"]}})
    );
    // Transport errors have one status whatever the era.
    for d in MCP.into_iter().chain(A2A) {
        assert_eq!(
            Error::BodyTooLarge { limit: 10 }.status(d),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            Error::HeaderMismatch("x".into()).status(d),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Error::SessionNotFound { reason: "expired" }.status(d),
            StatusCode::NOT_FOUND
        );
    }
}

#[test]
fn a_rate_limit_answers_429_with_retry_after_rounded_up_and_says_why_in_data() {
    let limited = Error::RateLimited {
        per_minute: 7,
        retry_after: Duration::from_millis(8_571),
        per: LimitKind::Tool,
    };
    let r = response(&limited, &json!(3), Dialect::McpSession);
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "9");
    let tag = r.extensions().get::<ErrorCode>().unwrap();
    assert_eq!(
        (tag.code, tag.metric),
        (-32029, Some(ErrorType::RateLimited))
    );
    assert_eq!(
        limited.data(),
        Some(json!({"retryAfterSeconds": 9, "limit": 7, "per": "tool"}))
    );
    assert!(limited.to_string().contains("retry in 9s"));
}

#[test]
fn a2a_1_0_errors_carry_error_info_and_rest_errors_the_status_body() {
    let task = Error::Unknown {
        kind: TargetKind::Task,
        name: "t-1".into(),
    };
    let v1 = body(&task, &json!(5), Dialect::A2aRpc { v1: true });
    assert_eq!(v1["error"]["code"], -32001);
    assert_eq!(v1["error"]["message"], "Task not found");
    assert_eq!(v1["error"]["data"][0]["reason"], "TASK_NOT_FOUND");
    assert_eq!(
        v1["error"]["data"][0]["@type"],
        "type.googleapis.com/google.rpc.ErrorInfo"
    );
    let v03 = body(&task, &json!(5), Dialect::A2aRpc { v1: false });
    assert!(v03["error"].get("data").is_none());
    let rest = body(&task, &Value::Null, Dialect::A2aRest);
    assert_eq!(rest["error"]["code"], 404);
    assert_eq!(rest["error"]["status"], "NOT_FOUND");
    assert_eq!(rest["error"]["details"][0]["reason"], "TASK_NOT_FOUND");
}

#[test]
fn an_upstream_failure_keeps_its_cause_for_the_log_but_not_for_the_caller() {
    let e = Error::Upstream {
        backend: "weather".into(),
        source: UpstreamError::Connect("10.0.0.7:8000: connection refused".into()),
    };
    assert_eq!(
        error_chain(&e),
        "upstream weather failed: connection failed: 10.0.0.7:8000: connection refused"
    );
    let sent = body(&e, &json!(1), Dialect::McpSession);
    assert!(!sent.to_string().contains("10.0.0.7"), "{sent}");
    assert_eq!(
        sent["error"]["data"],
        json!({"reason": "connection failed"})
    );
    assert_eq!(e.metric(), ErrorType::UpstreamUnavailable);
    assert_eq!(e.status(Dialect::A2aRest), StatusCode::BAD_GATEWAY);
}
