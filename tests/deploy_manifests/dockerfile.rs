//! The container image: deploy/Dockerfile is multi-stage and non-root, and its default command is the one the
//! Deployment runs.

use serde_json::Value;

use crate::chart_render::{render_chart, rendered_docs};
use crate::k8s_objects::one;
use crate::read;
use crate::root;

#[test]
fn dockerfile_is_multi_stage_and_non_root() {
    let d = read(&root().join("deploy/Dockerfile"));
    let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].starts_with("FROM rust:") && froms[0].ends_with(" AS builder"));
    assert_eq!(froms[1], "FROM gcr.io/distroless/cc-debian12:nonroot");
    assert!(d.contains("\nUSER 65532:65532\n"));
    assert!(d.contains("\nENTRYPOINT [\"/agent-gateway\"]\n"));
    let ignore = read(&root().join(".dockerignore"));
    for p in ["target/", ".tools/", ".git/"] {
        assert!(ignore.lines().any(|l| l == p), ".dockerignore lacks {p}");
    }
    // The image's default command is the one the Deployment runs.
    let docs = rendered_docs(&render_chart(&[]));
    let dep = one(&docs, "Deployment");
    let args = dep
        .pointer("/spec/template/spec/containers/0/args")
        .unwrap();
    let cmd_line = d.lines().find(|l| l.starts_with("CMD ")).unwrap();
    let cmd: Value = serde_json::from_str(cmd_line.trim_start_matches("CMD ")).unwrap();
    assert_eq!(&cmd, args);
}
