//! The MCP methods the gateway answers itself (lifecycle, lists) and those it routes to an upstream. Every
//! call to a tool, prompt or resource passes the route's policy pipeline before it is relayed.

use std::time::Duration;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use std::sync::Arc;

use crate::config::Discovery;
use crate::core::error::{Error, TargetKind, UpstreamError};
use crate::core::jsonrpc;
use crate::core::policy::authz::View;
use crate::core::seal::random_id;
use crate::core::telemetry::metrics::{self, Outcome};
use crate::mcp::catalogue::Catalogue;
use crate::mcp::progressive;
use crate::mcp::protocol::server::{self, LIST_TTL_MS};
use crate::mcp::protocol::{methods, version};
use crate::mcp::relay::relay;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::server::listen;
use crate::mcp::server::session::{self, SessionClaims};
use crate::mcp::server::subscriptions;
use crate::mcp::upstream::Reply;
use crate::mcp::upstream::reply::Members;

pub async fn dispatch(ex: &Exchange<'_>, id: &Value, method: &str, params: Value) -> Answer {
    if ex.is_stateless() && methods::removed_from_stateless(method) {
        return ex.answer(id, Err(Error::MethodNotFound(method.to_string())));
    }
    let outcome = match method {
        "initialize" => Ok(initialize(ex, id, &params).await),
        "server/discover" => Ok(ex.result(id, server::discover_result())),
        "ping" => Ok(ex.result(id, json!({}))),
        "tools/list" => list(ex, id, &params, "tools"),
        "prompts/list" => list(ex, id, &params, "prompts"),
        "resources/list" => list(ex, id, &params, "resources"),
        "resources/templates/list" => list(ex, id, &params, "resourceTemplates"),
        "tools/call" => call_tool(ex, id, params).await,
        "prompts/get" => get_prompt(ex, id, params).await,
        "resources/read" => read_resource(ex, id, params).await,
        "completion/complete" => complete(ex, id, params).await,
        "subscriptions/listen" => Ok(listen::subscriptions_listen(ex, id, &params)),
        "logging/setLevel" => set_log_level(ex, id, params).await,
        "resources/subscribe" | "resources/unsubscribe" => {
            subscriptions::subscribe(ex, id, method, params).await
        }
        _ => Err(Error::MethodNotFound(method.to_string())),
    };
    ex.answer(id, outcome)
}

async fn initialize(ex: &Exchange<'_>, id: &Value, params: &Value) -> Answer {
    let negotiated = version::negotiate(params.get("protocolVersion").and_then(Value::as_str));
    let handle = random_id();
    let key = format!("s:{handle}");
    // Upstream sessions open now so their ids travel inside the sealed session to any replica; only on
    // the backends the caller can reach, so a caller without rights opens none.
    let reachable = reachable_backends(ex);
    let backends = ex.route.backends.iter().zip(&reachable);
    let capabilities = params
        .get("capabilities")
        .filter(|c| c.is_object())
        .cloned();
    let opened = join_all(backends.filter(|(_, r)| **r).map(|(b, _)| {
        let (key, capabilities) = (key.clone(), capabilities.clone());
        async move {
            tokio::time::timeout(
                b.timeout.min(Duration::from_secs(10)),
                b.upstream
                    .open_session(&key, ex.route.session_ttl, capabilities),
            )
            .await
            .ok()
            .flatten()
        }
    }))
    .await;
    let claims = SessionClaims {
        h: handle,
        sub: ex.principal().to_string(),
        r: ex.route.name.clone(),
        v: negotiated.to_string(),
        exp: session::now() + ex.route.session_ttl.as_secs(),
        up: opened.into_iter().flatten().collect(),
        caps: capabilities,
    };
    let token = session::seal(&ex.route.sealer, &claims);
    let result = server::initialize_result(negotiated);
    Answer::Json {
        status: http::StatusCode::OK,
        body: jsonrpc::result(id, result),
        session: Some(token),
        upstream_error: None,
    }
}

/// Gateway-owned cursor: where the next page starts, sealed so clients cannot forge or read it.
#[derive(Serialize, Deserialize)]
struct Cursor {
    k: String,
    i: usize,
}

