//! The HTTP+JSON binding (`POST …/message:send`, `GET …/tasks/{id}`, `POST …/tasks/{id}:cancel`, …, and the
//! 0.3 `/v1/…` paths): forwarded under the agent's base URL with the task id in the path, the `contextId`
//! query parameter and the body's ids opened, and the answer's ids sealed.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::Value;

use super::agents::Agent;
use super::errors::{self, rest as rest_error};
use super::ids::IdMap;
use super::relay::{self, CardRewrite};
use super::{A2aRoute, card, read_body};
use crate::core::http::body::Body;

pub async fn handle(
    route: &A2aRoute,
    agent: &Agent,
    name: &str,
    sub: &str,
    request: Request<Incoming>,
    mut ids: IdMap,
) -> Response<Body> {
    let public = card::public_base(request.headers(), &route.prefix, name);
    let info = route.card_info(agent).await;
    if let Err(e) = route.family(info.as_deref(), request.headers()) {
        return errors::rest_for_code(errors::VERSION_NOT_SUPPORTED, &e);
    }
    let query = request.uri().query().map(str::to_string);
    let method = request.method().clone();
    let Some(path) = open_path(sub, &mut ids) else {
        return errors::rest_for_code(errors::TASK_NOT_FOUND, "Task not found");
    };
    let lists_tasks = method == http::Method::GET && path.trim_end_matches('/').ends_with("/tasks");
    let query = match open_query(query.as_deref(), &mut ids) {
        Ok(q) => q,
        Err(()) => return errors::rest_for_code(errors::TASK_NOT_FOUND, "Task not found"),
    };
    if lists_tasks
        && !query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .any(|p| p.starts_with("contextId="))
    {
        return errors::rest_for_code(
            errors::UNSUPPORTED_OPERATION,
            super::rpc::LIST_NEEDS_CONTEXT,
        );
    }
    let Ok((parts, bytes)) = read_body(request).await else {
        return rest_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "INVALID_REQUEST",
            "request body too large",
        );
    };
    let body = if bytes.is_empty() {
        bytes
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut value) => {
                if ids.inbound(&mut value).is_err() {
                    return errors::rest_for_code(errors::TASK_NOT_FOUND, "Task not found");
                }
                Bytes::from(serde_json::to_vec(&value).expect("JSON serializes"))
            }
            Err(_) => {
                return rest_error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    "the body is not JSON",
                );
            }
        }
    };
    let url = match query {
        Some(q) => format!("{}{path}?{q}", agent.base),
        None => format!("{}{path}", agent.base),
    };
    let response = match relay::send(
        &agent.client,
        &url,
        method,
        relay::upstream_headers(&parts.headers),
        body,
        route.timeouts,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return rest_error(StatusCode::BAD_GATEWAY, "AGENT_UNAVAILABLE", &e.to_string()),
    };
    let is_card = path.ends_with("/extendedAgentCard") || path.ends_with("/v1/card");
    let card_rewrite = is_card.then(|| CardRewrite {
        base_path: agent.base_path().to_string(),
        public,
        in_result: false,
    });
    relay::relay(response, ids, card_rewrite, route.timeouts).await
}

/// Opens the task id in `…/tasks/{id}[:verb][/…]`; `None` when it is not one of the caller's.
fn open_path(sub: &str, ids: &mut IdMap) -> Option<String> {
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

fn open_query(query: Option<&str>, ids: &mut IdMap) -> Result<Option<String>, ()> {
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
