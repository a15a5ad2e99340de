//! What the gateway's objects must agree on, rendered or plain: names, labels, selectors, ports, probes, the
//! security context, RBAC, the ConfigMap and its mount, the session-key Secret, the optional objects, and the
//! gateway.yaml they carry.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::k8s_objects::{api_kind, check_typed, find, name_of, one, selects, str_map};
use crate::yaml::parse_one;
use crate::{read, root};

/// What the gateway's objects must agree on. Returns the ConfigMap's gateway.yaml.
pub(crate) fn check_gateway_objects(docs: &[Value], expect_secret: bool) -> String {
    for d in docs {
        check_typed(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let dep = one(docs, "Deployment");
    assert_eq!(name_of(dep), "agent-gateway");
    let pod = dep.pointer("/spec/template").unwrap();
    let pod_labels = str_map(pod.pointer("/metadata/labels"));
    assert_eq!(
        pod_labels.get("app").map(String::as_str),
        Some("agent-gateway")
    );
    let dep_selector = str_map(dep.pointer("/spec/selector/matchLabels"));
    assert!(selects(&dep_selector, &pod_labels), "Deployment selector");

    let containers = pod.pointer("/spec/containers").unwrap().as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let ports: BTreeMap<String, i64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["containerPort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ports.get("http"), Some(&8080));
    assert_eq!(ports.get("metrics"), Some(&9090));
    for probe in ["livenessProbe", "readinessProbe"] {
        let port = &c[probe]["httpGet"]["port"];
        let port = port
            .as_i64()
            .or_else(|| port.as_str().and_then(|n| ports.get(n).copied()));
        assert_eq!(port, Some(8080), "{probe} port");
    }
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(c["resources"]["requests"].is_object() && c["resources"]["limits"].is_object());

    // Security context: non-root, read-only, no capabilities, RuntimeDefault seccomp.
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    let psc = pod.pointer("/spec/securityContext").unwrap();
    assert_eq!(psc["runAsNonRoot"], true);
    assert_ne!(psc["runAsUser"], 0);

    // Service: named after the release, selects the pods, ports 8080 and 9090 onto the named container ports.
    let svc = one(docs, "Service");
    assert_eq!(name_of(svc), "agent-gateway");
    assert!(
        selects(&str_map(svc.pointer("/spec/selector")), &pod_labels),
        "Service selector"
    );
    let mut svc_ports = Vec::new();
    for p in svc.pointer("/spec/ports").unwrap().as_array().unwrap() {
        let target = &p["targetPort"];
        let target = target
            .as_i64()
            .or_else(|| target.as_str().and_then(|n| ports.get(n).copied()));
        assert_eq!(
            target,
            p["port"].as_i64(),
            "Service port {} targets the same container port",
            p["port"]
        );
        svc_ports.push(p["port"].as_i64().unwrap());
    }
    assert_eq!(svc_ports, vec![8080, 9090]);

    // ServiceAccount and the token-reviewer RBAC of the guide's step 2.
    let sa = one(docs, "ServiceAccount");
    assert_eq!(name_of(sa), "agent-gateway");
    assert_eq!(
        pod.pointer("/spec/serviceAccountName"),
        Some(&json!("agent-gateway"))
    );
    let role = one(docs, "ClusterRole");
    assert_eq!(name_of(role), "agent-gateway-token-reviewer");
    let reviews = role["rules"].as_array().unwrap().iter().any(|r| {
        r["apiGroups"] == json!(["authentication.k8s.io"])
            && r["resources"] == json!(["tokenreviews"])
            && r["verbs"].as_array().unwrap().contains(&json!("create"))
    });
    assert!(reviews, "ClusterRole grants tokenreviews create");
    let crb = one(docs, "ClusterRoleBinding");
    assert_eq!(crb["roleRef"]["name"], json!(name_of(role)));
    assert_eq!(crb["roleRef"]["kind"], "ClusterRole");
    assert_eq!(
        crb["subjects"],
        json!([{"kind": "ServiceAccount", "name": "agent-gateway", "namespace": "agent-gateway"}])
    );

    // ConfigMap: key gateway.yaml, mounted as a directory at the path the container args name.
    // The gateway's config (a registry lock, when enabled, has a ConfigMap of its own).
    let cm = find(docs, "ConfigMap")
        .into_iter()
        .find(|c| name_of(c).ends_with("-config"))
        .expect("the gateway's ConfigMap");
    assert_eq!(name_of(cm), "agent-gateway-config");
    let volumes = pod.pointer("/spec/volumes").unwrap().as_array().unwrap();
    let config_vol = volumes
        .iter()
        .find(|v| v["configMap"]["name"] == json!(name_of(cm)))
        .expect("a volume of the ConfigMap");
    assert_eq!(
        config_vol["configMap"]["items"],
        json!([{"key": "gateway.yaml", "path": "gateway.yaml"}])
    );
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == config_vol["name"])
        .expect("the config volume is mounted");
    assert!(
        mount.get("subPath").is_none(),
        "a subPath mount would not see ConfigMap updates"
    );
    let config_path = format!("{}/gateway.yaml", mount["mountPath"].as_str().unwrap());
    assert_eq!(config_path, "/etc/agent-gateway/gateway.yaml");
    assert_eq!(
        c["args"],
        json!(["run", "--config", config_path, "--log-format", "json"]),
        "container args"
    );

    // The session key: env from the Secret, whose value is 32 bytes in base64.
    let env = c["env"].as_array().unwrap();
    let key_env = env
        .iter()
        .find(|e| e["name"] == "AGENT_GATEWAY_SESSION_KEY")
        .expect("AGENT_GATEWAY_SESSION_KEY");
    let key_ref = &key_env["valueFrom"]["secretKeyRef"];
    assert_eq!(key_ref["name"], "agent-gateway-session-key");
    assert_eq!(key_ref["key"], "session-key");
    let secrets = find(docs, "Secret");
    if expect_secret {
        assert_eq!(secrets.len(), 1);
        let s = secrets[0];
        assert_eq!(name_of(s), "agent-gateway-session-key");
        let stored = s["data"]["session-key"].as_str().expect("data.session-key");
        let env_value = B64.decode(stored).expect("Secret data is base64");
        let key = B64.decode(&env_value).expect("the env value is base64");
        assert_eq!(key.len(), 32, "the session key is 32 bytes");
    } else {
        assert!(
            secrets.is_empty(),
            "plain manifests must not carry a session key"
        );
    }

    // Optional objects select the same pods and target the same Deployment and ports.
    for pdb in find(docs, "PodDisruptionBudget") {
        assert!(
            selects(
                &str_map(pdb.pointer("/spec/selector/matchLabels")),
                &pod_labels
            ),
            "PDB"
        );
    }
    for hpa in find(docs, "HorizontalPodAutoscaler") {
        assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], json!(name_of(dep)));
        assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
        assert_eq!(hpa["spec"]["minReplicas"], 2);
        assert_eq!(hpa["spec"]["maxReplicas"], 10);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            70
        );
    }
    for np in find(docs, "NetworkPolicy") {
        assert!(
            selects(
                &str_map(np.pointer("/spec/podSelector/matchLabels")),
                &pod_labels
            ),
            "NetworkPolicy"
        );
        assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 8080);
        let egress = np["spec"]["egress"].to_string();
        assert!(egress.contains("\"port\":53"), "NetworkPolicy allows DNS");
    }
    let svc_labels = str_map(svc.pointer("/metadata/labels"));
    for sm in find(docs, "ServiceMonitor") {
        assert_eq!(api_kind(sm).0, "monitoring.coreos.com/v1");
        assert!(
            selects(
                &str_map(sm.pointer("/spec/selector/matchLabels")),
                &svc_labels
            ),
            "ServiceMonitor"
        );
        assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
        assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
    }
    for pr in find(docs, "PrometheusRule") {
        let alerts = parse_one(
            &read(&root().join("deploy/prometheus/alerts.yaml")),
            "alerts.yaml",
        );
        assert_eq!(
            pr["spec"]["groups"], alerts["groups"],
            "PrometheusRule groups = deploy/prometheus/alerts.yaml"
        );
        let keys: Vec<&String> = pr["spec"].as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["groups"]);
    }
    for d in docs {
        let ns = d.pointer("/metadata/namespace").and_then(Value::as_str);
        let cluster_scoped = matches!(
            api_kind(d).1.as_str(),
            "ClusterRole" | "ClusterRoleBinding" | "Namespace"
        );
        assert_eq!(ns.is_none(), cluster_scoped, "{}: namespace", name_of(d));
        if let Some(ns) = ns {
            assert_eq!(ns, "agent-gateway");
        }
    }

    let gateway_yaml = cm["data"]["gateway.yaml"]
        .as_str()
        .expect("data.gateway.yaml")
        .to_string();
    let loaded =
        agent_gateway::config::load_str(&gateway_yaml, "gateway.yaml").unwrap_or_else(|d| {
            let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
            panic!(
                "gateway.yaml is invalid:\n{}\n---\n{gateway_yaml}",
                lines.join("\n")
            )
        });
    let bind_ports: Vec<u16> = loaded.config.binds.iter().map(|b| b.port).collect();
    assert_eq!(
        bind_ports,
        vec![8080],
        "the bind port is the container's http port"
    );
    // Kubernetes sends SIGTERM, waits terminationGracePeriodSeconds, then sends SIGKILL: the gateway's drain
    // (its grace period, then up to a second to close what is left) must fit in between.
    let termination = pod
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_u64)
        .expect("the pod sets terminationGracePeriodSeconds");
    let drain = loaded.config.shutdown.grace_period + std::time::Duration::from_secs(1);
    assert!(
        drain < std::time::Duration::from_secs(termination),
        "shutdown.gracePeriod {:?} does not fit in terminationGracePeriodSeconds {termination}",
        loaded.config.shutdown.grace_period
    );
    if let Some(prom) = loaded
        .config
        .observability
        .as_ref()
        .and_then(|o| o.prometheus.as_ref())
    {
        assert_eq!(i64::from(prom.port), ports["metrics"], "metrics port");
    }
    gateway_yaml
}

pub(crate) fn policy_types(gateway_yaml: &str) -> Vec<String> {
    let g = parse_one(gateway_yaml, "gateway.yaml");
    let mut out = Vec::new();
    for l in g["binds"][0]["listeners"].as_array().unwrap() {
        for r in l["routes"].as_array().unwrap() {
            for p in r["policies"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{}:{}",
                    r["name"].as_str().unwrap(),
                    p["type"].as_str().unwrap()
                ));
            }
        }
    }
    out
}
