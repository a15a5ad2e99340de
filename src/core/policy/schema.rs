//! The schema stages of `tools/call`: arguments against the tool's `inputSchema` before dispatch, and the
//! result's `structuredContent` against its `outputSchema` after (`mcp.outputSchema`: `report` logs a
//! mismatch, `enforce` refuses the result).

use serde_json::{Value, json};

use super::call::Call;
use super::stage::{Check, Stage};
use crate::core::error::Error;

/// Most violations reported for one call; enough to fix a call, bounded against huge inputs.
const MAX_VIOLATIONS: usize = 32;

/// Every violation as `{path, message}`, path as a JSON pointer into the instance.
pub fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<Value> {
    validator
        .iter_errors(instance)
        .take(MAX_VIOLATIONS)
        .map(|e| json!({"path": e.instance_path().as_str(), "message": e.to_string()}))
        .collect()
}

fn tool(call: &Call<'_>) -> String {
    call.target.map_or_else(String::new, |t| t.name.to_string())
}

pub struct InputSchema;

impl Stage for InputSchema {
    fn name(&self) -> &'static str {
        "inputSchema"
    }

    fn check<'a>(&'a self, call: &'a Call<'a>) -> Check<'a> {
        let Some(schema) = call.input_schema else {
            return Check::Pass;
        };
        let empty = Value::Object(Default::default());
        let found = violations(schema, call.arguments.unwrap_or(&empty));
        if found.is_empty() {
            return Check::Pass;
        }
        Check::Refuse(Error::Schema {
            tool: tool(call),
            violations: found,
        })
    }
}

pub struct OutputSchema {
    pub enforce: bool,
    pub route: String,
}

impl Stage for OutputSchema {
    fn name(&self) -> &'static str {
        "outputSchema"
    }

    fn check_result(&self, call: &Call<'_>, result: &Value) -> Result<(), Error> {
        let Some(schema) = call.output_schema else {
            return Ok(());
        };
        // A tool error has no structured result to check.
        if result["isError"] == true {
            return Ok(());
        }
        let found = match result.get("structuredContent") {
            Some(structured) => violations(schema, structured),
            None => vec![
                json!({"path": "", "message": "the result has no structuredContent but the tool declares an outputSchema"}),
            ],
        };
        if found.is_empty() {
            return Ok(());
        }
        let error = Error::OutputSchema {
            tool: tool(call),
            violations: found,
        };
        if self.enforce {
            return Err(error);
        }
        tracing::warn!(route = %self.route, tool = %tool(call), violations = ?error.data(), "upstream result does not match the tool's outputSchema (reported; outputSchema: enforce refuses it)");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::TargetKind;
    use crate::core::policy::call::Protocol;

    #[test]
    fn input_violations_name_every_failing_path_and_output_is_enforced_only_when_asked() {
        let schema = jsonschema::validator_for(&json!({"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "maximum": 14}}, "required": ["city"]})).unwrap();
        let args = json!({"days": 20});
        let call = Call::new(Protocol::Mcp, "tools/call", None)
            .target(TargetKind::Tool, "get_weather_data")
            .arguments(&args)
            .schemas(&schema, Some(&schema));
        let Check::Refuse(Error::Schema { tool, violations }) = InputSchema.check(&call) else {
            panic!("the arguments break the schema")
        };
        assert_eq!(tool, "get_weather_data");
        let paths: Vec<&str> = violations
            .iter()
            .map(|v| v["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&"") && paths.contains(&"/days"), "{paths:?}");

        let bad = json!({"structuredContent": {"days": 1}});
        let report = OutputSchema {
            enforce: false,
            route: "r".into(),
        };
        let enforce = OutputSchema {
            enforce: true,
            route: "r".into(),
        };
        assert!(report.check_result(&call, &bad).is_ok());
        assert!(matches!(
            enforce.check_result(&call, &bad),
            Err(Error::OutputSchema { .. })
        ));
        let tool_error = json!({"isError": true, "content": []});
        assert!(enforce.check_result(&call, &tool_error).is_ok());
        let good = json!({"structuredContent": {"city": "Tampa"}});
        assert!(enforce.check_result(&call, &good).is_ok());
    }
}
