//! `agent-gateway catalogue --config FILE --as PRINCIPAL`: what a principal would see through each MCP
//! route, after one discovery round against the real upstreams, and why each hidden tool is hidden.

use std::fmt::Write;

use crate::config::GatewayConfig;
use crate::gateway::runtime;
use crate::mcp::catalogue::discovery;

pub async fn catalogue(config: &GatewayConfig, principal: &str) -> Result<String, String> {
    let gateway = runtime::build(config).await?;
    let mut out = String::new();
    for route in &gateway.mcp_routes {
        let mut listings = vec![Default::default(); route.backends.len()];
        discovery::refresh(route, &mut listings).await;
        let catalogue = route.catalogue.load_full();
        let _ = writeln!(out, "route {} ({}):", route.name, route.path_prefix);
        for (name, health) in route.backend_health() {
            if health.up != Some(true) {
                let _ = writeln!(
                    out,
                    "  ! upstream {name} is down: {}",
                    health.last_error.unwrap_or_default()
                );
            }
        }
        for problem in &catalogue.problems {
            let _ = writeln!(out, "  ! {problem}");
        }
        let (mut shown, mut hidden) = (Vec::new(), Vec::new());
        for tool in &catalogue.tools {
            match route
                .pipeline
                .authz
                .as_ref()
                .and_then(|a| a.explain_tool(principal, &tool.exposed))
            {
                None => shown.push(tool.exposed.as_str()),
                Some(reason) => hidden.push(format!("{}: {reason}", tool.exposed)),
            }
        }
        let _ = writeln!(
            out,
            "  visible to {principal} ({} of {}):",
            shown.len(),
            catalogue.tools.len()
        );
        for name in shown {
            let _ = writeln!(out, "    {name}");
        }
        if !hidden.is_empty() {
            let _ = writeln!(out, "  hidden:");
            for line in hidden {
                let _ = writeln!(out, "    {line}");
            }
        }
        if route.pipeline.authz.is_none() {
            let _ = writeln!(
                out,
                "  (no mcp-authz policy on this route: every caller sees every tool)"
            );
        }
    }
    Ok(out)
}
