//! The HTTP+JSON binding (`POST …/message:send`, `GET …/tasks/{id}`, `POST …/tasks/{id}:cancel`, …, and the
//! 0.3 `/v1/…` paths): forwarded under the agent's base URL with the task id in the path, the id query
//! parameters (`contextId`, either spelling) and the body's ids opened, and the answer's ids sealed. Path
//! and query are read decoded, as the agent reads them (`uri`).

use bytes::Bytes;
use http::Request;
use hyper::body::Incoming;
use serde_json::Value;

use super::agents::{CardInfo, Family};
use super::ids::IdMap;
use super::relay::{self, CardRewrite, Reshape};
use super::translate::{Translation, rest::as_rpc};
use super::{A2aRoute, Exchange, Outcome, Refuse, card, uri};
use crate::core::error::{Dialect, Error, TargetKind};

pub async fn handle(
    ex: Exchange<'_>,
    sub: &str,
    request: Request<Incoming>,
    ids: IdMap,
) -> Outcome {
    let (route, agent, name, caller) = (ex.route, ex.agent, ex.name, ex.caller);
    let refuse = |e: Error| Err(e).refuse(Dialect::A2aRest, &Value::Null);
    let public = card::public_base(request.headers(), &route.prefix, name);
    let method = request.method().clone();
    let operation = relay::a2a_method(&method, sub, &[]);
    crate::core::telemetry::tracing::note_method(&operation, Some((TargetKind::Agent, name)));
    if let Err(e) = route.check(caller, &operation, name).await {
        return refuse(e);
    }
    let info = route.card_info(agent).await;
    if let Err(e) = route.family(info.as_deref(), request.headers()) {
        let speaks_03_only = info.as_ref().is_some_and(|i| i.families == [Family::V03]);
        let asks_10 = Family::parse(super::header_version(request.headers())) == Some(Family::V10);
        return match (speaks_03_only, info) {
            (true, Some(info)) if asks_10 => over_json_rpc(ex, sub, request, ids, &info).await,
            _ => refuse(e),
        };
    }
    let path = open_path(sub, &ids);
    let (query, names_context) = open_query(request.uri().query(), &ids);
    let lists_tasks = method == http::Method::GET && path.trim_end_matches('/').ends_with("/tasks");
    if lists_tasks && !names_context {
        return refuse(Error::Unsupported(super::rpc::LIST_NEEDS_CONTEXT.into()));
    }
    let (parts, incoming) = request.into_parts();
    let body = match json_body(route, incoming).await {
        Ok(None) => Bytes::new(),
        Ok(Some(mut value)) => {
            ids.inbound(&mut value);
            Bytes::from(serde_json::to_vec(&value).expect("JSON serializes"))
        }
        Err(e) => return refuse(e),
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
    let card = is_card.then(|| CardRewrite {
        families: info.as_ref().map_or(Vec::new(), |i| i.families.clone()),
        base_path: agent.base_path().to_string(),
        public,
        in_result: false,
    });
    let reshape = Reshape {
        card,
        translation: None,
    };
    relay::relay(route, name, response, ids, reshape)
        .await
        .refuse(Dialect::A2aRest, &Value::Null)
}

/// The request's JSON body, read within the route's `limits`; `None` when it has none.
async fn json_body(route: &A2aRoute, incoming: Incoming) -> Result<Option<Value>, Error> {
    let bytes = route.pipeline.body.read_json(incoming).await?;
    if bytes.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Parse(format!("the body is not JSON: {e}")))
}

