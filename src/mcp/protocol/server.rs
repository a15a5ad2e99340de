//! What the gateway says about itself as an MCP server, built from the official SDK's model types
//! (`rmcp::model`): its capabilities, its implementation, and the results of `initialize` and
//! `server/discover`. Relayed messages never pass through these types (they would drop unknown fields).

use rmcp::model::{
    CacheScope, DiscoverResult, Implementation, InitializeResult, PromptsCapability,
    ProtocolVersion, ResourcesCapability, ServerCapabilities, ToolsCapability,
};
use serde_json::Value;

use super::version;

/// How long a list or discovery result may be cached by a stateless client (2026-07-28 `ttlMs`).
pub const LIST_TTL_MS: u64 = 60_000;

const INSTRUCTIONS: &str =
    "Tools, prompts and resources of the servers behind this Agent Gateway route.";

/// What every route serves, whatever its upstreams offer: lists change as upstreams change, resources
/// can be subscribed to, completions and log levels are relayed.
// `logging` is deprecated from 2026-07-28 (SEP-2577); session-era clients still send logging/setLevel,
// which the gateway relays, so it is still declared.
#[allow(deprecated)]
pub fn capabilities() -> ServerCapabilities {
    // Field by field: rmcp's builder exists only with its `macros` feature, which the gateway leaves off.
    let mut tools = ToolsCapability::default();
    tools.list_changed = Some(true);
    let mut prompts = PromptsCapability::default();
    prompts.list_changed = Some(true);
    let mut resources = ResourcesCapability::default();
    (resources.list_changed, resources.subscribe) = (Some(true), Some(true));
    let mut capabilities = ServerCapabilities::default();
    capabilities.tools = Some(tools);
    capabilities.prompts = Some(prompts);
    capabilities.resources = Some(resources);
    capabilities.completions = Some(Default::default());
    capabilities.logging = Some(Default::default());
    capabilities
}

pub fn implementation() -> Implementation {
    Implementation::new("agent-gateway", env!("CARGO_PKG_VERSION")).with_title("Agent Gateway")
}

fn protocol_version(v: &str) -> ProtocolVersion {
    serde_json::from_value(Value::String(v.to_string())).expect("a string is a protocol version")
}

/// The session-era `initialize` result, at the negotiated revision.
pub fn initialize_result(negotiated: &str) -> Value {
    let result = InitializeResult::new(capabilities())
        .with_protocol_version(protocol_version(negotiated))
        .with_server_info(implementation())
        .with_instructions(INSTRUCTIONS);
    serde_json::to_value(result).expect("the result serializes")
}

/// The 2026-07-28 `server/discover` result: every revision served, private to the caller.
pub fn discover_result() -> Value {
    let versions = version::all().into_iter().map(protocol_version).collect();
    let result = DiscoverResult::new(versions, capabilities())
        .with_ttl_ms(LIST_TTL_MS)
        .with_cache_scope(CacheScope::Private)
        .with_server_info(implementation());
    serde_json::to_value(result).expect("the result serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CAPABILITIES: &str = r#"{"completions":{},"logging":{},"prompts":{"listChanged":true},"resources":{"listChanged":true,"subscribe":true},"tools":{"listChanged":true}}"#;

    #[test]
    fn the_results_say_what_they_said_before_the_sdk_built_them() {
        let server = json!({"name": "agent-gateway", "title": "Agent Gateway", "version": env!("CARGO_PKG_VERSION")});
        let capabilities: Value = serde_json::from_str(CAPABILITIES).unwrap();
        assert_eq!(
            initialize_result("2025-06-18"),
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": capabilities,
                "serverInfo": server,
                "instructions": INSTRUCTIONS,
            })
        );
        let discover = discover_result();
        assert_eq!(discover["supportedVersions"], json!(version::all()));
        assert_eq!(discover["capabilities"], capabilities);
        assert_eq!(
            (discover["ttlMs"].clone(), discover["cacheScope"].clone()),
            (json!(LIST_TTL_MS), json!("private"))
        );
        assert_eq!(
            discover["_meta"]["io.modelcontextprotocol/serverInfo"],
            server
        );
        assert_eq!(discover["resultType"], "complete");
    }
}
