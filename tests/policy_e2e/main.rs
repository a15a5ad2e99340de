//! The policies of the user's guide enforced end to end, over HTTP, through the real gateway:
//!
//! - the guide's step 3.1 ConfigMap (`examples/eks/config.yaml`), loaded verbatim but for what cannot exist
//!   here (the JWKS URI, the bind port, the MCP backend's address), in front of a second in-process gateway
//!   serving the built-in sample upstream (the guide's six tools). Tokens are minted here from the committed
//!   test keys and verified against a real JWKS server;
//! - `claimToHeaders` against a stub upstream (`common::stub`) that keeps every header it receives;
//! - two gateway processes (the real binary) sharing one real `redis-server`, holding one global limit.
//!
//! Where things are: `guide` (the guide's gateway and its client); the tests in `guide_tools` (tools, denials,
//! the rate limit), `guide_auth` (401s and their challenge), `guide_agents` (the agent-to-agent flow),
//! `claim_headers`, `shared_redis` and `backend_sessions`. The helpers several of them share are here.

#[path = "../common/mod.rs"]
mod common;
#[path = "../identity_common/mod.rs"]
mod identity_common;

mod backend_sessions;
mod claim_headers;
mod guide;
mod guide_agents;
mod guide_auth;
mod guide_tools;
mod shared_redis;

use common::stub::{Era, Stub};
use serde_json::{Value, json};

const OTHER_SA: &str = "system:serviceaccount:agent-core-infra:planning-agent-sa";

/// The structured result of a successful `tools/call`, or a panic showing the gateway's answer.
fn structured(reply: &common::Reply, what: &str) -> Value {
    assert_eq!(reply.status, 200, "{what}: {}", reply.text);
    let body = reply.json();
    assert!(body.get("error").is_none(), "{what}: {}", reply.text);
    assert_ne!(
        body["result"]["isError"], true,
        "{what}: tool error: {}",
        reply.text
    );
    body["result"]["structuredContent"].clone()
}

/// An MCP upstream that keeps every request with its headers: a stub (`common::stub`), as no real peer shows
/// the headers it received.
async fn recording_upstream() -> Stub {
    Stub::mcp(Era::Session)
        .start(|r| match r.rpc_method() {
            "tools/list" => {
                r.result(json!({"tools": [{"name": "whoami", "inputSchema": {"type": "object"}}]}))
            }
            "tools/call" => r.result(json!({"content": [{"type": "text", "text": "recorded"}]})),
            _ => r.not_found(),
        })
        .await
}
