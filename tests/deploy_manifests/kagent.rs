//! deploy/kagent against the excerpt of KAgent's CRD schemas, and its resources against each other and the
//! gateway's rendered config.

use serde_json::{Value, json};

use crate::chart_render::{render_chart, rendered_docs};
use crate::k8s_objects::{api_kind, check_typed, name_of, one};
use crate::yaml::{parse_docs, parse_one};
use crate::{read, root, walk};

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_schema(v: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let actual = json_type(v);
        let ok = actual == t || (t == "number" && actual == "integer");
        if !ok {
            problems.push(format!("{at}: expected {t}, found {actual}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        problems.push(format!("{at}: {v} is not one of {e:?}"));
    }
    for (k, cmp) in [("maxLength", 1), ("minLength", -1)] {
        if let (Some(n), Some(s)) = (schema.get(k).and_then(Value::as_u64), v.as_str()) {
            let len = s.chars().count() as u64;
            if (cmp == 1 && len > n) || (cmp == -1 && len < n) {
                problems.push(format!("{at}: {k} {n}"));
            }
        }
    }
    if let Some(n) = schema.get("maxItems").and_then(Value::as_u64)
        && v.as_array().is_some_and(|a| a.len() as u64 > n)
    {
        problems.push(format!("{at}: more than {n} items"));
    }
    if schema.get("x-excerpt").is_some() {
        problems.push(format!(
            "{at}: the schema excerpt left this field out; regenerate it"
        ));
    }
    if let Value::Object(obj) = v {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                problems.push(format!("{at}: missing required field {r}"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, sub) in obj {
                match props.get(k) {
                    Some(s) => check_schema(sub, s, &format!("{at}.{k}"), problems),
                    None => problems.push(format!(
                        "{at}.{k}: no such field (known: {:?})",
                        props.keys()
                    )),
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check_schema(item, item_schema, &format!("{at}[{i}]"), problems);
        }
    }
}

fn kagent_docs() -> Vec<(String, Value)> {
    let dir = root().join("deploy/kagent");
    let mut out = Vec::new();
    for p in walk(&dir) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".yaml") || name == "kagent-values.yaml" {
            continue;
        }
        for d in parse_docs(&read(&p), &name) {
            out.push((name.clone(), d));
        }
    }
    out
}

#[test]
fn kagent_resources_match_kagents_crds() {
    let excerpt: Value = serde_json::from_str(&read(
        &root().join("tests/fixtures/deploy/kagent-v0.9.12-crd-excerpt.json"),
    ))
    .unwrap();
    let docs = kagent_docs();
    let mut problems = Vec::new();
    let mut custom = 0;
    for (file, d) in &docs {
        if check_typed(d).unwrap_or_else(|e| panic!("{file}: {e}")) {
            continue;
        }
        let (api, kind) = api_kind(d);
        let k = &excerpt["kinds"][&kind];
        assert!(
            k.is_object(),
            "{file}: {kind} is not a KAgent kind of the excerpt"
        );
        assert_eq!(k["apiVersion"], json!(api), "{file}: {kind} apiVersion");
        assert_eq!(k["served"], true);
        let mut body = d.clone();
        // metadata is ObjectMeta; check it as such.
        let meta = body.as_object_mut().unwrap().remove("metadata").unwrap();
        serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(
            meta.clone(),
        )
        .unwrap();
        let mut with_meta = body.clone();
        with_meta["metadata"] = json!({});
        check_schema(
            &with_meta,
            &k["schema"],
            &format!("{file}: {kind} {}", name_of(d)),
            &mut problems,
        );
        custom += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(custom, 3, "RemoteMCPServer and two Agents");

    // The guide's invented fields must not be used anywhere.
    let mut keys = Vec::new();
    for (_, d) in docs
        .iter()
        .filter(|(_, d)| api_kind(d).0.starts_with("kagent.dev/"))
    {
        collect_keys(d, &mut keys);
    }
    for invented in [
        "endpoint",
        "authentication",
        "headers",
        "agents",
        "capabilities",
    ] {
        assert!(
            !keys.iter().any(|k| k == invented),
            "deploy/kagent uses {invented}, which KAgent does not have"
        );
    }
}

fn collect_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                collect_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_keys(x, out)),
        _ => {}
    }
}

