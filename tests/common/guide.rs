//! The user's guide's own config (`examples/eks/config.yaml`, the step 3.1 ConfigMap, verbatim), with only
//! what cannot exist on this machine substituted, for tests that run the guide end to end.

use std::net::SocketAddr;

pub const CONFIG: &str = "examples/eks/config.yaml";

/// Replaces every occurrence of `from` in `text`, asserting how many there are, so a change to the guide's
/// file cannot silently leave a substitution undone.
pub fn substitute(text: &str, from: &str, to: &str, expected: usize) -> String {
    assert_eq!(
        text.matches(from).count(),
        expected,
        "{CONFIG}: expected {expected} occurrence(s) of {from:?}"
    );
    text.replace(from, to)
}

/// The guide's ConfigMap with the issuer, the JWKS URI, the bind and metrics ports (0: free ones) and the MCP
/// backend's address replaced.
pub fn yaml(issuer: &str, jwks_uri: &str, upstream: SocketAddr) -> String {
    let text = std::fs::read_to_string(super::repo().join(CONFIG)).unwrap();
    let text = substitute(
        &text,
        "jwksUri: https://kubernetes.default.svc/openid/v1/jwks",
        &format!("jwksUri: {jwks_uri}"),
        2,
    );
    let text = substitute(
        &text,
        "issuer: https://kubernetes.default.svc\n",
        &format!("issuer: {issuer}\n"),
        2,
    );
    let text = substitute(&text, "- port: 8080\n", "- port: 0\n", 1);
    let text = substitute(&text, "port: 9090\n", "port: 0\n", 1);
    substitute(
        &text,
        "address: http://agent-core-mcp-service.agent-core-infra.svc.cluster.local:8000",
        &format!("address: http://{upstream}"),
        1,
    )
}
