//! The guide's `mcp-authz` and rate limit: the weather agent sees and calls its six tools, another principal
//! sees none and a denial looks like an unknown tool, `execute_code` is limited at ten a minute.

use std::collections::BTreeSet;

use serde_json::json;

use crate::guide::{Guide, SIX_TOOLS};
use crate::identity_common::WEATHER_SA;
use crate::{OTHER_SA, structured};

#[tokio::test]
async fn guide_weather_agent_sees_and_calls_its_six_tools() {
    let g = Guide::start().await;
    let token = g.token(WEATHER_SA);
    let names = g.tool_names(&token).await;
    assert_eq!(names.len(), 6, "no duplicates: {names:?}");
    assert_eq!(
        names.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        SIX_TOOLS.into_iter().collect::<BTreeSet<_>>()
    );

    let reply = g
        .call(&token, 2, "get_weather_data", json!({"city": "Tampa, FL"}))
        .await;
    let weather = structured(&reply, "get_weather_data");
    assert_eq!(reply.json()["id"], 2);
    assert_eq!(weather["source"], "synthetic");
    assert_eq!(
        weather["days"].as_array().map(Vec::len),
        Some(7),
        "{weather}"
    );
}

#[tokio::test]
async fn guide_other_principal_sees_nothing_and_a_denial_looks_like_an_unknown_tool() {
    let g = Guide::start().await;
    let token = g.token(OTHER_SA);
    assert_eq!(g.tool_names(&token).await, Vec::<String>::new());

    let denied = g
        .call(&token, 7, "get_weather_data", json!({"city": "Tampa, FL"}))
        .await;
    let unknown = g
        .call(&token, 7, "no_such_tool", json!({"city": "Tampa, FL"}))
        .await;
    assert_eq!(
        (denied.status, denied.headers.get("content-type")),
        (unknown.status, unknown.headers.get("content-type")),
        "denied: {} / unknown: {}",
        denied.text,
        unknown.text
    );
    // The only difference allowed is the name the caller itself sent.
    assert_eq!(
        denied.text.replace("get_weather_data", "TOOL"),
        unknown.text.replace("no_such_tool", "TOOL"),
        "a denied call must be answered exactly like an unknown tool"
    );
    let error = &denied.json()["error"];
    assert!(error.is_object(), "a denial is an error: {}", denied.text);
    assert!(
        denied.json().get("result").is_none(),
        "the upstream was not called: {}",
        denied.text
    );

    // The same principal is denied for every one of the six tools; the weather agent is not.
    for tool in SIX_TOOLS {
        let r = g.call(&token, 8, tool, json!({})).await;
        let u = g.call(&token, 8, "no_such_tool", json!({})).await;
        assert_eq!(
            r.text.replace(tool, "TOOL"),
            u.text.replace("no_such_tool", "TOOL"),
            "{tool}"
        );
    }
}

#[tokio::test]
async fn guide_execute_code_is_limited_at_ten_per_minute() {
    let g = Guide::start().await;
    let token = g.token(WEATHER_SA);
    let weather = structured(
        &g.call(&token, 1, "get_weather_data", json!({"city": "Tampa, FL"}))
            .await,
        "get_weather_data",
    );
    let analysis = structured(
        &g.call(
            &token,
            2,
            "generate_analysis_code",
            json!({ "weather_data": weather }),
        )
        .await,
        "generate_analysis_code",
    );
    let code = analysis["python_code"].as_str().expect("python_code");

    for i in 1..=10 {
        let reply = g
            .call(
                &token,
                100 + i,
                "execute_code",
                json!({ "python_code": code }),
            )
            .await;
        let result = structured(&reply, &format!("execute_code call {i} of 10"));
        assert_eq!(
            result["classifications"].as_array().map(Vec::len),
            Some(7),
            "call {i}: {result}"
        );
    }

    let limited = g
        .call(&token, 111, "execute_code", json!({ "python_code": code }))
        .await;
    let (status, code, message) = limited.error();
    assert_eq!(
        (status, code),
        (429, -32029),
        "the 11th call: {}",
        limited.text
    );
    assert!(
        message.starts_with("Rate limit exceeded: 10 calls per minute; retry in "),
        "{message}"
    );
    let data = &limited.json()["error"]["data"];
    assert_eq!(
        (&data["limit"], &data["per"]),
        (&json!(10), &json!("tool")),
        "{data}"
    );
    let retry_after: u64 = limited
        .headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", limited.headers))
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds");
    // Ten a minute is one every six seconds.
    assert!((1..=6).contains(&retry_after), "Retry-After {retry_after}");
    assert!(
        limited
            .headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{:?}",
        limited.headers
    );
    let body = limited.json();
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["id"], 111, "{body}");
    assert_eq!(body["error"]["code"], -32029, "{body}");
    assert!(body.get("result").is_none(), "{body}");

    // The limit is on execute_code only: other tools still answer. The rate limit runs before the schema
    // check (docs/architecture.md, the pipeline's order), so a flood of invalid calls is cut as cheaply.
    structured(
        &g.call(
            &token,
            112,
            "get_weather_data",
            json!({"city": "Tampa, FL"}),
        )
        .await,
        "get_weather_data after execute_code was limited",
    );
    let invalid = g.call(&token, 113, "execute_code", json!({})).await;
    assert_eq!(
        (invalid.status, invalid.json()["error"]["code"].clone()),
        (429, json!(-32029)),
        "the rate limit comes before schema validation: {}",
        invalid.text
    );
}