#[test]
fn kagent_resources_agree_with_each_other_and_the_gateway() {
    let docs: Vec<Value> = kagent_docs().into_iter().map(|(_, d)| d).collect();
    let by = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| api_kind(d).1 == kind && name_of(d) == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let rmcp = one(&docs, "RemoteMCPServer");
    assert_eq!(
        rmcp["spec"]["url"],
        "http://agent-gateway.agent-gateway.svc.cluster.local:8080/mcp"
    );
    assert_eq!(rmcp["spec"]["protocol"], "STREAMABLE_HTTP");

    // Every header from a Secret names a Secret and key that exist, and carries a bearer token.
    let mut refs = Vec::new();
    for d in &docs {
        collect_header_refs(d, &mut refs);
    }
    assert_eq!(refs.len(), 2, "{refs:?}");
    for (header, secret, key) in &refs {
        assert_eq!(header, "Authorization");
        let s = by("Secret", secret);
        let v = s["stringData"][key]
            .as_str()
            .expect("the Secret has the key");
        assert!(v.starts_with("Bearer "));
    }

    // The weather agent's tools: the gateway's RemoteMCPServer, the guide's six tools.
    let weather = by("Agent", "weather-agent-v6");
    let tool = &weather["spec"]["declarative"]["tools"][0];
    assert_eq!(tool["type"], "McpServer");
    assert_eq!(tool["mcpServer"]["kind"], "RemoteMCPServer");
    assert_eq!(tool["mcpServer"]["apiGroup"], "kagent.dev");
    assert_eq!(tool["mcpServer"]["name"], json!(name_of(rmcp)));
    let gateway = rendered_docs(&render_chart(&[]));
    let cm = one(&gateway, "ConfigMap");
    let g = parse_one(cm["data"]["gateway.yaml"].as_str().unwrap(), "gateway.yaml");
    let rule = &g["binds"][0]["listeners"][0]["routes"][0]["policies"][1]["mcp"]["rules"][0];
    assert_eq!(
        tool["mcpServer"]["toolNames"], rule["allowedTools"],
        "the tools the gateway allows"
    );
    let sa = weather["spec"]["declarative"]["deployment"]["serviceAccountName"]
        .as_str()
        .unwrap();
    by("ServiceAccount", sa);
    assert_eq!(
        rule["principal"],
        json!(format!("system:serviceaccount:agent-core-infra:{sa}"))
    );

    // The planning agent calls the weather agent as a tool.
    let planner = by("Agent", "planning-agent");
    let tool = &planner["spec"]["declarative"]["tools"][0];
    assert_eq!(tool["type"], "Agent");
    assert_eq!(tool["agent"]["name"], json!(name_of(weather)));
    let planner_sa = planner["spec"]["declarative"]["deployment"]["serviceAccountName"]
        .as_str()
        .unwrap();
    let a2a_rule = &g["binds"][0]["listeners"][1]["routes"][0]["policies"][1]["a2a"]["rules"][0];
    assert_eq!(
        a2a_rule["source"],
        json!(format!(
            "system:serviceaccount:agent-core-infra:{planner_sa}"
        ))
    );
    assert_eq!(a2a_rule["target"], json!(name_of(weather)));

    // The refresher mints tokens with the gateway's audience for exactly these ServiceAccounts and Secrets.
    let cron = one(&docs, "CronJob");
    let script = cron
        .pointer("/spec/jobTemplate/spec/template/spec/containers/0/args/0")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(script.contains("--audience agent-gateway"));
    let role = one(&docs, "Role");
    let names = |res: &str| -> Vec<String> {
        let rule = role["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resources"] == json!([res]))
            .unwrap();
        rule["resourceNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    };
    for (_, secret, _) in &refs {
        assert!(
            script.contains(secret.as_str()) && names("secrets").contains(secret),
            "{secret}"
        );
    }
    for sa in [sa, planner_sa] {
        assert!(
            script.contains(sa) && names("serviceaccounts/token").contains(&sa.to_string()),
            "{sa}"
        );
    }
    for agent in [name_of(weather), name_of(planner)] {
        assert!(names("agents").contains(&agent.to_string()), "{agent}");
    }
    let binding = one(&docs, "RoleBinding");
    assert_eq!(binding["roleRef"]["name"], json!(name_of(role)));
    let runner = cron
        .pointer("/spec/jobTemplate/spec/template/spec/serviceAccountName")
        .unwrap();
    assert_eq!(binding["subjects"][0]["name"], *runner);
    by("ServiceAccount", runner.as_str().unwrap());
}

fn collect_header_refs(v: &Value, out: &mut Vec<(String, String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(list) = m.get("headersFrom").and_then(Value::as_array) {
                for h in list {
                    if h["valueFrom"]["type"] == "Secret" {
                        out.push((
                            h["name"].as_str().unwrap().into(),
                            h["valueFrom"]["name"].as_str().unwrap().into(),
                            h["valueFrom"]["key"].as_str().unwrap().into(),
                        ));
                    }
                }
            }
            m.values().for_each(|x| collect_header_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_header_refs(x, out)),
        _ => {}
    }
}
