//! What a client sees of an agent through the gateway is what it sees of the agent directly, wherever the
//! gateway has no reason to differ: the same request is sent both ways to real a2a-sdk agents (1.3 with and
//! without the 0.3 switch, and 0.3) and the answers compared. Also: no raw task or context id reaches an
//! agent from a caller, in any spelling of any id field, in either binding, translated between protocol
//! versions or not (a recording front between gateway and each agent sees every request; it forwards them
//! unchanged, no real agent records on demand).

mod common;

use common::stub::{Answer, Stub};
use http::Method;
use serde_json::{Value, json};

const UNKNOWN: &str = "tck-nonexistent-task";

struct Setup {
    _agents: Vec<common::Child>,
    /// Base URLs of the agents, by the gateway's name for them.
    direct: Vec<(&'static str, String)>,
    /// The recording front before each agent, by name.
    fronts: Vec<(&'static str, Stub)>,
    gateway: common::Gateway,
}

impl Setup {
    async fn start() -> Setup {
        let (compat, compat_url) = common::a2a_agent("venv-a2a", "weather", &["--compat"]).await;
        let (plain, plain_url) = common::a2a_agent("venv-a2a", "plain", &[]).await;
        let (v03, v03_url) = common::a2a_agent("venv-a2a03", "legacy", &[]).await;
        let direct = vec![
            ("weather", compat_url),
            ("plain", plain_url),
            ("legacy", v03_url),
        ];
        let mut fronts = Vec::new();
        for (name, url) in &direct {
            let target = url.clone();
            let front = Stub::http()
                .start(move |_| Answer::Forward(target.clone()))
                .await;
            fronts.push((*name, front));
        }
        let backends = fronts
            .iter()
            .map(|(name, front)| {
                let url = format!("http://{}", front.addr);
                format!("      - {{name: {name}, address: '{url}', agentName: {name}}}\n")
            })
            .collect::<String>();
        let yaml = format!(
            "binds:\n- port: 0\n  address: 127.0.0.1\n  listeners:\n  - name: a2a\n    routes:\n    - name: agents\n      match: {{path: {{prefix: /agents}}}}\n      backends:\n{backends}"
        );
        let gateway = common::gateway(&yaml).await;
        Setup {
            _agents: vec![compat, plain, v03],
            direct,
            fronts,
            gateway,
        }
    }

    fn direct(&self, agent: &str) -> &str {
        &self.direct.iter().find(|(n, _)| *n == agent).unwrap().1
    }

    fn front(&self, agent: &str) -> &Stub {
        &self.fronts.iter().find(|(n, _)| *n == agent).unwrap().1
    }

    fn through(&self, agent: &str) -> String {
        self.gateway.url(&format!("/agents/{agent}"))
    }
}

/// One request, sent the same way to the agent and through the gateway.
#[derive(Clone, Debug)]
struct Call {
    method: Method,
    /// Under the agent's base URL ("" for JSON-RPC).
    path: String,
    version: Option<&'static str>,
    body: Option<Value>,
}

fn rpc(version: Option<&'static str>, method: &str, params: Value) -> Call {
    Call {
        method: Method::POST,
        path: String::new(),
        version,
        body: Some(json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})),
    }
}

fn rest(method: Method, path: &str, body: Option<Value>) -> Call {
    Call {
        method,
        path: path.to_string(),
        version: Some("1.0"),
        body,
    }
}

/// What a client reads of an answer: status, and the JSON body or the stream's events.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    body: Value,
}

async fn send(base: &str, call: &Call) -> Seen {
    let mut request =
        reqwest::Client::new().request(call.method.clone(), format!("{base}{}", call.path));
    if let Some(v) = call.version {
        request = request.header("a2a-version", v);
    }
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let is_stream = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    let body = if is_stream {
        text.split("\n\n")
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data:")))
            .map(|d| serde_json::from_str::<Value>(d.trim()).unwrap())
            .collect()
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Seen { status, body }
}

/// An answer without the parts that may quote the id sent (error messages), which the gateway forwards
/// namespaced.
fn comparable(mut seen: Seen) -> Seen {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(error)) = map.get_mut("error") {
                    error.remove("message");
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut seen.body);
    seen
}

/// A user message saying `text` in the 1.0 or the 0.3 shape, with `extra` members (ids) added.
fn message(v1: bool, text: &str, extra: Value) -> Value {
    let id = agent_gateway::core::seal::random_id();
    let mut m = match v1 {
        true => json!({"messageId": id, "role": "ROLE_USER", "parts": [{"text": text}]}),
        false => json!({"kind": "message", "messageId": id, "role": "user",
            "parts": [{"kind": "text", "text": text}]}),
    };
    m.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    m
}