fn list(ex: &Exchange<'_>, id: &Value, params: &Value, key: &str) -> Result<Answer, Error> {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => match ex.route.sealer.open::<Cursor>("cursor", c) {
            Ok(cursor) if cursor.k == key => cursor.i,
            _ => return Err(Error::InvalidParams("unknown or expired cursor".into())),
        },
        Some(_) => return Err(Error::InvalidParams("cursor must be a string".into())),
    };
    let catalogue = ex.route.catalogue.load_full();
    if key == "tools" && progressive_for(ex, &catalogue) {
        let tools = progressive::definitions();
        return Ok(ex.result(id, list_result(ex, json!({ "tools": tools }))));
    }
    let items: Vec<&Value> = match key {
        "tools" => catalogue.tools.iter().map(|t| &t.definition).collect(),
        "prompts" => catalogue.prompts.iter().map(|p| &p.definition).collect(),
        "resources" => catalogue.resources.iter().map(|(_, r)| r).collect(),
        _ => catalogue.templates.iter().map(|(_, t)| t).collect(),
    };
    // With mcp-authz the caller sees only its precomputed view of the catalogue.
    let view = caller_view(ex, &catalogue);
    let visible: Option<&Vec<usize>> = view.as_deref().map(|v| match key {
        "tools" => &v.tools,
        "prompts" => &v.prompts,
        "resources" => &v.resources,
        _ => &v.templates,
    });
    let total = visible.map_or(items.len(), Vec::len);
    let end = (start + ex.route.page_size).min(total);
    let page: Vec<&Value> = (start.min(end)..end)
        .map(|i| items[visible.map_or(i, |v| v[i])])
        .collect();
    let next_cursor = (end < total).then(|| {
        ex.route.sealer.seal(
            "cursor",
            &Cursor {
                k: key.to_string(),
                i: end,
            },
        )
    });
    // Serialized straight from the catalogue's values: building a `Value` first would deep-copy every
    // definition on the page (the largest cost of a list before this).
    let result = ListPage {
        key,
        items: page,
        next_cursor,
        stateless: ex.is_stateless(),
    };
    let body = serde_json::to_vec(&Envelope {
        jsonrpc: "2.0",
        id,
        result,
    })
    .expect("JSON serializes");
    Ok(Answer::Raw {
        status: http::StatusCode::OK,
        body: body.into(),
        upstream_error: None,
    })
}

/// The caller's view of the catalogue: the indices it may see, `None` for everything (no mcp-authz).
fn caller_view(ex: &Exchange<'_>, catalogue: &Catalogue) -> Option<Arc<View>> {
    ex.route.view(catalogue, ex.principal())
}

/// Whether this caller gets progressive discovery (`mcp.discovery`) on this catalogue.
fn progressive_for(ex: &Exchange<'_>, catalogue: &Catalogue) -> bool {
    match ex.route.discovery {
        Discovery::Full => false,
        Discovery::Progressive => true,
        Discovery::Above(most) => {
            caller_view(ex, catalogue).map_or(catalogue.tools.len(), |v| v.tools.len()) > most
        }
    }
}

/// A list result with what a 2026-07-28 caller expects of one.
fn list_result(ex: &Exchange<'_>, mut result: Value) -> Value {
    if ex.is_stateless() {
        result["ttlMs"] = json!(LIST_TTL_MS);
        result["cacheScope"] = json!("private");
    }
    final_result(ex, result)
}

/// A result a 2026-07-28 caller reads as final.
fn final_result(ex: &Exchange<'_>, mut result: Value) -> Value {
    if ex.is_stateless() {
        result["resultType"] = json!("complete");
    }
    result
}

/// `search_tools` and `describe_tools` on a route with progressive discovery; `None` for any other name
/// (or any name on a route without it).
fn progressive_call(ex: &Exchange<'_>, id: &Value, name: &str, params: &Value) -> Option<Answer> {
    if ex.route.discovery == Discovery::Full
        || (name != progressive::SEARCH && name != progressive::DESCRIBE)
    {
        return None;
    }
    let catalogue = ex.route.catalogue.load_full();
    let view = caller_view(ex, &catalogue);
    let visible = view.as_deref().map(|v| v.tools.as_slice());
    let empty = json!({});
    let args = params.get("arguments").unwrap_or(&empty);
    let result = if name == progressive::SEARCH {
        let index = ex.route.search.for_catalogue(&catalogue);
        progressive::search_result(&catalogue, &index, visible, args)
    } else {
        progressive::describe_result(&catalogue, visible, args)
    };
    Some(match result {
        Ok(result) => ex.result(id, final_result(ex, result)),
        Err(message) => ex.answer(id, Err(Error::InvalidParams(message))),
    })
}

