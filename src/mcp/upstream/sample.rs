//! The built-in sample upstream (the guide's six tools), answered in-process without any transport.

use serde_json::{Value, json};

use super::CallCtx;
use crate::mcp::{jsonrpc, version};
use crate::sample::Sample;

pub struct SampleUpstream {
    pub name: String,
    sample: Sample,
}

impl SampleUpstream {
    pub fn new(name: String) -> SampleUpstream {
        SampleUpstream {
            name,
            sample: Sample::new(),
        }
    }

    pub fn request(&self, ctx: &CallCtx, method: &str, params: Value) -> Value {
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