/// A 1.0 HTTP+JSON request to an agent that speaks 0.3 over JSON-RPC only: asked as the JSON-RPC call
/// it stands for, translated to 0.3, and answered in the HTTP+JSON binding.
async fn over_json_rpc(
    ex: Exchange<'_>,
    sub: &str,
    request: Request<Incoming>,
    ids: IdMap,
    info: &CardInfo,
) -> Outcome {
    let (route, agent, name, caller) = (ex.route, ex.agent, ex.name, ex.caller);
    let refuse = |e: Error| Err(e).refuse(Dialect::A2aRest, &Value::Null);
    let public = card::public_base(request.headers(), &route.prefix, name);
    // The card offers the 1.0 HTTP+JSON interface at the agent's JSON-RPC URL.
    let under = sub.strip_prefix(info.rpc_path.as_str()).unwrap_or(sub);
    let segments: Vec<String> = under.split('/').map(|s| uri::decode(s, false)).collect();
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .map(uri::query_pair)
        .collect();
    let method = request.method().clone();
    let (parts, incoming) = request.into_parts();
    let body = match json_body(route, incoming).await {
        Ok(body) => body.unwrap_or(Value::Null),
        Err(e) => return refuse(e),
    };
    let (rpc_method, mut params) = match as_rpc(&method, &segments, &query, body) {
        Ok(call) => call,
        Err(e) => return refuse(e),
    };
    let translation = match Translation::plan(rpc_method, &info.families) {
        Ok(Some(t)) => t.over_http_json(),
        Ok(None) => unreachable!("a 1.0 method to an agent without 1.0 is translated"),
        Err(e) => return refuse(e),
    };
    if let Err(e) = super::rpc::open_params(rpc_method, &mut params, &ids) {
        return refuse(e);
    }
    let mut message =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": rpc_method, "params": params});
    translation.request(&mut message);
    let mut headers = relay::upstream_headers(&parts.headers, caller);
    headers.remove("a2a-version");
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let streams = matches!(rpc_method, "SendStreamingMessage" | "SubscribeToTask");
    let accept = if streams {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.insert(http::header::ACCEPT, http::HeaderValue::from_static(accept));
    let url = format!("{}{}", agent.base, info.rpc_path);
    let body = Bytes::from(serde_json::to_vec(&message).expect("JSON serializes"));
    let response = relay::send(route, agent, name, &url, http::Method::POST, headers, body)
        .await
        .refuse(Dialect::A2aRest, &Value::Null)?;
    let card = (rpc_method == "GetExtendedAgentCard").then(|| CardRewrite {
        families: info.families.clone(),
        base_path: agent.base_path().to_string(),
        public,
        in_result: false,
    });
    let reshape = Reshape {
        card,
        translation: Some(translation),
    };
    relay::relay(route, name, response, ids, reshape)
        .await
        .refuse(Dialect::A2aRest, &Value::Null)
}

/// The path as forwarded: each segment decoded, the task id after `tasks` opened (`ids`: an id that is not
/// the caller's arrives namespaced), each segment encoded again.
fn open_path(sub: &str, ids: &IdMap) -> String {
    let segments: Vec<String> = sub.split('/').map(|s| uri::decode(s, false)).collect();
    let task = segments
        .iter()
        .position(|s| s == "tasks")
        .map(|i| i + 1)
        .filter(|&i| segments.get(i).is_some_and(|s| !s.is_empty()));
    let encoded: Vec<String> = segments
        .iter()
        .enumerate()
        .map(|(i, segment)| match Some(i) == task {
            true => {
                let (token, verb) = segment.split_at(segment.find(':').unwrap_or(segment.len()));
                let id = uri::encode(&ids.open_task(token), uri::UNRESERVED);
                format!("{id}{}", uri::encode(verb, uri::PATH))
            }
            false => uri::encode(segment, uri::PATH),
        })
        .collect();
    encoded.join("/")
}

/// The query as forwarded, every pair decoded and encoded again with its id parameters opened; and whether
/// it names a context (`ListTasks` must).
fn open_query(query: Option<&str>, ids: &IdMap) -> (Option<String>, bool) {
    let Some(query) = query else {
        return (None, false);
    };
    let mut names_context = false;
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (key, value) = uri::query_pair(pair);
            let value = match ids.open_field(&key, &value) {
                Some((opened, is_context)) => {
                    names_context |= is_context;
                    opened
                }
                None => value,
            };
            let key = uri::encode(&key, uri::UNRESERVED);
            match pair.contains('=') {
                true => format!("{key}={}", uri::encode(&value, uri::UNRESERVED)),
                false => key,
            }
        })
        .collect();
    (Some(pairs.join("&")), names_context)
}