/// One page of a list result, borrowing the catalogue's definitions.
struct ListPage<'a> {
    key: &'a str,
    items: Vec<&'a Value>,
    next_cursor: Option<String>,
    stateless: bool,
}

impl Serialize for ListPage<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(self.key, &self.items)?;
        if let Some(cursor) = &self.next_cursor {
            map.serialize_entry("nextCursor", cursor)?;
        }
        if self.stateless {
            map.serialize_entry("ttlMs", &LIST_TTL_MS)?;
            map.serialize_entry("cacheScope", "private")?;
            map.serialize_entry("resultType", "complete")?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Envelope<'a, R: Serialize> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: R,
}

/// A tool withheld while its upstream fails discovery: "upstream unavailable" for a caller the call stage
/// admits (so an agent can tell an outage from a removal), its refusal otherwise (a denied tool stays
/// indistinguishable from an unknown one).
async fn unavailable(ex: &Exchange<'_>, name: String, backend: usize) -> Error {
    let call = ex.call("tools/call").target(TargetKind::Tool, &name);
    let error = match ex.route.pipeline.check(&call).await {
        Err(refusal) => refusal,
        Ok(()) => {
            let upstream = &ex.route.backends[backend];
            let health = upstream.health.lock().unwrap();
            Error::Upstream {
                backend: upstream.upstream.name().to_string(),
                source: UpstreamError::Unavailable(health.last_error.clone().unwrap_or_default()),
            }
        }
    };
    metrics::tool_rejected(&ex.route.name, &name, true, error.metric());
    error
}

/// A refusal answered like an unknown tool names the tool as the caller did, so an upstream name tells
/// a caller nothing about the exposed name it stands for.
fn as_requested(error: Error, requested: String) -> Error {
    match error {
        Error::Denied { kind, .. } => Error::Denied {
            kind,
            name: requested,
        },
        other => other,
    }
}

async fn call_tool(ex: &Exchange<'_>, id: &Value, mut params: Value) -> Result<Answer, Error> {
    let route = &ex.route.name;
    let Some(requested) = params
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        metrics::tool_rejected(route, "", false, metrics::ErrorType::InvalidParams);
        return Err(Error::InvalidParams(
            "tools/call needs a string \"name\"".into(),
        ));
    };
    if let Some(answer) = progressive_call(ex, id, &requested, &params) {
        return Ok(answer);
    }
    let catalogue = ex.route.catalogue.load();
    // Policies, limits and metrics know tools by their exposed names, whatever name the call used.
    let name = catalogue.tool_name(&requested).to_string();
    let Some(tool) = catalogue.tool(&name).cloned() else {
        if let Some(backend) = catalogue.unavailable(&name) {
            return Err(as_requested(
                unavailable(ex, name, backend).await,
                requested,
            ));
        }
        metrics::tool_rejected(route, &requested, false, metrics::ErrorType::InvalidParams);
        return Err(Error::Unknown {
            kind: TargetKind::Tool,
            name: requested,
        });
    };
    drop(catalogue);
    let empty = json!({});
    let call = ex
        .call("tools/call")
        .target(TargetKind::Tool, &name)
        .arguments(params.get("arguments").unwrap_or(&empty))
        .schemas(&tool.input, tool.output.as_deref());
    if let Err(error) = ex.route.pipeline.check(&call).await {
        metrics::tool_rejected(route, &name, true, error.metric());
        return Err(as_requested(error, requested));
    }
    params["name"] = Value::String(tool.upstream_name.clone());
    let backend = tool.backend;
    let backend_name = ex.route.backends[backend].upstream.name().to_string();
    let (gateway_route, principal) = (ex.route.clone(), ex.caller.principal.clone());
    let start = std::time::Instant::now();
    let finish = move |reply: Result<Reply, Error>| {
        let reply = reply.and_then(|reply| {
            // Only a tool with an outputSchema has its result parsed.
            if tool.output.is_some()
                && let Some(result) = reply.result()
            {
                let result: Value = serde_json::from_str(result).unwrap_or_default();
                let call = crate::core::policy::Call::new(
                    crate::core::policy::Protocol::Mcp,
                    "tools/call",
                    principal.as_deref(),
                )
                .target(TargetKind::Tool, &tool.exposed)
                .schemas(&tool.input, tool.output.as_deref());
                gateway_route.pipeline.check_result(&call, &result)?;
            }
            Ok(reply)
        });
        metrics::tool_call(
            &gateway_route.name,
            &backend_name,
            &tool.exposed,
            outcome(&reply),
            start.elapsed(),
        );
        reply
    };
    Ok(relay(ex, backend, id, "tools/call", params, finish).await)
}

