//! Building blocks of the MCP end-to-end tests: a recording session-era stub upstream and the JSON-RPC
//! messages the tests send.

use serde_json::{Value, json};

use super::stub::{Answer, Era, Request, Stub};

/// A session-era stub upstream (`common::stub`) offering tools and prompts, with `script` for everything
/// but the handshake. A stub because these tests read what reached the upstream (every message with its
/// headers, the cursors discovery sent) or need it to page its lists, never answer or misbehave, which
/// no real peer does on cue.
pub async fn upstream(script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Stub {
    Stub::mcp(Era::Session)
        .capabilities(json!({"tools": {}, "prompts": {}}))
        .start(script)
        .await
}

pub fn text_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

pub fn tool_def(name: &str) -> Value {
    json!({"name": name, "inputSchema": {"type": "object"}})
}

pub fn request(id: impl Into<Value>, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id.into(), "method": method, "params": params})
}

pub fn call(id: impl Into<Value>, tool: &str, arguments: Value) -> Value {
    request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

pub fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

/// The built-in sample upstream as a backend (YAML list item).
pub const SAMPLE: &str = "- name: sample\n  type: sample\n";
