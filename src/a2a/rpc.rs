//! The JSON-RPC binding (both protocol versions) and the guide's `{"task": "..."}` shorthand.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::agents::{Agent, Family};
use super::errors::{self, rpc as rpc_error};
use super::ids::{IdMap, method_has_task_id};
use super::relay::{self, CardRewrite};
use super::{A2aRoute, card, read_body};
use crate::core::http::body::{self, Body};

const EXTENDED_CARD_METHODS: [&str; 2] =
    ["agent/getAuthenticatedExtendedCard", "GetExtendedAgentCard"];

pub async fn handle(
    route: &A2aRoute,
    agent: &Agent,
    name: &str,
    request: Request<Incoming>,
    mut ids: IdMap,
) -> Response<Body> {
    let public = card::public_base(request.headers(), &route.prefix, name);
    let Ok((parts, bytes)) = read_body(request).await else {
        return rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &Value::Null,
            errors::INVALID_REQUEST,
            "request body too large",
        );
    };
    let Ok(mut message) = serde_json::from_slice::<Value>(&bytes) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            errors::PARSE_ERROR,
            "parse error: the body is not JSON",
        );
    };
    if message.get("jsonrpc").is_none()
        && let Some(text) = message.get("task").and_then(Value::as_str)
    {
        return shorthand(route, agent, name, text.to_string(), ids).await;
    }
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        let what = if message.is_array() {
            "batches are not supported"
        } else {
            "not a JSON-RPC request"
        };
        return rpc_error(StatusCode::BAD_REQUEST, &id, errors::INVALID_REQUEST, what);
    };
    let info = route.card_info(agent).await;
    if let Err(e) = route.family(info.as_deref(), &parts.headers) {
        return rpc_error(StatusCode::OK, &id, errors::VERSION_NOT_SUPPORTED, &e);
    }
    if let Some(params) = message.get_mut("params") {
        if let Err(e) = open_params(&method, params, &mut ids) {
            return rpc_error(StatusCode::OK, &id, e.0, e.1);
        }
    } else if method == "ListTasks" {
        return rpc_error(
            StatusCode::OK,
            &id,
            errors::UNSUPPORTED_OPERATION,
            LIST_NEEDS_CONTEXT,
        );
    }
    let url = format!(
        "{}{}",
        agent.base,
        info.as_ref().map_or("", |c| c.rpc_path.as_str())
    );
    let body = Bytes::from(serde_json::to_vec(&message).expect("JSON serializes"));
    let response = match relay::send(
        &agent.client,
        &url,
        Method::POST,
        relay::upstream_headers(&parts.headers),
        body,
        route.timeouts,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            return rpc_error(
                StatusCode::BAD_GATEWAY,
                &id,
                errors::INTERNAL_ERROR,
                &e.to_string(),
            );
        }
    };
    let card_rewrite = EXTENDED_CARD_METHODS
        .contains(&method.as_str())
        .then(|| CardRewrite {
            base_path: agent.base_path().to_string(),
            public,
            in_result: true,
        });
    relay::relay(response, ids, card_rewrite, route.timeouts).await
}

pub(super) const LIST_NEEDS_CONTEXT: &str = "ListTasks through the gateway needs a contextId: tasks are listed per conversation, so no other caller's tasks are shown";

/// Opens the ids in a request's params; the error is the JSON-RPC code and message to answer with.
fn open_params(
    method: &str,
    params: &mut Value,
    ids: &mut IdMap,
) -> Result<(), (i64, &'static str)> {
    const NOT_FOUND: (i64, &str) = (errors::TASK_NOT_FOUND, "Task not found");
    if method_has_task_id(method)
        && let Some(Value::String(id)) = params.get_mut("id")
    {
        *id = ids.open_task(id).map_err(|_| NOT_FOUND)?;
    }
    if method == "ListTasks" && params.get("contextId").is_none_or(|c| !c.is_string()) {
        return Err((errors::UNSUPPORTED_OPERATION, LIST_NEEDS_CONTEXT));
    }
    ids.inbound(params).map_err(|_| NOT_FOUND)
}