async fn get_prompt(ex: &Exchange<'_>, id: &Value, mut params: Value) -> Result<Answer, Error> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let unknown = || Error::Unknown {
        kind: TargetKind::Prompt,
        name: name.clone(),
    };
    let (backend, upstream_name) = {
        let catalogue = ex.route.catalogue.load();
        let prompt = catalogue.prompt(&name).ok_or_else(unknown)?;
        (prompt.backend, prompt.upstream_name.clone())
    };
    let call = ex.call("prompts/get").target(TargetKind::Prompt, &name);
    ex.route.pipeline.check(&call).await?;
    params["name"] = Value::String(upstream_name);
    Ok(relay(ex, backend, id, "prompts/get", params, |r| r).await)
}

async fn read_resource(ex: &Exchange<'_>, id: &Value, mut params: Value) -> Result<Answer, Error> {
    let Some(uri) = params.get("uri").and_then(Value::as_str) else {
        return Err(Error::InvalidParams(
            "resources/read needs a string \"uri\"".into(),
        ));
    };
    let backend = resource_backend(ex, "resources/read", uri).await?;
    let exposed = uri.to_string();
    let upstream = ex.route.catalogue.load().upstream_uri(uri).to_string();
    let stateless = ex.is_stateless();
    params["uri"] = Value::String(upstream.clone());
    let finish = move |reply: Result<Reply, Error>| {
        let reply = with_exposed_uri(reply?, &upstream, &exposed);
        Ok(if stateless {
            with_cache_hints(reply)
        } else {
            reply
        })
    };
    Ok(relay(ex, backend, id, "resources/read", params, finish).await)
}

/// A read of a `ui://` URI the route qualified answers with the URI the caller read (`catalogue::apps`).
fn with_exposed_uri(reply: Reply, upstream: &str, exposed: &str) -> Reply {
    if upstream == exposed || reply.result().is_none() {
        return reply;
    }
    let mut value = reply.value();
    crate::mcp::catalogue::apps::rename_contents(&mut value["result"], upstream, exposed);
    Reply::from_value(&value)
}

/// A read relayed to a 2026-07-28 caller must carry `ttlMs` and `cacheScope` (SEP-2549). An upstream that
/// gave none (any session-era one) gets what is always safe said for it: not to be cached, and private.
fn with_cache_hints(reply: Reply) -> Reply {
    let Some(result) = reply.result() else {
        return reply;
    };
    let members = Members::of(result);
    let hinted = members.get("ttlMs").is_some() && members.get("cacheScope").is_some();
    if hinted || members.is("resultType", "\"input_required\"") {
        return reply;
    }
    let mut value = reply.value();
    if let Some(result) = value.get_mut("result").and_then(Value::as_object_mut) {
        result.entry("ttlMs").or_insert(json!(0));
        result.entry("cacheScope").or_insert(json!("private"));
    }
    Reply::from_value(&value)
}

/// The backend serving a resource the caller may read; a URI it may not read is "not found".
pub async fn resource_backend(ex: &Exchange<'_>, method: &str, uri: &str) -> Result<usize, Error> {
    ex.route
        .pipeline
        .check(&ex.call(method).target(TargetKind::Resource, uri))
        .await?;
    let catalogue = ex.route.catalogue.load();
    catalogue
        .resource_backend(uri)
        .or((ex.route.backends.len() == 1).then_some(0))
        .ok_or_else(|| Error::Unknown {
            kind: TargetKind::Resource,
            name: uri.to_string(),
        })
}

