//! Static checks of the deployment files (no cluster and no `helm` binary on these machines).
//!
//! - The Helm chart in deploy/helm/agentgateway is rendered by a small renderer for exactly the template subset the
//!   chart uses (it fails on anything else), with its default values, with the guide's `--set` flags, and with
//!   every optional object switched on.
//! - Every rendered and every plain manifest (deploy/kubernetes, deploy/kagent) of a built-in kind is parsed into
//!   its k8s-openapi type and serialized back; a field of the input missing from the output (a field the type does
//!   not know, which serde would silently drop) fails the test.
//! - Names, labels, ports, selectors, the ConfigMap key and mount path, the Secret key and the container args are
//!   checked to agree across objects; the ConfigMap's gateway.yaml goes through `config::load_str`.
//! - deploy/kubernetes must equal what the chart renders with default values (`UPDATE_DEPLOY_MANIFESTS=1`
//!   rewrites it).
//! - KAgent resources are checked against an excerpt of KAgent's v0.9.12 CRD schemas
//!   (tests/fixtures/deploy/kagent-v0.9.12-crd-excerpt.json): kinds, apiVersions, field names, types, enums and
//!   required fields. CEL rules (x-kubernetes-validations) are not evaluated.
//!
//! Where things are: `yaml` (YAML to JSON values), `template_syntax` and `template_eval` (the template renderer),
//! `chart_render` (the chart rendered as `helm install` would), `k8s_objects` (typed round trip, finding objects),
//! `gateway_objects` (what the gateway's objects must agree on); the tests in `chart`, `plain_manifests`, `kagent`
//! and `dockerfile`. Paths and file reading are here.

mod chart;
mod chart_render;
mod dockerfile;
mod gateway_objects;
mod k8s_objects;
mod kagent;
mod plain_manifests;
mod template_eval;
mod template_syntax;
mod yaml;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chart_dir() -> PathBuf {
    root().join("deploy/helm/agentgateway")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
