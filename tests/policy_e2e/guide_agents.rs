//! The guide's agent-to-agent flow through its a2a-listener, with its two principals, and the metrics it
//! leaves.

use std::net::SocketAddr;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::common;
use crate::guide::{GUIDE_SERIAL, guide_yaml};
use crate::identity_common::{JwksServer, TestKey, sa_claims, with};

/// The guide's step 7 flow through its a2a-listener: the planning agent may call the weather agent, the
/// orchestrator any agent, anyone else none; agents are named by their cards (the guide gives no names).
#[tokio::test]
async fn guide_agent_to_agent_flow_with_its_two_principals() {
    let serial = GUIDE_SERIAL.lock().await;
    let start = |name: &'static str| common::a2a_agent("venv-a2a", name, &["--compat"]);
    let ((_weather, weather), (_planning, planning)) =
        tokio::join!(start("weather-agent-v6"), start("planning-agent"));
    let upstream = common::gateway(&common::route_yaml("- name: sample\n  type: sample\n")).await;
    let key = TestKey::load("rsa-a", Algorithm::RS256);
    let jwks = JwksServer::start(&[&key]).await;
    let yaml = guide_yaml(&jwks.url(), upstream.addr);
    let yaml = common::guide::substitute(
        &yaml,
        "http://weather-agent-service.agent-core-infra.svc.cluster.local:8080",
        &weather,
        1,
    );
    let yaml = common::guide::substitute(
        &yaml,
        "http://planning-agent-service.agent-core-infra.svc.cluster.local:8080",
        &planning,
        1,
    );
    let loaded = agent_gateway::config::load_str(&yaml, "examples/eks/config.yaml")
        .unwrap_or_else(|d| panic!("{d:?}"));
    let running = agent_gateway::gateway::runtime::start(&loaded.config)
        .await
        .unwrap();
    let front = common::Gateway {
        addr: SocketAddr::from(([127, 0, 0, 1], running.addresses[0].port())),
        running,
    };
    common::wait_ready(&front.url("/readyz")).await;
    let token = |sub: &str| {
        format!(
            "Bearer {}",
            key.sign(&with(sa_claims(), json!({ "sub": sub })))
        )
    };
    let planning_sa = token("system:serviceaccount:agent-core-infra:planning-agent-sa");
    let orchestrator = token("system:serviceaccount:agent-core-infra:orchestrator-agent-sa");
    let weather_sa = token("system:serviceaccount:agent-core-infra:ekspoc-v6-kagent-agent-sa");

    // The guide's curl, verbatim body.
    let task = json!({"task": "Get weather forecast for Tampa, FL this weekend"});
    let url = front.url("/agents/weather-agent-v6");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let reply = loop {
        let reply = common::post_json(&url, &[("authorization", &planning_sa)], &task).await;
        // Agent names come from cards fetched at start; allow the first fetch to land.
        if reply.status != 404 || tokio::time::Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.json()["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("Tampa"),
        "{}",
        reply.text
    );

    let to_planning = common::post_json(
        &front.url("/agents/planning-agent"),
        &[("authorization", &planning_sa)],
        &task,
    )
    .await;
    assert_eq!(
        to_planning.error(),
        (
            403,
            -32000,
            "principal may not use agent 'planning-agent'".into()
        ),
        "the planning agent may call only the weather agent"
    );
    let by_orchestrator = common::post_json(
        &front.url("/agents/planning-agent"),
        &[("authorization", &orchestrator)],
        &task,
    )
    .await;
    assert_eq!(by_orchestrator.status, 200, "{}", by_orchestrator.text);
    assert_eq!(
        common::post_json(&url, &[("authorization", &weather_sa)], &task)
            .await
            .error(),
        (
            403,
            -32000,
            "principal may not use agent 'weather-agent-v6'".into()
        ),
        "no rule: denied"
    );
    assert_eq!(
        common::post_json(&url, &[], &task).await.error(),
        (401, -32600, "Unauthorized: no bearer token".into())
    );

    let listed: Value = reqwest::Client::new()
        .get(front.url("/agents"))
        .header("authorization", &planning_sa)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["weather-agent-v6"]);

    // Agent calls and denials are counted (the process-wide registry: assert what this test added).
    let metrics = reqwest::get(format!("http://{}/metrics", front.running.metrics.unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |fragments: &[&str]| -> f64 {
        metrics
            .lines()
            .filter(|l| fragments.iter().all(|f| l.contains(f)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(
        count(&[
            "a2a_calls_total{",
            "planning-agent-sa",
            "status=\"ok\"",
            "target=\"weather-agent-v6\""
        ]) >= 1.0,
        "{metrics}"
    );
    assert!(
        count(&["a2a_calls_total{", "status=\"denied\""]) >= 2.0,
        "{metrics}"
    );
    assert!(
        count(&[
            "agent_gateway_authz_denials_total{",
            "kind=\"agent\"",
            "route=\"agent-to-agent\""
        ]) >= 2.0,
        "{metrics}"
    );
    drop(serial);
}
