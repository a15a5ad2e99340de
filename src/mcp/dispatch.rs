//! The MCP methods the gateway answers itself (lifecycle, lists) and those it routes to an upstream.

use std::time::Duration;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::OutputSchemaMode;
use crate::core::jsonrpc;
use crate::core::policy::authz::Kind;
use crate::core::policy::limits;
use crate::core::ratelimit::Decision;
use crate::core::seal::random_id;
use crate::core::telemetry::metrics::{self, LimitKind, Outcome, Rejection};
use crate::mcp::catalogue::schema;
use crate::mcp::protocol::version;
use crate::mcp::relay::relay;
use crate::mcp::server::exchange::{Answer, Exchange, Mode};
use crate::mcp::server::listen;
use crate::mcp::server::session::{self, SessionClaims};
use crate::mcp::server::subscriptions;

/// How long a list result may be cached by a stateless client (2026-07-28 `ttlMs`).
const LIST_TTL_MS: u64 = 60_000;

pub async fn dispatch(ex: &Exchange<'_>, id: &Value, method: &str, params: Value) -> Answer {
    match method {
        "initialize" => initialize(ex, id, &params).await,
        "server/discover" => ex.result(id, discover_result()),
        "ping" => ex.result(id, json!({})),
        "tools/list" => list(ex, id, &params, "tools"),
        "prompts/list" => list(ex, id, &params, "prompts"),
        "resources/list" => list(ex, id, &params, "resources"),
        "resources/templates/list" => list(ex, id, &params, "resourceTemplates"),
        "tools/call" => call_tool(ex, id, params).await,
        "prompts/get" => get_prompt(ex, id, params).await,
        "resources/read" => read_resource(ex, id, params).await,
        "completion/complete" => complete(ex, id, params).await,
        "subscriptions/listen" => listen::subscriptions_listen(ex, id, &params),
        "logging/setLevel" => set_log_level(ex, id, params).await,
        "resources/subscribe" | "resources/unsubscribe" => {
            subscriptions::subscribe(ex, id, method, params).await
        }
        _ => ex.error(
            id,
            jsonrpc::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        ),
    }
}

pub fn capabilities() -> Value {
    json!({
        "tools": {"listChanged": true},
        "prompts": {"listChanged": true},
        "resources": {"listChanged": true, "subscribe": true},
        "completions": {},
        "logging": {},
    })
}

pub fn server_info() -> Value {
    json!({"name": "agent-gateway", "title": "Agent Gateway", "version": env!("CARGO_PKG_VERSION")})
}

fn discover_result() -> Value {
    json!({
        "supportedVersions": version::all(),
        "capabilities": capabilities(),
        "ttlMs": LIST_TTL_MS,
        "cacheScope": "private",
        "_meta": {version::META_SERVER_INFO: server_info()},
    })
}

