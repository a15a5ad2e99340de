//! The Helm chart's renderings: as the guide installs it, with the registry lock, with its flags switched, with
//! its defaults; and its copy of the Prometheus alert rules.

use serde_json::{Value, json};

use crate::chart_render::{ALL_OPTIONAL, GUIDE_SETS, render_chart, rendered_docs};
use crate::gateway_objects::{check_gateway_objects, policy_types};
use crate::k8s_objects::{find, name_of, one};
use crate::yaml::parse_one;
use crate::{chart_dir, read, root};

#[test]
fn chart_renders_as_the_guide_installs_it() {
    let files = render_chart(GUIDE_SETS);
    let docs = rendered_docs(&files);
    let gateway_yaml = check_gateway_objects(&docs, true);
    let g = parse_one(&gateway_yaml, "gateway.yaml");
    let jwt = &g["binds"][0]["listeners"][0]["routes"][0]["policies"][0];
    assert_eq!(jwt["type"], "jwt-authn");
    assert_eq!(
        jwt["jwt"]["jwksUri"],
        "https://kubernetes.default.svc/openid/v1/jwks"
    );
    assert_eq!(jwt["jwt"]["audiences"], json!(["agent-gateway"]));
    let types = policy_types(&gateway_yaml);
    assert!(
        types.contains(&"agent-to-mcp-tools:mcp-authz".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"agent-to-agent:jwt-authn".to_string()),
        "{types:?}"
    );
    assert_eq!(g["observability"]["prometheus"]["port"], 9090);
    assert_eq!(g["observability"]["opentelemetry"]["enabled"], true);
    let backend = &g["binds"][0]["listeners"][0]["routes"][0]["backends"][0];
    assert!(
        backend["address"].as_str().unwrap().contains("set-me"),
        "the MCP backend is a placeholder to set"
    );
}

/// `registry.enabled` with the repository's own lock: the lock lands in a ConfigMap mounted read-only at
/// the path the generated gateway.yaml names, with the mode asked for.
#[test]
fn chart_mounts_the_registry_lock() {
    let lock = read(&root().join("registry/lock.json"));
    let sets = [
        ("registry.enabled", "true"),
        ("registry.mode", "warn"),
        ("registry.lock", lock.as_str()),
    ];
    let docs = rendered_docs(&render_chart(&sets));
    let g = parse_one(&check_gateway_objects(&docs, true), "gateway.yaml");
    assert_eq!(
        g["registry"],
        serde_json::json!({"path": "/etc/agent-gateway-registry", "mode": "warn"})
    );
    let configmap = find(&docs, "ConfigMap")
        .into_iter()
        .find(|c| name_of(c) == "agent-gateway-registry")
        .expect("the registry ConfigMap");
    // The mounted file is the lock byte for byte (its signature covers the bytes).
    assert_eq!(configmap["data"]["lock.json"].as_str(), Some(lock.as_str()));
    let pod = &one(&docs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "registry")
            .unwrap()["configMap"]["name"],
        "agent-gateway-registry"
    );
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    let mount = mounts
        .iter()
        .find(|m| m["name"] == "registry")
        .expect("the registry mount");
    assert_eq!(
        (&mount["mountPath"], &mount["readOnly"]),
        (&g["registry"]["path"], &Value::Bool(true))
    );
    // Signed: the public key in the config, the signature beside the lock, and the mounted pair verifies.
    let dir = std::env::temp_dir().join(format!("agw-chart-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lock.json"), &lock).unwrap();
    let (private, public) = agent_gateway::registry::signature::keygen();
    agent_gateway::registry::signature::sign(&dir, &private).unwrap();
    let signature = read(&dir.join("lock.json.sig"));
    let sets = [
        ("registry.enabled", "true"),
        ("registry.lock", lock.as_str()),
        ("registry.publicKey", public.as_str()),
        ("registry.signature", signature.as_str()),
    ];
    let docs = rendered_docs(&render_chart(&sets));
    let g = parse_one(&check_gateway_objects(&docs, true), "gateway.yaml");
    assert_eq!(g["registry"]["publicKey"], public.as_str());
    let configmap = find(&docs, "ConfigMap")
        .into_iter()
        .find(|c| name_of(c) == "agent-gateway-registry")
        .expect("the registry ConfigMap");
    let mounted = dir.join("mounted");
    std::fs::create_dir_all(&mounted).unwrap();
    for file in ["lock.json", "lock.json.sig"] {
        std::fs::write(
            mounted.join(file),
            configmap["data"][file].as_str().unwrap(),
        )
        .unwrap();
    }
    let key = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &public).unwrap();
    agent_gateway::registry::signature::verify(&mounted, &key).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // Off by default: nothing of it is rendered.
    let docs = rendered_docs(&render_chart(&[]));
    assert!(
        parse_one(&check_gateway_objects(&docs, true), "gateway.yaml")
            .get("registry")
            .is_none()
    );
    assert!(
        find(&docs, "ConfigMap")
            .iter()
            .all(|c| name_of(c) != "agent-gateway-registry")
    );
}

#[test]
fn chart_flags_switch_sections() {
    let off = [
        ("observability.enabled", "false"),
        ("security.jwt.enabled", "false"),
        ("security.mcp.enabled", "false"),
    ];
    let docs = rendered_docs(&render_chart(&off));
    let gateway_yaml = check_gateway_objects(&docs, true);
    let types = policy_types(&gateway_yaml);
    assert!(
        !types
            .iter()
            .any(|t| t.ends_with("jwt-authn") || t.ends_with("mcp-authz")),
        "{types:?}"
    );
    assert!(
        parse_one(&gateway_yaml, "gateway.yaml")
            .get("observability")
            .is_none()
    );

    let only_metrics = [("observability.opentelemetry.enabled", "false")];
    let docs = rendered_docs(&render_chart(&only_metrics));
    let g = parse_one(&check_gateway_objects(&docs, true), "gateway.yaml");
    assert_eq!(g["observability"]["opentelemetry"]["enabled"], false);

    // Every optional object on, with the guide's flags.
    let sets: Vec<(&str, &str)> = GUIDE_SETS.iter().chain(ALL_OPTIONAL).copied().collect();
    let docs = rendered_docs(&render_chart(&sets));
    check_gateway_objects(&docs, true);
    for kind in [
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ServiceMonitor",
        "PrometheusRule",
    ] {
        one(&docs, kind);
    }
}

#[test]
fn chart_defaults_leave_optional_objects_off() {
    let docs = rendered_docs(&render_chart(&[]));
    for kind in [
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "ServiceMonitor",
        "PrometheusRule",
    ] {
        assert!(find(&docs, kind).is_empty(), "{kind} is off by default");
    }
    one(&docs, "PodDisruptionBudget");
}

#[test]
fn chart_alert_rules_are_the_prometheus_ones() {
    let ours = parse_one(
        &read(&chart_dir().join("files/alerts.yaml")),
        "files/alerts.yaml",
    );
    let theirs = parse_one(
        &read(&root().join("deploy/prometheus/alerts.yaml")),
        "alerts.yaml",
    );
    assert_eq!(
        ours, theirs,
        "copy deploy/prometheus/alerts.yaml to deploy/helm/agentgateway/files/"
    );
}
