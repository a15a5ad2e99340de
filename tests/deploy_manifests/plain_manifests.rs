//! deploy/kubernetes is the chart rendered with default values (`UPDATE_DEPLOY_MANIFESTS=1` rewrites it), and
//! holds nothing this test does not check.

use crate::chart_render::{ALL_OPTIONAL, render_chart};
use crate::gateway_objects::check_gateway_objects;
use crate::k8s_objects::{check_typed, name_of};
use crate::yaml::parse_docs;
use crate::{read, root, walk};

const PLAIN_HEADER: &str = "# Generated from deploy/helm/agentgateway with its default values (release agent-gateway, namespace\n# agent-gateway) by tests/deploy_manifests/plain_manifests.rs; UPDATE_DEPLOY_MANIFESTS=1 cargo test --test deploy_manifests\n# rewrites it. Edit the chart, not this file.\n";

/// The plain file for each rendered template: core objects in deploy/kubernetes, optional ones in optional/.
fn plain_layout() -> Vec<(String, Vec<String>)> {
    vec![
        (
            "agent-gateway.yaml".into(),
            [
                "serviceaccount.yaml",
                "clusterrole.yaml",
                "clusterrolebinding.yaml",
                "configmap.yaml",
                "service.yaml",
                "deployment.yaml",
                "pdb.yaml",
            ]
            .map(String::from)
            .to_vec(),
        ),
        ("optional/hpa.yaml".into(), vec!["hpa.yaml".into()]),
        (
            "optional/networkpolicy.yaml".into(),
            vec!["networkpolicy.yaml".into()],
        ),
        (
            "optional/servicemonitor.yaml".into(),
            vec!["servicemonitor.yaml".into()],
        ),
        (
            "optional/prometheusrule.yaml".into(),
            vec!["prometheusrule.yaml".into()],
        ),
    ]
}

fn expected_plain() -> Vec<(String, String)> {
    let defaults = render_chart(&[]);
    let optional = render_chart(ALL_OPTIONAL);
    plain_layout()
        .into_iter()
        .map(|(file, templates)| {
            let source = if file.starts_with("optional/") {
                &optional
            } else {
                &defaults
            };
            let mut text = PLAIN_HEADER.to_string();
            for t in &templates {
                let r = source.iter().find(|r| &r.name == t).unwrap();
                text += &format!(
                    "---\n# Source: agentgateway/templates/{t}\n{}\n",
                    r.text.trim()
                );
            }
            (file, text)
        })
        .collect()
}

#[test]
fn plain_manifests_match_the_chart() {
    let dir = root().join("deploy/kubernetes");
    let expected = expected_plain();
    if std::env::var_os("UPDATE_DEPLOY_MANIFESTS").is_some() {
        for (file, text) in &expected {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
    }
    let mut all = Vec::new();
    for (file, text) in &expected {
        let actual = read(&dir.join(file));
        let a = parse_docs(&actual, file);
        assert_eq!(
            a,
            parse_docs(text, file),
            "deploy/kubernetes/{file} differs from the chart's rendering"
        );
        all.extend(a);
    }
    // The namespace file, and nothing else unaccounted for.
    let ns_docs = parse_docs(&read(&dir.join("namespace.yaml")), "namespace.yaml");
    assert_eq!(ns_docs.len(), 1);
    check_typed(&ns_docs[0]).unwrap();
    assert_eq!(name_of(&ns_docs[0]), "agent-gateway");
    let mut listed: Vec<String> = expected.iter().map(|(f, _)| f.clone()).collect();
    listed.push("namespace.yaml".into());
    for entry in walk(&dir) {
        let rel = entry
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if rel.ends_with(".yaml") {
            assert!(
                listed.contains(&rel),
                "deploy/kubernetes/{rel} is not checked by this test"
            );
        }
    }
    check_gateway_objects(&all, false);
}