async fn complete(ex: &Exchange<'_>, id: &Value, mut params: Value) -> Result<Answer, Error> {
    let reference = params.get("ref").cloned().unwrap_or_default();
    let unknown = || Error::InvalidParams("unknown completion reference".into());
    let backend = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let name = reference
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (backend, upstream_name) = {
                let catalogue = ex.route.catalogue.load();
                let prompt = catalogue.prompt(name).ok_or_else(unknown)?;
                (prompt.backend, prompt.upstream_name.clone())
            };
            let call = ex
                .call("completion/complete")
                .target(TargetKind::Prompt, name);
            ex.route
                .pipeline
                .check(&call)
                .await
                .map_err(|_| unknown())?;
            params["ref"]["name"] = Value::String(upstream_name);
            backend
        }
        Some("ref/resource") => {
            let uri = reference
                .get("uri")
                .and_then(Value::as_str)
                .unwrap_or_default();
            resource_backend(ex, "completion/complete", uri)
                .await
                .map_err(|_| unknown())?
        }
        _ => {
            return Err(Error::InvalidParams(
                "ref must be ref/prompt or ref/resource".into(),
            ));
        }
    };
    Ok(relay(ex, backend, id, "completion/complete", params, |r| r).await)
}

/// For each backend, whether the caller may use anything of it (a tool, prompt or resource) under
/// `mcp-authz`; every backend without it. A backend the caller cannot reach gets no session and no
/// `logging/setLevel` on the caller's behalf.
fn reachable_backends(ex: &Exchange<'_>) -> Vec<bool> {
    let count = ex.route.backends.len();
    let Some(authz) = &ex.route.pipeline.authz else {
        return vec![true; count];
    };
    // The caller's cached view of this catalogue says what it may use; each entry names its backend.
    let catalogue = ex.route.catalogue.load();
    let view = authz.view(catalogue.as_ref(), ex.principal());
    let mut reachable = vec![false; count];
    let tools = view.tools.iter().map(|&i| catalogue.tools[i].backend);
    let prompts = view.prompts.iter().map(|&i| catalogue.prompts[i].backend);
    let resources = view.resources.iter().map(|&i| catalogue.resources[i].0);
    for backend in tools.chain(prompts).chain(resources) {
        reachable[backend] = true;
    }
    reachable
}

/// Remembers the session's level (stateless upstreams get it per request) and tells session-era upstreams.
async fn set_log_level(ex: &Exchange<'_>, id: &Value, params: Value) -> Result<Answer, Error> {
    let Some(level) = params.get("level").and_then(Value::as_str) else {
        return Err(Error::InvalidParams(
            "logging/setLevel needs a string \"level\"".into(),
        ));
    };
    // Without a session there is nothing to keep the level for: no upstream session is the caller's own.
    let Mode::Session(claims) = &ex.mode else {
        return Ok(ex.result(id, json!({})));
    };
    ex.route.state.set_log_level(&claims.h, level);
    let reachable = reachable_backends(ex);
    let backends = ex.route.backends.iter().zip(&reachable);
    join_all(backends.filter(|(_, r)| **r).map(|(b, _)| {
        let ctx = ex.call_ctx(b.upstream.name(), None);
        let params = json!({"level": level});
        async move {
            let _ = tokio::time::timeout(
                b.timeout,
                b.upstream.request(&ctx, "logging/setLevel", params),
            )
            .await;
        }
    }))
    .await;
    Ok(ex.result(id, json!({})))
}

/// How a relayed tool call ended, for its metrics.
fn outcome(reply: &Result<Reply, Error>) -> Outcome {
    match reply {
        Ok(reply) => {
            let is_error = reply
                .result()
                .is_some_and(|r| r.contains("\"isError\"") && Members::of(r).is("isError", "true"));
            if reply.error().is_some() || is_error {
                Outcome::Error
            } else {
                Outcome::Ok
            }
        }
        Err(Error::UpstreamTimeout { .. }) => Outcome::Timeout,
        Err(Error::Upstream { .. }) => Outcome::Unavailable,
        Err(_) => Outcome::Error,
    }
}