/// `{"task": "..."}` → a blocking message send in the newest version the agent speaks; the answer is the
/// agent's reply text plus the A2A result (ids sealed), so the guide's curl gets something readable.
async fn shorthand(
    route: &A2aRoute,
    agent: &Agent,
    name: &str,
    text: String,
    mut ids: IdMap,
) -> Response<Body> {
    let info = route.card_info(agent).await;
    let family = match &info {
        Some(i) if i.families.contains(&Family::V10) => Family::V10,
        _ => Family::V03,
    };
    let message_id = crate::core::seal::random_id();
    let (request, version) = match family {
        Family::V10 => (
            json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {
                "message": {"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": text}]},
                "configuration": {"returnImmediately": false}}}),
            "1.0",
        ),
        Family::V03 => (
            json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {
                "message": {"kind": "message", "messageId": message_id, "role": "user", "parts": [{"kind": "text", "text": text}]},
                "configuration": {"blocking": true}}}),
            "0.3",
        ),
    };
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("accept", HeaderValue::from_static("application/json"));
    headers.insert("a2a-version", HeaderValue::from_static(version));
    let url = format!(
        "{}{}",
        agent.base,
        info.as_ref().map_or("", |c| c.rpc_path.as_str())
    );
    let body = Bytes::from(request.to_string());
    let answer = match relay::send(
        &agent.client,
        &url,
        Method::POST,
        headers,
        body,
        route.timeouts,
    )
    .await
    {
        Ok(r) => relay::read_json(r, route.timeouts).await,
        Err(e) => Err(e),
    };
    let mut reply = match answer {
        Ok((_, _, Some(v), _)) => v,
        Ok((status, ..)) => {
            return errors::rest(
                StatusCode::BAD_GATEWAY,
                "INVALID_AGENT_RESPONSE",
                &format!("agent answered HTTP {status} without JSON"),
            );
        }
        Err(e) => {
            return errors::rest(StatusCode::BAD_GATEWAY, "AGENT_UNAVAILABLE", &e.to_string());
        }
    };
    ids.outbound(&mut reply);
    if let Some(error) = reply.get("error") {
        return body::json(
            StatusCode::BAD_GATEWAY,
            &json!({"agent": name, "error": error}),
        );
    }
    let result = reply.get("result").cloned().unwrap_or(Value::Null);
    let text = reply_text(&result);
    body::json(
        StatusCode::OK,
        &json!({"agent": name, "reply": text, "result": result}),
    )
}

/// The readable text of a send's result: a Message's text parts, or a Task's artifacts and status message.
fn reply_text(result: &Value) -> String {
    // 1.0 wraps the result (`{"task": …}` / `{"message": …}`); 0.3 returns the object itself.
    let inner = result
        .get("task")
        .or_else(|| result.get("message"))
        .unwrap_or(result);
    let mut texts = Vec::new();
    fn collect(texts: &mut Vec<String>, parts: Option<&Value>) {
        for part in parts.and_then(Value::as_array).into_iter().flatten() {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                texts.push(t.to_string());
            }
        }
    }
    if inner.get("messageId").is_some() {
        collect(&mut texts, inner.get("parts"));
    } else {
        for artifact in inner
            .get("artifacts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect(&mut texts, artifact.get("parts"));
        }
        if texts.is_empty() {
            collect(&mut texts, inner.pointer("/status/message/parts"));
        }
    }
    texts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_text_reads_both_versions() {
        let v10 = json!({"task": {"id": "t", "artifacts": [{"parts": [{"text": "sunny"}]}]}});
        let v03 =
            json!({"kind": "message", "messageId": "m", "parts": [{"kind": "text", "text": "hi"}]});
        assert_eq!(reply_text(&v10), "sunny");
        assert_eq!(reply_text(&v03), "hi");
    }
}
