//! The JSON-RPC binding (both protocol versions) and the guide's `{"task": "..."}` shorthand.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::agents::{Family, LIST_TASKS};
use super::ids::{IdMap, method_has_task_id};
use super::relay::{self, CardRewrite, Reshape};
use super::translate::Translation;
use super::{Exchange, Outcome, Refuse, card};
use crate::core::error::{Dialect, Error, TargetKind, UpstreamError};
use crate::core::http::body;

const EXTENDED_CARD_METHODS: [&str; 2] =
    ["agent/getAuthenticatedExtendedCard", "GetExtendedAgentCard"];

pub async fn handle(
    ex: Exchange<'_>,
    request: Request<Incoming>,
    ids: IdMap,
    dialect: Dialect,
) -> Outcome {
    let (route, agent, name, caller) = (ex.route, ex.agent, ex.name, ex.caller);
    let none = &Value::Null;
    let public = card::public_base(request.headers(), &route.prefix, name);
    let (parts, incoming) = request.into_parts();
    let bytes = route
        .pipeline
        .body
        .read_json(incoming)
        .await
        .refuse(dialect, none)?;
    let mut message = serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| Error::Parse(format!("the body is not JSON: {e}")))
        .refuse(dialect, none)?;
    if message.get("jsonrpc").is_none()
        && let Some(text) = message.get("task").and_then(Value::as_str)
    {
        let text = text.to_string();
        route
            .check(caller, "message/send", name)
            .await
            .refuse(Dialect::A2aRest, none)?;
        return shorthand(ex, text, ids).await;
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
        return Err(Error::InvalidRequest(what.into())).refuse(dialect, &id);
    };
    // The error shape follows the method's version, as the agent's own errors do.
    let dialect = match Family::of_method(&method) {
        Some(family) => Dialect::A2aRpc {
            v1: family == Family::V10,
        },
        None => dialect,
    };
    crate::core::telemetry::tracing::note_method(&method, Some((TargetKind::Agent, name)));
    route
        .check(caller, &method, name)
        .await
        .refuse(dialect, &id)?;
    let info = route.card_info(agent).await;
    let families = info.as_ref().map_or(&[][..], |i| i.families.as_slice());
    // A method of either version reaches an agent of either version (translated when it has only the
    // other); `A2A-Version` must still name a version there is.
    let translation = match Family::of_method(&method) {
        Some(_) => {
            route.family(None, &parts.headers).refuse(dialect, &id)?;
            Translation::plan(&method, families).refuse(dialect, &id)?
        }
        None => {
            route
                .family(info.as_deref(), &parts.headers)
                .refuse(dialect, &id)?;
            None
        }
    };
    match message.get_mut("params") {
        Some(params) => open_params(&method, params, &ids).refuse(dialect, &id)?,
        None if method == LIST_TASKS => {
            return Err(Error::Unsupported(LIST_NEEDS_CONTEXT.into())).refuse(dialect, &id);
        }
        None => {}
    }
    let mut headers = relay::upstream_headers(&parts.headers, caller);
    if let Some(t) = &translation {
        t.request(&mut message);
        match t.agent_version() {
            Some(v) => headers.insert("a2a-version", HeaderValue::from_static(v)),
            None => headers.remove("a2a-version"),
        };
    }
    let url = format!(
        "{}{}",
        agent.base,
        info.as_ref().map_or("", |c| c.rpc_path.as_str())
    );
    let body = Bytes::from(serde_json::to_vec(&message).expect("JSON serializes"));
    let response = relay::send(route, agent, name, &url, Method::POST, headers, body)
        .await
        .refuse(dialect, &id)?;
    let card = EXTENDED_CARD_METHODS
        .contains(&method.as_str())
        .then(|| CardRewrite {
            families: families.to_vec(),
            base_path: agent.base_path().to_string(),
            public,
            in_result: true,
        });
    let reshape = Reshape { card, translation };
    relay::relay(route, name, response, ids, reshape)
        .await
        .refuse(dialect, &id)
}

pub(super) const LIST_NEEDS_CONTEXT: &str = "ListTasks through the gateway needs a contextId: tasks are listed per conversation, so no other caller's tasks are shown";

/// Opens the ids in a request's params (`ids`: an id that is not the caller's arrives namespaced, and the
/// agent answers for it as for any id it does not know).
pub(super) fn open_params(method: &str, params: &mut Value, ids: &IdMap) -> Result<(), Error> {
    if method_has_task_id(method)
        && let Some(Value::String(id)) = params.get_mut("id")
    {
        *id = ids.open_task(id);
    }
    let names_context = ["contextId", "context_id"]
        .iter()
        .any(|k| params.get(k).is_some_and(Value::is_string));
    if method == LIST_TASKS && !names_context {
        return Err(Error::Unsupported(LIST_NEEDS_CONTEXT.into()));
    }
    ids.inbound(params);
    Ok(())
}

/// `{"task": "..."}` → a blocking message send in the newest version the agent speaks; the answer is the
/// agent's reply text plus the A2A result (ids sealed), so the guide's curl gets something readable.
async fn shorthand(ex: Exchange<'_>, text: String, ids: IdMap) -> Outcome {
    let (route, agent, name, caller) = (ex.route, ex.agent, ex.name, ex.caller);
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
    relay::add_caller_headers(&mut headers, caller);
    let url = format!(
        "{}{}",
        agent.base,
        info.as_ref().map_or("", |c| c.rpc_path.as_str())
    );
    let body = Bytes::from(request.to_string());
    let response = relay::send(route, agent, name, &url, Method::POST, headers, body)
        .await
        .refuse(Dialect::A2aRest, &Value::Null)?;
    let (status, _, value, _) = relay::read_json(route, name, response)
        .await
        .refuse(Dialect::A2aRest, &Value::Null)?;
    let Some(mut reply) = value else {
        return Err(Error::Upstream {
            backend: name.to_string(),
            source: UpstreamError::Protocol(format!("agent answered HTTP {status} without JSON")),
        })
        .refuse(Dialect::A2aRest, &Value::Null);
    };
    ids.outbound(&mut reply);
    if let Some(error) = reply.get("error") {
        return Ok(body::json(
            StatusCode::BAD_GATEWAY,
            &json!({"agent": name, "error": error}),
        ));
    }
    let result = reply.get("result").cloned().unwrap_or(Value::Null);
    let text = reply_text(&result);
    Ok(body::json(
        StatusCode::OK,
        &json!({"agent": name, "reply": text, "result": result}),
    ))
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
