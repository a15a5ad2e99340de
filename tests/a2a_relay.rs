//! The A2A relay with real agents and real clients (Python `a2a-sdk` 1.3 and 0.3) on both sides, served by a
//! small hyper server that mounts an `A2aRoute` at `/agents`. The `x-test-principal` header stands in for the
//! identity layer the lead's server puts in front.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use agent_gateway::a2a::A2aRoute;
use agent_gateway::config::{self, A2aAuthz, A2aAuthzRule};
use agent_gateway::core::http::{Caller, client};
use agent_gateway::core::policy::{Env, Pipeline, Protocol};
use agent_gateway::core::ratelimit::Limiter;
use agent_gateway::core::seal::Sealer;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const PLANNING: &str = "system:serviceaccount:agent-core-infra:planning-agent-sa";
const ORCHESTRATOR: &str = "system:serviceaccount:agent-core-infra:orchestrator-agent-sa";

use common::a2a_agent as agent;

async fn serve(route: A2aRoute) -> (SocketAddr, Arc<A2aRoute>, CancellationToken) {
    let served = serve_as_is(route).await;
    assert!(
        served.1.refresh_cards().await.iter().all(Result::is_ok),
        "cards fetched"
    );
    served
}

/// Serves the route whether or not its agents' cards can be fetched.
async fn serve_as_is(route: A2aRoute) -> (SocketAddr, Arc<A2aRoute>, CancellationToken) {
    let route = Arc::new(route);
    let stop = CancellationToken::new();
    route.start(stop.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = route.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let route = served.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let route = route.clone();
                    async move {
                        let principal = request
                            .headers()
                            .get("x-test-principal")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        let caller = Caller {
                            principal,
                            ..Caller::default()
                        };
                        Ok::<_, std::convert::Infallible>(route.handle(request, &caller).await)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, route, stop)
}

/// The route as the gateway builds it, with the guide's pipeline: `a2a-authz` when given.
fn route(agents: Vec<(Option<String>, String)>, authz: Option<A2aAuthz>) -> A2aRoute {
    let config = config::Route {
        name: "agent-to-agent".into(),
        path_prefix: "/agents".into(),
        policies: authz
            .map(|a| config::Policy {
                kind: config::PolicyKind::A2aAuthz(a),
                location: Default::default(),
            })
            .into_iter()
            .collect(),
        backends: Vec::new(),
        mcp: Default::default(),
        location: Default::default(),
    };
    let env = Env {
        limiter: Arc::new(Limiter::local()),
        security: &Default::default(),
        limits: &Default::default(),
        loopback_bind: true,
    };
    let client = client::client(&Default::default()).unwrap();
    A2aRoute::new(
        config.name.clone(),
        config.path_prefix.clone(),
        agents
            .into_iter()
            .map(|(name, url)| (name, url, client.clone()))
            .collect(),
        Pipeline::build(&config, Protocol::A2a, &env).unwrap(),
        Arc::new(Sealer::generate()),
    )
}

/// Runs `tests/peers/a2a_client.py`; Ok(JSON output) or Err(stderr).
async fn client(
    venv: &str,
    url: &str,
    text: &str,
    flags: &[&str],
    principal: &str,
) -> Result<Value, String> {
    let out = tokio::process::Command::new(common::tool(&format!("{venv}/bin/python")))
        .arg(common::repo().join("tests/peers/a2a_client.py"))
        .args([
            "--url",
            url,
            "--text",
            text,
            "--header",
            &format!("x-test-principal: {principal}"),
        ])
        .args(flags)
        .output()
        .await
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn rpc(
    addr: SocketAddr,
    agent: &str,
    principal: &str,
    version: &str,
    body: Value,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/agents/{agent}"))
        .header("x-test-principal", principal)
        .header("a2a-version", version)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn texts(out: &Value) -> String {
    out["text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_agent_with_compat_serves_both_sdk_clients_and_tasks_stay_with_their_owner() {
    let (_agent, base) = agent("venv-a2a", "weather-agent-v6", &["--compat", "--signed"]).await;
    let (addr, _route, _stop) = serve(route(vec![(None, base.clone())], None)).await;
    let public = format!("http://{addr}/agents/weather-agent-v6");

    // The card, field by field: every endpoint URL is the gateway's, the signature is gone and said so.
    let response = reqwest::get(format!("{public}/.well-known/agent-card.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let notice = response.headers()["x-agent-gateway-card-notice"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(notice.contains("signatures dropped"), "{notice}");
    assert_eq!(response.headers()["cache-control"], "private, max-age=300");
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let card: Value = response.json().await.unwrap();
    assert_eq!(card["url"], format!("{public}/"));
    for interface in card["supportedInterfaces"].as_array().unwrap() {
        assert_eq!(interface["url"], format!("{public}/"), "{interface}");
    }
    assert!(card.get("signatures").is_none());
    assert_eq!(card["name"], "weather-agent-v6");
    assert_eq!(
        card["skills"][0]["id"], "forecast",
        "other fields untouched"
    );
    let again = reqwest::Client::new()
        .get(format!("{public}/.well-known/agent.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let forwarded: Value = reqwest::Client::new()
        .get(format!("{public}/.well-known/agent-card.json"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "gw.example.com")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        forwarded["url"],
        "https://gw.example.com/agents/weather-agent-v6/"
    );
    let unknown = reqwest::get(format!(
        "http://{addr}/agents/nobody/.well-known/agent-card.json"
    ))
    .await
    .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nobody")
    );

    // a2a-sdk 1.3 client, protocol 1.0: JSON-RPC and HTTP+JSON, blocking and streaming.
    let out = client("venv-a2a", &public, "Tampa", &[], "alice")
        .await
        .unwrap();
    assert_eq!(texts(&out), "Forecast for Tampa: sunny, 28C");
    assert_eq!(out["get_task_state"], "TASK_STATE_COMPLETED");
    let sealed = out["task_id"].as_str().unwrap().to_string();
    assert!(
        sealed.len() > 60,
        "the client sees a sealed id, not the agent's: {sealed}"
    );
    let out = client("venv-a2a", &public, "slow Tampa", &["--stream"], "alice")
        .await
        .unwrap();
    assert!(texts(&out).contains("Forecast for slow Tampa"), "{out}");
    let at: Vec<f64> = out["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_f64().unwrap())
        .collect();
    assert!(at.len() >= 3, "{out}");
    assert!(
        at.last().unwrap() - at[0] > 1.5,
        "events arrive as the agent sends them: {at:?}"
    );
    let out = client(
        "venv-a2a",
        &public,
        "Miami",
        &["--rest", "--stream"],
        "alice",
    )
    .await
    .unwrap();
    assert!(texts(&out).contains("Forecast for Miami"), "{out}");
    assert_eq!(out["get_task_state"], "TASK_STATE_COMPLETED");
    let out = client("venv-a2a", &public, "Miami", &["--rest"], "alice")
        .await
        .unwrap();
    assert_eq!(out["get_task_state"], "TASK_STATE_COMPLETED", "{out}");

    // a2a-sdk 0.3 client against the compatibility switch, through the gateway.
    let out = client("venv-a2a03", &public, "Orlando", &[], "alice")
        .await
        .unwrap();
    assert_eq!(out["card_url"], format!("{public}/"));
    assert_eq!(texts(&out), "Forecast for Orlando: sunny, 28C");
    assert_eq!(out["get_task_state"], "completed");
    let out = client(
        "venv-a2a03",
        &public,
        "slow Orlando",
        &["--stream"],
        "alice",
    )
    .await
    .unwrap();
    assert!(texts(&out).contains("Forecast for slow Orlando"), "{out}");

    // Hijack attempts: another principal, a forged id, the agent's raw id; JSON-RPC (both versions) and REST.
    let (status, own) = rpc(
        addr,
        "weather-agent-v6",
        "alice",
        "1.0",
        json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": sealed}}),
    )
    .await;
    assert_eq!(
        (status, own["result"]["status"]["state"].as_str()),
        (200, Some("TASK_STATE_COMPLETED")),
        "{own}"
    );
    assert_eq!(
        own["result"]["id"],
        sealed.as_str(),
        "the same token comes back"
    );
    for (principal, id) in [
        ("mallory", sealed.as_str()),
        ("alice", "forged-id"),
        ("alice", &sealed[..sealed.len() - 2]),
    ] {
        let (_, v) = rpc(
            addr,
            "weather-agent-v6",
            principal,
            "1.0",
            json!({"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": id}}),
        )
        .await;
        assert_eq!(v["error"]["code"], -32001, "{principal} {id}: {v}");
        let (_, v) = rpc(
            addr,
            "weather-agent-v6",
            principal,
            "1.0",
            json!({"jsonrpc": "2.0", "id": 3, "method": "CancelTask", "params": {"id": id}}),
        )
        .await;
        assert_eq!(v["error"]["code"], -32001, "{v}");
        let (_, v) = rpc(
            addr,
            "weather-agent-v6",
            principal,
            "",
            json!({"jsonrpc": "2.0", "id": 4, "method": "tasks/get", "params": {"id": id}}),
        )
        .await;
        assert_eq!(v["error"]["code"], -32001, "{v}");
    }
    let (_, v) = rpc(addr, "weather-agent-v6", "mallory", "1.0", json!({"jsonrpc": "2.0", "id": 5, "method": "SendMessage",
        "params": {"message": {"messageId": "m", "role": "ROLE_USER", "taskId": sealed, "parts": [{"text": "hi"}]}}})).await;
    assert_eq!(
        v["error"]["code"], -32001,
        "continuing someone else's task: {v}"
    );
    let rest = reqwest::Client::new()
        .get(format!("{public}/tasks/{sealed}"))
        .header("x-test-principal", "mallory")
        .header("a2a-version", "1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 404);
    // Not found, as if it did not exist: nothing tells mallory the task is someone else's.
    let body: Value = rest.json().await.unwrap();
    assert_eq!(
        (&body["error"]["message"], &body["error"]["status"]),
        (&json!("Task not found"), &json!("NOT_FOUND")),
        "{body}"
    );
    assert_eq!(
        body["error"]["details"][0]["reason"], "TASK_NOT_FOUND",
        "{body}"
    );
    let (_, v) = rpc(
        addr,
        "weather-agent-v6",
        "alice",
        "1.0",
        json!({"jsonrpc": "2.0", "id": 6, "method": "ListTasks", "params": {}}),
    )
    .await;
    assert_eq!(
        v["error"]["code"], -32004,
        "listing every caller's tasks is refused: {v}"
    );
    let (_, v) = rpc(
        addr,
        "weather-agent-v6",
        "alice",
        "2.0",
        json!({"jsonrpc": "2.0", "id": 7, "method": "GetTask", "params": {"id": sealed}}),
    )
    .await;
    assert_eq!(v["error"]["code"], -32009, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v03_agent_plain_v1_agent_authz_and_the_guides_shorthand() {
    let (_weather, weather) = agent("venv-a2a03", "weather-agent-v6", &[]).await;
    let (_planning, planning) = agent("venv-a2a", "planning-agent", &[]).await;
    let authz = A2aAuthz {
        rules: vec![
            A2aAuthzRule {
                source: PLANNING.into(),
                target: "weather-agent-v6".into(),
                allowed: true,
            },
            A2aAuthzRule {
                source: ORCHESTRATOR.into(),
                target: "*".into(),
                allowed: true,
            },
        ],
    };
    let (addr, _route, _stop) = serve(route(
        vec![(None, weather), (Some("planner".into()), planning)],
        Some(authz),
    ))
    .await;
    let weather_url = format!("http://{addr}/agents/weather-agent-v6");
    let planner_url = format!("http://{addr}/agents/planner");

    // Discovery is filtered by a2a-authz.
    let list = |principal: &'static str| async move {
        let v: Value = reqwest::Client::new()
            .get(format!("http://{addr}/agents"))
            .header("x-test-principal", principal)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(ORCHESTRATOR).await, ["weather-agent-v6", "planner"]);
    assert_eq!(list(PLANNING).await, ["weather-agent-v6"]);
    assert!(list("system:serviceaccount:x:other").await.is_empty());

    // The 0.3-only agent (KAgent's kind) with both SDK clients, streaming and not.
    for flags in [&[][..], &["--stream"][..]] {
        let out = client("venv-a2a03", &weather_url, "Tampa", flags, PLANNING)
            .await
            .unwrap();
        assert_eq!(out["card_url"], format!("{weather_url}/"));
        assert!(texts(&out).contains("Forecast for Tampa"), "{out}");
        assert_eq!(out["get_task_state"], "completed");
        let out = client("venv-a2a", &weather_url, "Tampa", flags, ORCHESTRATOR)
            .await
            .unwrap();
        assert!(texts(&out).contains("Forecast for Tampa"), "{out}");
        assert_eq!(out["get_task_state"], "TASK_STATE_COMPLETED");
    }
    // The 1.0-only agent: the 1.3 client works; a 0.3 request is translated both ways.
    let out = client(
        "venv-a2a",
        &planner_url,
        "hello planner",
        &["--stream"],
        ORCHESTRATOR,
    )
    .await
    .unwrap();
    assert_eq!(texts(&out), "hello back: hello planner");
    let (_, v) = rpc(addr, "planner", ORCHESTRATOR, "", json!({"jsonrpc": "2.0", "id": 1, "method": "message/send",
        "params": {"message": {"kind": "message", "messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "x"}]}}})).await;
    let task = &v["result"];
    assert_eq!(
        (&task["kind"], &task["status"]["state"]),
        (&json!("task"), &json!("completed")),
        "{v}"
    );
    assert_eq!(
        task["artifacts"][0]["parts"][0],
        json!({"kind": "text", "text": "Forecast for x: sunny, 28C"}),
        "{v}"
    );

    // Denied: 403 with a JSON-RPC error, for the SDK client too.
    let (status, v) = rpc(
        addr,
        "planner",
        PLANNING,
        "1.0",
        json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_i64()),
        (403, Some(-32000)),
        "{v}"
    );
    let err = client("venv-a2a", &planner_url, "Tampa", &[], PLANNING)
        .await
        .unwrap_err();
    assert!(
        err.contains("403")
            || err.to_lowercase().contains("forbidden")
            || err.contains("PERMISSION"),
        "{err}"
    );
    let (status, v) = rpc(
        addr,
        "weather-agent-v6",
        "system:serviceaccount:x:other",
        "",
        json!({"task": "x"}),
    )
    .await;
    assert_eq!(
        (status, &v["error"]),
        (
            403,
            &json!({"code": -32000, "message": "principal may not use agent 'weather-agent-v6'"})
        ),
        "{v}"
    );

    // The guide's curl, verbatim body, against the 0.3 agent and the 1.0 agent.
    let (status, v) = rpc(
        addr,
        "weather-agent-v6",
        PLANNING,
        "",
        json!({"task": "Get weather forecast for Tampa, FL this weekend"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["reply"],
        "Forecast for Get weather forecast for Tampa, FL this weekend: sunny, 28C"
    );
    assert_eq!(v["result"]["kind"], "task");
    let (status, v) = rpc(
        addr,
        "planner",
        ORCHESTRATOR,
        "",
        json!({"task": "Plan a weekend in Tampa"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["reply"],
        "Forecast for Plan a weekend in Tampa: sunny, 28C"
    );
    let sealed = v["result"]["task"]["id"].as_str().unwrap();
    let (_, v) = rpc(
        addr,
        "planner",
        ORCHESTRATOR,
        "1.0",
        json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": sealed}}),
    )
    .await;
    assert_eq!(
        v["result"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_subscribe_and_list_only_reach_the_callers_own_tasks() {
    let (_agent, base) = agent("venv-a2a", "weather", &["--compat"]).await;
    let (addr, _route, _stop) = serve(route(vec![(Some("weather".into()), base)], None)).await;
    let send = |principal: &'static str, text: &'static str, context: Option<String>| async move {
        let mut message =
            json!({"messageId": common_id(), "role": "ROLE_USER", "parts": [{"text": text}]});
        if let Some(c) = context {
            message["contextId"] = json!(c);
        }
        rpc(
            addr,
            "weather",
            principal,
            "1.0",
            json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": message, "configuration": {"returnImmediately": true}}}),
        )
        .await
        .1
    };
    let started = send("alice", "wait Tampa", None).await;
    let task = started["result"]["task"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let context = started["result"]["task"]["contextId"]
        .as_str()
        .unwrap()
        .to_string();

    // SubscribeToTask streams the task's events with the caller's tokens; another principal gets -32001.
    let stream = reqwest::Client::new()
        .post(format!("http://{addr}/agents/weather"))
        .header("x-test-principal", "alice")
        .header("a2a-version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "SubscribeToTask", "params": {"id": task}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .split(';')
            .next(),
        Some("text/event-stream")
    );
    let mut stream = stream;
    let first = String::from_utf8(stream.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains(&task) && first.contains(&context), "{first}");
    drop(stream);
    let (_, v) = rpc(
        addr,
        "weather",
        "bob",
        "1.0",
        json!({"jsonrpc": "2.0", "id": 3, "method": "SubscribeToTask", "params": {"id": task}}),
    )
    .await;
    assert_eq!(v["error"]["code"], -32001, "{v}");

    // ListTasks: by the caller's own conversation only.
    let list = |principal: &'static str, context: String| async move {
        rpc(addr, "weather", principal, "1.0", json!({"jsonrpc": "2.0", "id": 4, "method": "ListTasks", "params": {"contextId": context}})).await.1
    };
    let mine = list("alice", context.clone()).await;
    let tasks = mine["result"]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{mine}");
    // One task is one token in every answer: the list, the stream and GetTask show the ids SendMessage did.
    let listed = tasks[0]["id"].as_str().unwrap();
    assert_eq!(
        (listed, &tasks[0]["contextId"]),
        (task.as_str(), &json!(context))
    );
    assert_eq!(tasks[0]["history"][0]["taskId"], listed);
    let (_, v) = rpc(
        addr,
        "weather",
        "alice",
        "1.0",
        json!({"jsonrpc": "2.0", "id": 5, "method": "GetTask", "params": {"id": listed}}),
    )
    .await;
    assert_eq!(
        v["result"]["history"][0]["parts"][0]["text"], "wait Tampa",
        "{v}"
    );
    assert_eq!(
        (&v["result"]["id"], &v["result"]["contextId"]),
        (&json!(task), &json!(context))
    );
    // Another principal naming Alice's context reaches a conversation of his own: the agent lists nothing.
    let none = list("bob", context.clone()).await;
    assert_eq!(none["result"]["tasks"], json!([]), "{none}");

    // Two principals choosing the same contextId get separate conversations.
    let a = send("alice", "hello one", Some("conv-1".into())).await;
    let b = send("bob", "hello two", Some("conv-1".into())).await;
    let (ca, cb) = (
        a["result"]["message"]["contextId"].as_str().unwrap(),
        b["result"]["message"]["contextId"].as_str().unwrap(),
    );
    assert_ne!(ca, cb);
    let none = list("bob", ca.to_string()).await;
    assert_eq!(none["result"]["tasks"], json!([]), "{none}");

    // Cancel: refused for another principal, done for the owner (0.3 method through the compat switch).
    let (_, v) = rpc(
        addr,
        "weather",
        "bob",
        "",
        json!({"jsonrpc": "2.0", "id": 5, "method": "tasks/cancel", "params": {"id": task}}),
    )
    .await;
    assert_eq!(v["error"]["code"], -32001, "{v}");
    let (_, v) = rpc(
        addr,
        "weather",
        "alice",
        "",
        json!({"jsonrpc": "2.0", "id": 6, "method": "tasks/cancel", "params": {"id": task}}),
    )
    .await;
    assert_eq!(
        (
            v["result"]["status"]["state"].as_str(),
            v["result"]["id"].as_str()
        ),
        (Some("canceled"), Some(task.as_str())),
        "{v}"
    );
}

fn common_id() -> String {
    agent_gateway::core::seal::random_id()
}

/// Two agents whose cards claim the same name: calls would go silently to the first, and an agent could
/// take a name a2a-authz grants to another. Both are withheld; an agent with its own name is unaffected.
#[tokio::test]
async fn agents_claiming_one_name_are_both_withheld() {
    let (_a, first) = agent("venv-a2a03", "weather-agent", &[]).await;
    let (_b, second) = agent("venv-a2a03", "weather-agent", &[]).await;
    let (_c, planning) = agent("venv-a2a03", "planning-agent", &[]).await;
    let (addr, _route, _stop) = serve(route(
        vec![(None, first), (None, second), (None, planning)],
        None,
    ))
    .await;
    let list: Value = reqwest::get(format!("http://{addr}/agents"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["planning-agent"], "{list}");
    let (status, body) = rpc(addr, "weather-agent", ORCHESTRATOR, "0.3", send("Tampa")).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = rpc(addr, "planning-agent", ORCHESTRATOR, "0.3", send("Tampa")).await;
    assert_eq!(status, 200, "{body}");
}

/// Requests for names the caller may not use, or that no agent has, do not make the gateway fetch the
/// cards of agents it cannot name yet, once per request: a2a-authz answers first, and a request-driven
/// fetch happens at most once per agent in 10 s. The agent here fails its card on purpose (a stub).
#[tokio::test]
async fn unknown_names_do_not_fetch_cards_per_request() {
    let broken = common::stub::Stub::http()
        .start(|_| common::stub::Answer::status(503, "text/plain", "down"))
        .await;
    let authz = A2aAuthz {
        rules: vec![A2aAuthzRule {
            source: ORCHESTRATOR.into(),
            target: "*".into(),
            allowed: true,
        }],
    };
    let (addr, _route, _stop) = serve_as_is(route(
        vec![(None, format!("http://{}", broken.addr))],
        Some(authz),
    ))
    .await;
    // The background refresh's first round (both card paths) has had its chance.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = broken.requests().len();
    let asks = (0..40).map(|i| {
        let principal = if i % 2 == 0 { ORCHESTRATOR } else { PLANNING };
        async move {
            let name = format!("nobody-{i}");
            rpc(addr, &name, principal, "0.3", send("x")).await
        }
    });
    let answers = futures_util::future::join_all(asks).await;
    for (i, (status, body)) in answers.iter().enumerate() {
        let expected = if i % 2 == 0 { 404 } else { 403 };
        assert_eq!(*status, expected, "request {i}: {body}");
    }
    let fetched = broken.requests().len() - before;
    assert!(
        fetched <= 2,
        "40 requests for unknown names made {fetched} card requests (one fetch tries 2 paths)"
    );
}

/// A card's `Last-Modified` is when the gateway first saw it as it is: refreshing an unchanged card keeps
/// it, so clients revalidating with `If-Modified-Since` keep their copy.
#[tokio::test]
async fn an_unchanged_card_keeps_its_last_modified_across_refreshes() {
    let (_agent, base) = agent("venv-a2a", "weather", &[]).await;
    let (addr, route, _stop) = serve(route(vec![(None, base)], None)).await;
    let url = format!("http://{addr}/agents/weather/.well-known/agent-card.json");
    let modified = || async {
        let r = reqwest::get(&url).await.unwrap();
        r.headers()["last-modified"].to_str().unwrap().to_string()
    };
    let first = modified().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(route.refresh_cards().await.iter().all(Result::is_ok));
    assert_eq!(modified().await, first);
}

/// A 0.3 `message/send` of `text`.
fn send(text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": "m1", "role": "user", "parts": [{"kind": "text", "text": text}]}}})
}
