//! The HTTP+JSON binding (`POST …/message:send`, `GET …/tasks/{id}`, `POST …/tasks/{id}:cancel`, …, and the
//! 0.3 `/v1/…` paths): forwarded under the agent's base URL with the task id in the path, the `contextId`
//! query parameter and the body's ids opened, and the answer's ids sealed.

use bytes::Bytes;
use http::Request;
use hyper::body::Incoming;
use serde_json::Value;

use super::agents::Agent;
use super::ids::IdMap;
use super::relay::{self, CardRewrite};
use super::{A2aRoute, Outcome, Refuse, card};
use crate::core::error::{Dialect, Error, TargetKind};
use crate::core::http::Caller;

pub async fn handle(
    route: &A2aRoute,
    agent: &Agent,
    name: &str,
    sub: &str,
    request: Request<Incoming>,
    ids: IdMap,
    caller: &Caller,
) -> Outcome {
    let refuse = |e: Error| Err(e).refuse(Dialect::A2aRest, &Value::Null);
    let task_not_found = || Error::Unknown {
        kind: TargetKind::Task,
        name: String::new(),
    };
    let public = card::public_base(request.headers(), &route.prefix, name);
    let method = request.method().clone();
    let operation = relay::a2a_method(&method, sub, &[]);
    crate::core::telemetry::tracing::note_method(&operation, Some((TargetKind::Agent, name)));
    if let Err(e) = route.check(caller, &operation, name).await {
        return refuse(e);
    }
    let info = route.card_info(agent).await;
    if let Err(e) = route.family(info.as_deref(), request.headers()) {
        return refuse(e);
    }
    let query = request.uri().query().map(str::to_string);
    let Some(path) = open_path(sub, &ids) else {
        return refuse(task_not_found());
    };
    let lists_tasks = method == http::Method::GET && path.trim_end_matches('/').ends_with("/tasks");
    let Ok(query) = open_query(query.as_deref(), &ids) else {
        return refuse(task_not_found());
    };
    if lists_tasks
        && !query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .any(|p| p.starts_with("contextId="))
    {
        return refuse(Error::Unsupported(super::rpc::LIST_NEEDS_CONTEXT.into()));
    }
    let (parts, incoming) = request.into_parts();
    let bytes = match route.pipeline.body.read_json(incoming).await {
        Ok(bytes) => bytes,
        Err(e) => return refuse(e),
    };
    let body = if bytes.is_empty() {
        bytes
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut value) => {
                if ids.inbound(&mut value).is_err() {
                    return refuse(task_not_found());
                }
                Bytes::from(serde_json::to_vec(&value).expect("JSON serializes"))
            }
            Err(e) => return refuse(Error::Parse(format!("the body is not JSON: {e}"))),
        }
    };
    let url = match query {
        Some(q) => format!("{}{path}?{q}", agent.base),
        None => format!("{}{path}", agent.base),
    };
    let headers = relay::upstream_headers(&parts.headers, caller);
    let response = relay::send(route, agent, name, &url, method, headers, body)
        .await
        .refuse(Dialect::A2aRest, &Value::Null)?;
    let is_card = path.ends_with("/extendedAgentCard") || path.ends_with("/v1/card");
    let card_rewrite = is_card.then(|| CardRewrite {
        base_path: agent.base_path().to_string(),
        public,
        in_result: false,
    });
    relay::relay(route, name, response, ids, card_rewrite)
        .await
        .refuse(Dialect::A2aRest, &Value::Null)
}

/// Opens the task id in `…/tasks/{id}[:verb][/…]`; `None` when it is not one of the caller's.
fn open_path(sub: &str, ids: &IdMap) -> Option<String> {
    let mut segments: Vec<String> = sub.split('/').map(str::to_string).collect();
    if let Some(i) = segments.iter().position(|s| s == "tasks")
        && let Some(segment) = segments.get_mut(i + 1)
        && !segment.is_empty()
    {
        let (token, verb) = segment.split_at(segment.find(':').unwrap_or(segment.len()));
        let raw = ids.open_task(token).ok()?;
        *segment = format!("{}{verb}", encode_segment(&raw));
    }
    Some(segments.join("/"))
}

fn open_query(query: Option<&str>, ids: &IdMap) -> Result<Option<String>, ()> {
    let Some(query) = query else { return Ok(None) };
    let mut out = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("contextId", value)) => {
                let raw = ids.open_context(value).map_err(|_| ())?;
                out.push(format!("contextId={}", encode_segment(&raw)));
            }
            _ => out.push(pair.to_string()),
        }
    }
    Ok(Some(out.join("&")))
}

/// Percent-encodes all but RFC 3986 unreserved characters.
fn encode_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