async fn initialize(ex: &Exchange<'_>, id: &Value, params: &Value) -> Answer {
    let negotiated = version::negotiate(params.get("protocolVersion").and_then(Value::as_str));
    let handle = random_id();
    let key = format!("s:{handle}");
    // Upstream sessions open now so their ids travel inside the sealed session to any replica.
    let opened = join_all(ex.route.backends.iter().map(|b| {
        let key = key.clone();
        async move {
            tokio::time::timeout(
                b.timeout.min(Duration::from_secs(10)),
                b.upstream.open_session(&key),
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
        caps: params
            .get("capabilities")
            .filter(|c| c.is_object())
            .cloned(),
    };
    let token = session::seal(&ex.route.sealer, &claims);
    let result = json!({
        "protocolVersion": negotiated,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
        "instructions": "Tools, prompts and resources of the servers behind this Agent Gateway route.",
    });
    Answer::Json {
        status: http::StatusCode::OK,
        body: jsonrpc::result(id, result),
        session: Some(token),
    }
}

/// Gateway-owned cursor: where the next page starts, sealed so clients cannot forge or read it.
#[derive(Serialize, Deserialize)]
struct Cursor {
    k: String,
    i: usize,
}

fn list(ex: &Exchange<'_>, id: &Value, params: &Value, key: &str) -> Answer {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => match ex.route.sealer.open::<Cursor>("cursor", c) {
            Ok(cursor) if cursor.k == key => cursor.i,
            _ => {
                return ex.error(
                    id,
                    jsonrpc::INVALID_PARAMS,
                    "Invalid params: unknown or expired cursor",
                );
            }
        },
        Some(_) => {
            return ex.error(
                id,
                jsonrpc::INVALID_PARAMS,
                "Invalid params: cursor must be a string",
            );
        }
    };
    let catalogue = ex.route.catalogue.load_full();
    let items: Vec<&Value> = match key {
        "tools" => catalogue.tools.iter().map(|t| &t.definition).collect(),
        "prompts" => catalogue.prompts.iter().map(|p| &p.definition).collect(),
        "resources" => catalogue.resources.iter().map(|(_, r)| r).collect(),
        _ => catalogue.templates.iter().map(|(_, t)| t).collect(),
    };
    // With mcp-authz the caller sees only its precomputed view of the catalogue.
    let view = ex
        .route
        .policy
        .authz
        .as_ref()
        .map(|a| a.view(catalogue.as_ref(), ex.principal()));
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
    Answer::Raw {
        status: http::StatusCode::OK,
        body: body.into(),
    }
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

async fn call_tool(ex: &Exchange<'_>, id: &Value, mut params: Value) -> Answer {
    let Some(name) = params
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return ex.error(
            id,
            jsonrpc::INVALID_PARAMS,
            "Invalid params: tools/call needs a string \"name\"",
        );
    };
    let catalogue = ex.route.catalogue.load();
    let route = &ex.route.name;
    // A tool the caller may not call is answered exactly like one that does not exist.
    let Some(tool) = catalogue.tool(&name).cloned() else {
        metrics::tool_rejected(route, &name, false, Rejection::UnknownTool);
        return ex.error(id, jsonrpc::INVALID_PARAMS, format!("Unknown tool: {name}"));
    };
    if !ex.authorized(Kind::Tool, &name) {
        metrics::tool_rejected(route, &name, true, Rejection::Forbidden);
        return ex.error(id, jsonrpc::INVALID_PARAMS, format!("Unknown tool: {name}"));
    }
    let arguments = params
        .get("arguments")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let violations = schema::violations(&tool.input, &arguments);
    if !violations.is_empty() {
        metrics::tool_rejected(route, &name, true, Rejection::Schema);
        tracing::info!(route = %ex.route.name, tool = %name, violations = violations.len(), "tools/call arguments rejected by the tool's inputSchema");
        return ex.reply(jsonrpc::error_with_data(
            id,
            jsonrpc::INVALID_PARAMS,
            format!("Invalid params: arguments do not match the inputSchema of tool {name}"),
            json!({"tool": name, "violations": violations}),
        ));
    }
    if let Some(limited) = rate_limited(ex, id, &name).await {
        return limited;
    }
    params["name"] = Value::String(tool.upstream_name.clone());
    let (mode, route_name) = (ex.route.output_schema, ex.route.name.clone());
    let backend_name = ex.route.backends[tool.backend].upstream.name().to_string();
    let start = std::time::Instant::now();
    relay(ex, tool.backend, id, "tools/call", params, move |reply| {
        let reply = check_output(reply, &tool, mode, &route_name);
        metrics::tool_call(
            &route_name,
            &backend_name,
            &tool.exposed,
            outcome(&reply),
            start.elapsed(),
        );
        reply
    })
    .await
}

/// Checks `structuredContent` against the tool's `outputSchema`: logged by default, an error when enforced.
fn check_output(
    reply: Value,
    tool: &crate::mcp::catalogue::Tool,
    mode: OutputSchemaMode,
    route: &str,
) -> Value {
    let Some(validator) = &tool.output else {
        return reply;
    };
    let result = &reply["result"];
    if result.is_null() || result["isError"] == true {
        return reply;
    }
    let violations = match result.get("structuredContent") {
        Some(structured) => schema::violations(validator, structured),
        None => vec![
            json!({"path": "", "message": "the result has no structuredContent but the tool declares an outputSchema"}),
        ],
    };
    if violations.is_empty() {
        return reply;
    }
    tracing::warn!(route, tool = %tool.exposed, violations = violations.len(), enforced = mode == OutputSchemaMode::Enforce, "upstream result does not match the tool's outputSchema");
    match mode {
        OutputSchemaMode::Report => reply,
        OutputSchemaMode::Enforce => jsonrpc::error_with_data(
            &reply["id"],
            jsonrpc::INTERNAL_ERROR,
            format!(
                "the result of tool {} does not match its outputSchema",
                tool.exposed
            ),
            json!({"violations": violations}),
        ),
    }
}

async fn get_prompt(ex: &Exchange<'_>, id: &Value, mut params: Value) -> Answer {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let catalogue = ex.route.catalogue.load();
    let Some(prompt) = catalogue
        .prompt(&name)
        .filter(|_| ex.authorized(Kind::Prompt, &name))
    else {
        return ex.error(
            id,
            jsonrpc::INVALID_PARAMS,
            format!("Unknown prompt: {name}"),
        );
    };
    params["name"] = Value::String(prompt.upstream_name.clone());
    let backend = prompt.backend;
    drop(catalogue);
    relay(ex, backend, id, "prompts/get", params, |r| r).await
}

async fn read_resource(ex: &Exchange<'_>, id: &Value, params: Value) -> Answer {
    let Some(uri) = params.get("uri").and_then(Value::as_str) else {
        return ex.error(
            id,
            jsonrpc::INVALID_PARAMS,
            "Invalid params: resources/read needs a string \"uri\"",
        );
    };
    match resource_backend(ex, uri) {
        Some(backend) => relay(ex, backend, id, "resources/read", params, |r| r).await,
        // -32002 is the spec's "resource not found".
        None => ex.reply(jsonrpc::error_with_data(
            id,
            -32002,
            "Resource not found",
            json!({"uri": uri}),
        )),
    }
}

/// The backend serving a resource the caller may read; an unauthorized URI is "not found".
pub fn resource_backend(ex: &Exchange<'_>, uri: &str) -> Option<usize> {
    if !ex.authorized(Kind::Resource, uri) {
        return None;
    }
    let catalogue = ex.route.catalogue.load();
    catalogue
        .resource_backend(uri)
        .or((ex.route.backends.len() == 1).then_some(0))
}

async fn complete(ex: &Exchange<'_>, id: &Value, mut params: Value) -> Answer {
    let reference = params.get("ref").cloned().unwrap_or_default();
    let backend = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let name = reference
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let catalogue = ex.route.catalogue.load();
            catalogue
                .prompt(name)
                .filter(|_| ex.authorized(Kind::Prompt, name))
                .map(|p| {
                    params["ref"]["name"] = Value::String(p.upstream_name.clone());
                    p.backend
                })
        }
        Some("ref/resource") => reference
            .get("uri")
            .and_then(Value::as_str)
            .and_then(|uri| resource_backend(ex, uri)),
        _ => {
            return ex.error(
                id,
                jsonrpc::INVALID_PARAMS,
                "Invalid params: ref must be ref/prompt or ref/resource",
            );
        }
    };
    match backend {
        Some(backend) => relay(ex, backend, id, "completion/complete", params, |r| r).await,
        None => ex.error(
            id,
            jsonrpc::INVALID_PARAMS,
            "Invalid params: unknown completion reference",
        ),
    }
}

