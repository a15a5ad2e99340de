//! The sample as an in-process MCP upstream (`type: sample`): the guide's six tools, answered without any
//! transport.

use serde_json::{Value, json};

use super::Sample;
use crate::core::jsonrpc;
use crate::mcp::protocol::version;
use crate::mcp::upstream::{CallCtx, Local};

pub struct SampleUpstream {
    sample: Sample,
}

impl SampleUpstream {
    pub fn new() -> SampleUpstream {
        SampleUpstream {
            sample: Sample::new(),
        }
    }
}

impl Default for SampleUpstream {
    fn default() -> Self {
        SampleUpstream::new()
    }
}

impl Local for SampleUpstream {
    fn request(&self, ctx: &CallCtx, method: &str, params: Value) -> Value {
        let id = json!(0);
        let result = match method {
            "initialize" => json!({
                "protocolVersion": version::LATEST_SESSION,
                "capabilities": {"tools": {}},
                "serverInfo": self.sample.server_info(),
            }),
            "ping" => json!({}),
            "tools/list" => json!({"tools": self.sample.tools()}),
            "tools/call" => {
                let name = params["name"].as_str().unwrap_or_default();
                let arguments = params
                    .get("arguments")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                self.sample
                    .call_tool(name, &arguments, ctx.principal.as_deref())
            }
            "resources/list" => json!({"resources": []}),
            "resources/templates/list" => json!({"resourceTemplates": []}),
            "prompts/list" => json!({"prompts": []}),
            _ => {
                return jsonrpc::error(
                    &id,
                    jsonrpc::METHOD_NOT_FOUND,
                    format!("Method not found: {method}"),
                );
            }
        };
        jsonrpc::result(&id, result)
    }
}
