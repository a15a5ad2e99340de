//! One call as every call-stage policy sees it, whichever protocol it came in.

use serde_json::Value;

use crate::core::error::TargetKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Mcp,
    A2a,
}

/// What a call names: a tool, prompt or resource (MCP) or an agent (A2A).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: TargetKind,
    pub name: &'a str,
}

/// A call on its way to an upstream: who, what and with which arguments.
pub struct Call<'a> {
    pub protocol: Protocol,
    /// The JSON-RPC method (`tools/call`, `message/send`, `SendMessage`, …).
    pub method: &'a str,
    pub target: Option<Target<'a>>,
    /// The verified caller; `None` when the route does not authenticate.
    pub principal: Option<&'a str>,
    /// A tool's `arguments`.
    pub arguments: Option<&'a Value>,
    /// The target's declared schemas (MCP tools), checked by the schema stages.
    pub input_schema: Option<&'a jsonschema::Validator>,
    pub output_schema: Option<&'a jsonschema::Validator>,
}

impl<'a> Call<'a> {
    /// A call with nothing but its method; the builder methods add the rest.
    pub fn new(protocol: Protocol, method: &'a str, principal: Option<&'a str>) -> Call<'a> {
        Call {
            protocol,
            method,
            target: None,
            principal,
            arguments: None,
            input_schema: None,
            output_schema: None,
        }
    }

    pub fn target(mut self, kind: TargetKind, name: &'a str) -> Call<'a> {
        self.target = Some(Target { kind, name });
        self
    }

    pub fn arguments(mut self, arguments: &'a Value) -> Call<'a> {
        self.arguments = Some(arguments);
        self
    }

    pub fn schemas(
        mut self,
        input: &'a jsonschema::Validator,
        output: Option<&'a jsonschema::Validator>,
    ) -> Call<'a> {
        self.input_schema = Some(input);
        self.output_schema = output;
        self
    }

    /// The principal for rules and keys: the anonymous caller is the empty principal.
    pub fn principal_or_empty(&self) -> &'a str {
        self.principal.unwrap_or("")
    }
}