/// Remembers the session's level (stateless upstreams get it per request) and tells session-era upstreams.
async fn set_log_level(ex: &Exchange<'_>, id: &Value, params: Value) -> Answer {
    let Some(level) = params.get("level").and_then(Value::as_str) else {
        return ex.error(
            id,
            jsonrpc::INVALID_PARAMS,
            "Invalid params: logging/setLevel needs a string \"level\"",
        );
    };
    if let Mode::Session(claims) = &ex.mode {
        let mut levels = ex.route.log_levels.lock().unwrap();
        if levels.len() > 100_000 {
            levels.clear();
        }
        levels.insert(claims.h.clone(), level.to_string());
    }
    join_all(ex.route.backends.iter().map(|b| {
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
    ex.result(id, json!({}))
}

/// Checks every rate limit that applies to this call; the first that refuses answers it (the upstream is
/// never called).
async fn rate_limited(ex: &Exchange<'_>, id: &Value, tool: &str) -> Option<Answer> {
    let policy = &ex.route.policy;
    let authz_limit = policy
        .authz
        .as_ref()
        .and_then(|a| a.rule_for(ex.principal()))
        .and_then(|r| r.rate_limit)
        .map(|r| r.requests_per_minute);
    for limit in limits::applicable(
        &ex.route.name,
        &policy.limits,
        authz_limit,
        ex.principal(),
        tool,
    ) {
        if let Decision::Limited { retry_after } =
            policy.limiter.check(&limit.key, limit.per_minute).await
        {
            let kind = match limit.key_kind {
                "tool" => LimitKind::Tool,
                "principal+tool" => LimitKind::PrincipalTool,
                _ => LimitKind::Principal,
            };
            metrics::tool_rejected(&ex.route.name, tool, true, Rejection::RateLimited(kind));
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            tracing::info!(route = %ex.route.name, principal = ex.principal(), tool, key_kind = limit.key_kind, per_minute = limit.per_minute, "rate limit: call refused");
            let body = jsonrpc::error_with_data(
                id,
                jsonrpc::RATE_LIMITED,
                format!(
                    "Rate limit exceeded: {} calls per minute; retry in {seconds}s",
                    limit.per_minute
                ),
                json!({"retryAfterSeconds": seconds, "limit": limit.per_minute, "per": limit.key_kind}),
            );
            return Some(Answer::Limited {
                body,
                retry_after: seconds,
            });
        }
    }
    None
}

/// How a relayed tool call ended, for its metrics.
fn outcome(reply: &Value) -> Outcome {
    match jsonrpc::error_code(reply) {
        None if reply["result"]["isError"] == true => Outcome::Error,
        None => Outcome::Ok,
        Some(jsonrpc::UPSTREAM_TIMEOUT) => Outcome::Timeout,
        Some(jsonrpc::UPSTREAM_ERROR) => Outcome::Unavailable,
        Some(_) => Outcome::Error,
    }
}