fn message_v1(extra: Value) -> Value {
    message(true, "hello", extra)
}

fn message_v03(extra: Value) -> Value {
    message(false, "hello", extra)
}

/// Ids the gateway did not issue are answered by the agent itself: TaskNotFound where it looks the task
/// up first, its own refusal where it checks something else first (push notifications unsupported), in
/// the agent's status, code and `error.data`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_get_the_agents_own_answer_in_every_binding() {
    let s = Setup::start().await;
    let v1 = Some("1.0");
    let calls: Vec<(&str, Call)> = vec![
        ("weather", rpc(v1, "GetTask", json!({"id": UNKNOWN}))),
        ("weather", rpc(v1, "CancelTask", json!({"id": UNKNOWN}))),
        (
            "weather",
            rpc(v1, "SubscribeToTask", json!({"id": UNKNOWN})),
        ),
        (
            "weather",
            rpc(
                v1,
                "SendMessage",
                json!({"message": message_v1(json!({"taskId": UNKNOWN}))}),
            ),
        ),
        (
            "weather",
            rpc(
                v1,
                "GetTaskPushNotificationConfig",
                json!({"taskId": UNKNOWN, "id": "cfg"}),
            ),
        ),
        (
            "weather",
            rpc(
                v1,
                "ListTaskPushNotificationConfigs",
                json!({"taskId": UNKNOWN}),
            ),
        ),
        (
            "weather",
            rpc(
                v1,
                "CreateTaskPushNotificationConfig",
                json!({"taskId": UNKNOWN, "url": "https://example.com/hook"}),
            ),
        ),
        (
            "weather",
            rpc(v1, "ListTasks", json!({"contextId": "tck-unknown-context"})),
        ),
        ("weather", rpc(None, "tasks/get", json!({"id": UNKNOWN}))),
        ("weather", rpc(None, "tasks/cancel", json!({"id": UNKNOWN}))),
        (
            "weather",
            rpc(None, "tasks/resubscribe", json!({"id": UNKNOWN})),
        ),
        (
            "weather",
            rpc(
                None,
                "message/send",
                json!({"message": message_v03(json!({"taskId": UNKNOWN}))}),
            ),
        ),
        (
            "weather",
            rpc(
                None,
                "tasks/pushNotificationConfig/get",
                json!({"id": UNKNOWN}),
            ),
        ),
        (
            "weather",
            rest(Method::GET, &format!("/tasks/{UNKNOWN}"), None),
        ),
        (
            "weather",
            rest(Method::POST, &format!("/tasks/{UNKNOWN}:cancel"), None),
        ),
        (
            "weather",
            rest(Method::GET, &format!("/tasks/{UNKNOWN}:subscribe"), None),
        ),
        (
            "weather",
            rest(
                Method::GET,
                &format!("/tasks/{UNKNOWN}/pushNotificationConfigs"),
                None,
            ),
        ),
        (
            "weather",
            rest(
                Method::GET,
                &format!("/tasks/{UNKNOWN}/pushNotificationConfigs/cfg"),
                None,
            ),
        ),
        (
            "weather",
            rest(
                Method::POST,
                "/message:send",
                Some(json!({"message": message_v1(json!({"taskId": UNKNOWN}))})),
            ),
        ),
        (
            "weather",
            rest(Method::GET, "/tasks?contextId=tck-unknown-context", None),
        ),
        // A 1.0 method without `A2A-Version` at an agent that speaks only 1.0: the gateway answers it
        // itself, in the 1.0 shape the agent would have used.
        ("plain", rpc(None, "GetTask", json!({"id": UNKNOWN}))),
        ("plain", rpc(v1, "GetTask", json!({"id": UNKNOWN}))),
        ("legacy", rpc(None, "tasks/get", json!({"id": UNKNOWN}))),
        ("legacy", rpc(None, "tasks/cancel", json!({"id": UNKNOWN}))),
        (
            "legacy",
            rpc(
                None,
                "message/send",
                json!({"message": message_v03(json!({"taskId": UNKNOWN}))}),
            ),
        ),
    ];
    let mut differ = Vec::new();
    for (agent, call) in &calls {
        let direct = comparable(send(s.direct(agent), call).await);
        let through = comparable(send(&s.through(agent), call).await);
        if direct != through {
            differ.push(format!(
                "{agent} {call:?}\n  direct:  {direct:?}\n  through: {through:?}"
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// `%XX` decoded, and `+` as a space in a query: how the agent's router reads a path or a query.
fn decoded(text: &str, query: bool) -> String {
    let mut out = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escape = (first == b'%')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match escape {
            Some(byte) => {
                out.push(byte);
                rest = &tail[2..];
            }
            None => {
                out.push(if query && first == b'+' { b' ' } else { first });
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every string a request carries to the agent: path segments (and their part before a `:verb`), query
/// values (and their comma-separated items), and every string in the JSON body.
fn strings_sent(request: &common::stub::Request) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    for segment in path.split('/').map(|s| decoded(s, false)) {
        out.push(segment.split(':').next().unwrap_or_default().to_string());
        out.push(segment);
    }
    for pair in query.split('&') {
        let value = decoded(pair.split_once('=').map_or("", |(_, v)| v), true);
        out.extend(value.split(',').map(str::to_string));
        out.push(value);
    }
    walk(&request.json, &mut out);
    out
}

/// A caller who learnt an agent's raw task and context ids (here: from the agent itself) puts them in
/// every id field the bindings have, in both spellings, in path, query and body, encoded or not, and
/// sends them to each agent: the one speaking both versions, and the 1.0-only and 0.3-only ones, where
/// the gateway translates. No request reaches an agent with the raw ids, every request reaches it
/// except those the gateway answers itself (ListTasks and non-1.0 paths to the 0.3 agent), and the task
/// is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_raw_id_reaches_the_agent_in_any_spelling_or_binding() {
    let s = Setup::start().await;
    for agent in ["weather", "plain", "legacy"] {
        let v03 = agent == "legacy";
        let start = match v03 {
            true => rpc(
                None,
                "message/send",
                json!({"message": message(false, "wait Tampa", json!({})),
                    "configuration": {"blocking": false}}),
            ),
            false => rpc(
                Some("1.0"),
                "SendMessage",
                json!({"message": message(true, "wait Tampa", json!({})),
                    "configuration": {"returnImmediately": true}}),
            ),
        };
        let started = send(s.direct(agent), &start).await;
        let task = match v03 {
            true => started.body["result"].clone(),
            false => started.body["result"]["task"].clone(),
        };
        let (t, c) = (
            task["id"].as_str().unwrap(),
            task["contextId"].as_str().unwrap(),
        );
        probe_with_raw_ids(&s, agent, t, c).await;
        // The task is as it was: nothing cancelled it, no message joined its conversation.
        let own = match v03 {
            true => send(s.direct(agent), &rpc(None, "tasks/get", json!({"id": t}))).await,
            false => {
                send(
                    s.direct(agent),
                    &rpc(Some("1.0"), "GetTask", json!({"id": t})),
                )
                .await
            }
        };
        let state = own.body["result"]["status"]["state"]
            .as_str()
            .unwrap_or_default();
        assert!(
            ["working", "TASK_STATE_WORKING"].contains(&state),
            "{agent}: {own:?}"
        );
        if !v03 {
            let listed = send(
                s.direct(agent),
                &rpc(Some("1.0"), "ListTasks", json!({"contextId": c})),
            )
            .await;
            assert_eq!(
                listed.body["result"]["tasks"].as_array().map(Vec::len),
                Some(1),
                "{agent}: {listed:?}"
            );
        }
    }
}

/// Sends every probe carrying the raw ids `t` and `c` to `agent` through the gateway.
async fn probe_with_raw_ids(s: &Setup, agent: &str, t: &str, c: &str) {
    let v1 = Some("1.0");
    let first_hex = format!("%{:02X}{}", t.as_bytes()[0], &t[1..]);
    let mut calls = vec![
        rpc(v1, "GetTask", json!({"id": t})),
        rpc(v1, "CancelTask", json!({"id": t})),
        rpc(v1, "SubscribeToTask", json!({"id": t})),
        rpc(v1, "ListTasks", json!({"contextId": c})),
        rpc(v1, "ListTasks", json!({"context_id": c})),
        rpc(None, "tasks/get", json!({"id": t})),
        rpc(None, "tasks/cancel", json!({"id": t})),
        rpc(None, "tasks/resubscribe", json!({"id": t})),
        rpc(None, "tasks/pushNotificationConfig/get", json!({"id": t})),
        rpc(None, "tasks/pushNotificationConfig/list", json!({"id": t})),
        rpc(
            None,
            "tasks/pushNotificationConfig/delete",
            json!({"id": t, "pushNotificationConfigId": "cfg"}),
        ),
        rest(Method::GET, &format!("/tasks/{t}"), None),
        rest(Method::GET, &format!("/tasks/{first_hex}"), None),
        rest(Method::GET, &format!("/t%61sks/{t}"), None),
        rest(Method::GET, &format!("/tenant/tasks/{t}"), None),
        rest(Method::GET, &format!("/v1/tasks/{t}"), None),
        rest(Method::POST, &format!("/tasks/{t}:cancel"), None),
        rest(Method::POST, &format!("/tasks/{t}%3Acancel"), None),
        rest(Method::GET, &format!("/tasks/{t}:subscribe"), None),
        rest(
            Method::GET,
            &format!("/tasks/{t}/pushNotificationConfigs"),
            None,
        ),
        rest(
            Method::GET,
            &format!("/tasks/{t}/pushNotificationConfigs/cfg"),
            None,
        ),
        rest(
            Method::POST,
            &format!("/tasks/{t}/pushNotificationConfigs"),
            Some(json!({"url": "https://example.com/hook"})),
        ),
        rest(Method::GET, &format!("/tasks?contextId={c}"), None),
        rest(Method::GET, &format!("/tasks?context_id={c}"), None),
        rest(Method::GET, &format!("/tasks?contextI%64={c}"), None),
        rest(
            Method::GET,
            &format!("/tasks?contextId={c}&contextId={c}"),
            None,
        ),
    ];
    for (task_key, context_key, refs_key) in [
        ("taskId", "contextId", "referenceTaskIds"),
        ("task_id", "context_id", "reference_task_ids"),
    ] {
        for fields in [
            json!({task_key: t}),
            json!({context_key: c}),
            json!({refs_key: [t]}),
        ] {
            calls.push(rpc(
                v1,
                "SendMessage",
                json!({"message": message_v1(fields.clone())}),
            ));
            calls.push(rpc(
                None,
                "message/send",
                json!({"message": message_v03(fields.clone())}),
            ));
            calls.push(rest(
                Method::POST,
                "/message:send",
                Some(json!({"message": message_v1(fields.clone())})),
            ));
            calls.push(rest(
                Method::POST,
                "/message:stream",
                Some(json!({"message": message_v1(fields)})),
            ));
        }
        calls.push(rpc(
            v1,
            "GetTaskPushNotificationConfig",
            json!({task_key: t, "id": "cfg"}),
        ));
        calls.push(rpc(
            v1,
            "ListTaskPushNotificationConfigs",
            json!({task_key: t}),
        ));
        calls.push(rpc(
            v1,
            "CreateTaskPushNotificationConfig",
            json!({task_key: t, "url": "https://example.com/hook"}),
        ));
        calls.push(rpc(
            v1,
            "DeleteTaskPushNotificationConfig",
            json!({task_key: t, "id": "cfg"}),
        ));
        calls.push(rpc(
            None,
            "tasks/pushNotificationConfig/set",
            json!({task_key: t, "pushNotificationConfig": {"url": "https://example.com/hook"}}),
        ));
    }
    let front = s.front(agent);
    let (mut leaks, mut unreached) = (Vec::new(), Vec::new());
    for call in &calls {
        let before = front.requests().len();
        let seen = send(&s.through(agent), call).await;
        let reached = front.requests()[before..].to_vec();
        if reached.is_empty() {
            unreached.push(format!("{call:?}: {seen:?}"));
        }
        for request in reached {
            if strings_sent(&request).iter().any(|x| x == t || x == c) {
                leaks.push(format!(
                    "{call:?}\n  reached the agent as {} {} {}",
                    request.method, request.path, request.json
                ));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{agent}: raw ids reached the agent:\n{}",
        leaks.join("\n")
    );
    // The gateway answers these itself for a 0.3 agent: 0.3 has no ListTasks, and `/tenant/…` and `/v1/…`
    // are not 1.0 HTTP+JSON operations.
    let answered_here = |call: &&Call| {
        agent == "legacy"
            && (call
                .body
                .as_ref()
                .is_some_and(|b| b["method"] == "ListTasks")
                || ["/tasks?", "/tenant/", "/v1/"]
                    .iter()
                    .any(|p| call.path.starts_with(p)))
    };
    let expected = calls.iter().filter(answered_here).count();
    assert_eq!(
        unreached.len(),
        expected,
        "{agent}: did not reach the agent:\n{}",
        unreached.join("\n")
    );
}

/// Cards are served with the validators and freshness a client cache needs: `Cache-Control`, `ETag` and
/// `Last-Modified`, each honoured on revalidation (304 with the same validators).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_are_cacheable_through_the_gateway() {
    let s = Setup::start().await;
    let url = s.gateway.url("/agents/weather/.well-known/agent-card.json");
    let client = reqwest::Client::new();
    let get = |headers: Vec<(&'static str, String)>| {
        let mut request = client.get(&url);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        async move { request.send().await.unwrap() }
    };
    let first = get(vec![]).await;
    assert_eq!(first.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing: {:?}", r.headers()))
            .to_str()
            .unwrap()
            .to_string()
    };
    let (etag, modified) = (header(&first, "etag"), header(&first, "last-modified"));
    assert!(header(&first, "cache-control").contains("max-age="));
    assert!(modified.ends_with(" GMT"), "an HTTP date: {modified}");
    for revalidation in [
        vec![("if-none-match", etag.clone())],
        vec![("if-modified-since", modified.clone())],
    ] {
        let again = get(revalidation.clone()).await;
        assert_eq!(again.status(), 304, "{revalidation:?}");
        assert_eq!(
            (header(&again, "etag"), header(&again, "last-modified")),
            (etag.clone(), modified.clone())
        );
        assert!(header(&again, "cache-control").contains("max-age="));
    }
    // Older copies, or another entity, are sent whole; If-None-Match wins over If-Modified-Since.
    let old = "Sun, 06 Nov 1994 08:49:37 GMT".to_string();
    assert_eq!(get(vec![("if-modified-since", old)]).await.status(), 200);
    let other = vec![
        ("if-none-match", "\"other\"".to_string()),
        ("if-modified-since", modified.clone()),
    ];
    assert_eq!(get(other).await.status(), 200);
}

/// Errors the gateway writes itself have the shape the caller's version gives the agent's own: a 1.0
/// method gets the `google.rpc.ErrorInfo` in `error.data`, with or without `A2A-Version`; a 0.3 method the
/// 0.3 shape; a JSON-RPC POST to an agent that does not exist a JSON-RPC error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_errors_have_the_shape_of_the_callers_version() {
    let s = Setup::start().await;
    let info = |seen: &Seen| seen.body["error"]["data"][0].clone();
    for version in [None, Some("1.0")] {
        let list = send(&s.through("weather"), &rpc(version, "ListTasks", json!({}))).await;
        assert_eq!(list.body["error"]["code"], -32004, "{list:?}");
        assert_eq!(
            (
                info(&list)["@type"].as_str(),
                info(&list)["reason"].as_str()
            ),
            (
                Some("type.googleapis.com/google.rpc.ErrorInfo"),
                Some("UNSUPPORTED_OPERATION")
            ),
            "{list:?}"
        );
    }
    let nobody = s.gateway.url("/agents/nobody");
    let v1 = send(
        &nobody,
        &rpc(Some("1.0"), "GetTask", json!({"id": UNKNOWN})),
    )
    .await;
    // The body is not read for an agent that does not exist, so the reply's id is null.
    assert_eq!(
        (v1.status, &v1.body["jsonrpc"]),
        (404, &json!("2.0")),
        "{v1:?}"
    );
    assert_eq!(
        info(&v1)["@type"],
        "type.googleapis.com/google.rpc.ErrorInfo"
    );
    let v03 = send(&nobody, &rpc(None, "tasks/get", json!({"id": UNKNOWN}))).await;
    assert_eq!(
        (v03.status, &v03.body["jsonrpc"]),
        (404, &json!("2.0")),
        "{v03:?}"
    );
    assert!(v03.body["error"]["code"].is_i64(), "{v03:?}");
    assert!(
        info(&v03).is_null(),
        "no 1.0 ErrorInfo for a 0.3 caller: {v03:?}"
    );
    // A version there is not: the gateway's -32009 in the method's version.
    let version = send(
        &s.through("plain"),
        &rpc(Some("2.0"), "tasks/get", json!({"id": UNKNOWN})),
    )
    .await;
    assert_eq!(version.body["error"]["code"], -32009, "{version:?}");
    assert!(info(&version).is_null(), "{version:?}");
    // A 0.3 method to a 1.0-only agent is translated; the agent's answer comes back in the 0.3 shape.
    let translated = send(
        &s.through("plain"),
        &rpc(None, "tasks/get", json!({"id": UNKNOWN})),
    )
    .await;
    assert_eq!(translated.body["error"]["code"], -32001, "{translated:?}");
    assert!(info(&translated).is_null(), "{translated:?}");
}
