//! The built-in sample MCP upstream served by the quickstart, so a newcomer
//! can try the gateway without running any other process.
//!
//! It offers the six tools of the user guide's weather agent
//! (`get_weather_data`, `generate_analysis_code`, `execute_code`,
//! `store_user_preferences`, `get_activity_preferences`,
//! `store_activity_plan`). Everything is pure Rust with no I/O: the weather is
//! synthetic but deterministic, `execute_code` evaluates a fixed rule language
//! instead of running code (see `classify`), and memory is a bounded
//! in-process map (see `memory`).
//!
//! This module speaks raw MCP 2025-11-25 JSON shapes; the gateway's MCP layer
//! owns the protocol and validates arguments first, but `call_tool` still
//! checks every argument and never panics.

mod analysis;
mod args;
mod classify;
mod day;
mod memory;
mod schema;
pub mod upstream;
mod weather;

use std::sync::Mutex;

use serde_json::{Value, json};

use memory::Memory;

/// The sample upstream. Cheap to create; share one per gateway.
pub struct Sample {
    tools: Vec<Value>,
    memory: Mutex<Memory>,
}

impl Default for Sample {
    fn default() -> Self {
        Self::new()
    }
}

impl Sample {
    pub fn new() -> Self {
        Self {
            tools: schema::tools(),
            memory: Mutex::new(Memory::default()),
        }
    }

    /// `serverInfo` for `initialize` (an MCP `Implementation`).
    pub fn server_info(&self) -> Value {
        json!({
            "name": "agent-gateway-sample",
            "version": env!("CARGO_PKG_VERSION"),
            "title": "Agent Gateway sample: weather activity planner",
            "description": "Built-in demo upstream: synthetic deterministic weather, a safe \
                            day-classification evaluator and bounded in-memory preferences.",
        })
    }

    /// Tool definitions for `tools/list`.
    pub fn tools(&self) -> Vec<Value> {
        self.tools.clone()
    }

    /// Runs a tool and returns a `CallToolResult`. Bad input gives a tool
    /// error (`isError: true`) with a message meant for the model to read.
    /// `caller` is the authenticated principal, when known; memory is
    /// separated per caller.
    pub fn call_tool(&self, name: &str, arguments: &Value, caller: Option<&str>) -> Value {
        let outcome = match name {
            "get_weather_data" => weather::tool(arguments),
            "generate_analysis_code" => analysis::generate(arguments),
            "execute_code" => classify::tool(arguments),
            "store_user_preferences" => self.memory(|m| m.store_preferences(arguments, caller)),
            "get_activity_preferences" => self.memory(|m| m.preferences(arguments, caller)),
            "store_activity_plan" => self.memory(|m| m.store_plan(arguments, caller)),
            _ => Err(format!(
                "unknown tool \"{}\"; this server offers: {}",
                args::truncate(name, 64),
                self.tools
                    .iter()
                    .filter_map(|t| t["name"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        match outcome {
            Ok(structured) => success(structured),
            Err(message) => tool_error(&message),
        }
    }

    fn memory(
        &self,
        f: impl FnOnce(&mut Memory) -> Result<Value, String>,
    ) -> Result<Value, String> {
        // A panic elsewhere cannot leave the maps half-updated in a way that
        // matters for a demo store, so recover from poisoning instead of
        // failing every later call.
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut memory)
    }
}

/// Text content mirrors `structuredContent`, as MCP asks for clients that
/// only read `content`.
fn success(structured: Value) -> Value {
    json!({
        "content": [{"type": "text", "text": structured.to_string()}],
        "structuredContent": structured,
    })
}

fn tool_error(message: &str) -> Value {
    json!({
        "content": [{"type": "text", "text": message}],
        "isError": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_can_be_shared_across_tasks() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Sample>();
    }

    #[test]
    fn unknown_tool_is_a_tool_error_naming_it() {
        let out = Sample::new().call_tool("rm_rf", &json!({}), None);
        assert_eq!(out["isError"], json!(true));
        let text = out["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("\"rm_rf\""), "{text}");
    }

    #[test]
    fn text_content_mirrors_structured_content() {
        let out = Sample::new().call_tool("get_weather_data", &json!({"city": "Oslo"}), None);
        let text = out["content"][0]["text"].as_str().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            out["structuredContent"]
        );
        assert_eq!(
            out["structuredContent"]["days"].as_array().unwrap().len(),
            7
        );
    }

    #[test]
    fn tool_names_match_the_guide() {
        let names: Vec<String> = Sample::new()
            .tools()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "get_weather_data",
                "generate_analysis_code",
                "execute_code",
                "store_user_preferences",
                "get_activity_preferences",
                "store_activity_plan"
            ]
        );
    }
}
