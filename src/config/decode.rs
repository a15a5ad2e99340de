//! The gateway document → `GatewayConfig`: the top level, binds and listeners, with the checks that span
//! several of them (duplicate ports, listener and route names, path prefixes on one port).

use std::net::IpAddr;

use super::cx::{Cx, Seen, item};
use super::ratelimit_store;
use super::route;
use super::settings;
use super::types::*;
use super::yaml::Node;

pub fn decode(root: &Node, cx: &mut Cx) -> GatewayConfig {
    let mut config = GatewayConfig::default();
    let Some(o) = cx.obj(
        root,
        "",
        &[
            "binds",
            "observability",
            "security",
            "limits",
            "rateLimitStore",
            "shutdown",
            "registry",
        ],
    ) else {
        return config;
    };
    let mut ports = Seen::new();
    if let Some(binds) = cx.required(&o, "binds", Cx::list) {
        if binds.is_empty() {
            cx.error(
                o.get("binds").unwrap_or(root),
                "binds",
                "needs at least one bind (a port to listen on)",
            );
        }
        for (i, n) in binds.iter().enumerate() {
            config
                .binds
                .extend(bind(cx, n, &item("binds", i), &mut ports));
        }
    }
    config.observability = cx.field(&o, "observability", settings::observability);
    config.security = cx
        .field(&o, "security", settings::security)
        .unwrap_or_default();
    config.limits = cx.field(&o, "limits", settings::limits).unwrap_or_default();
    config.rate_limit_store = cx.field(&o, "rateLimitStore", ratelimit_store::rate_limit_store);
    config.shutdown = cx
        .field(&o, "shutdown", settings::shutdown)
        .unwrap_or_default();
    config.registry = cx.field(&o, "registry", settings::registry);

    if let Some(prom) = config
        .observability
        .as_ref()
        .and_then(|obs| obs.prometheus.as_ref())
        && let Some(b) = config
            .binds
            .iter()
            .find(|b| prom.port != 0 && b.port == prom.port)
    {
        let at = o.get("observability").unwrap_or(root);
        let msg = format!(
            "port {} is also the port of {} (line {}); metrics need a port of their own",
            prom.port, b.location.path, b.location.line
        );
        cx.error(at, "observability.prometheus.port", msg);
    }
    config
}

fn bind(cx: &mut Cx, node: &Node, path: &str, ports: &mut Seen<u16>) -> Option<Bind> {
    let o = cx.obj(node, path, &["port", "address", "listeners"])?;
    // Port 0 asks the OS for a free port (tests, throwaway gateways).
    let port = cx
        .required(&o, "port", |cx, n, p| cx.int(n, p, 0, 65535))
        .map(|p| p as u16);
    if let (Some(port @ 1..), Some(at)) = (port, o.get("port"))
        && let Some((other, line)) = ports.repeat(port, path, at.line)
    {
        cx.error(
            at,
            &o.path("port"),
            format!("port {port} is already used by {other} (line {line})"),
        );
    }
    let address = cx
        .field(&o, "address", |cx, n, p| {
            let s = cx.text(n, p)?;
            if s.parse::<IpAddr>().is_err() {
                cx.error(n, p, format!("\"{s}\" is not an IP address (e.g. 0.0.0.0 for all interfaces, 127.0.0.1 for this host only)"));
                return None;
            }
            Some(s)
        })
        .unwrap_or_else(|| "0.0.0.0".to_string());

    let mut listeners = Vec::new();
    let mut names = Seen::new();
    let mut prefixes = Seen::new();
    if let Some(items) = cx.required(&o, "listeners", Cx::list) {
        if items.is_empty() {
            cx.warning(
                o.get("listeners").unwrap_or(node),
                &o.path("listeners"),
                "no listeners: this port serves nothing",
            );
        }
        for (i, n) in items.iter().enumerate() {
            let lpath = item(&o.path("listeners"), i);
            let Some(l) = listener(cx, n, &lpath, &mut prefixes) else {
                continue;
            };
            if let Some((other, line)) = names.repeat(l.name.clone(), &lpath, l.location.line) {
                cx.error(
                    name_node(n),
                    &format!("{lpath}.name"),
                    format!(
                        "listener name \"{}\" is already used by {other} (line {line})",
                        l.name
                    ),
                );
            }
            listeners.push(l);
        }
    }
    Some(Bind {
        port: port?,
        address,
        listeners,
        location: o.location(&cx.file),
    })
}

fn listener(cx: &mut Cx, node: &Node, path: &str, prefixes: &mut Seen<String>) -> Option<Listener> {
    let o = cx.obj(node, path, &["name", "routes"])?;
    let name = cx.required(&o, "name", Cx::text);
    let mut routes = Vec::new();
    let mut names = Seen::new();
    if let Some(items) = cx.required(&o, "routes", Cx::list) {
        if items.is_empty() {
            cx.warning(
                o.get("routes").unwrap_or(node),
                &o.path("routes"),
                "no routes: this listener serves nothing",
            );
        }
        for (i, n) in items.iter().enumerate() {
            let rpath = item(&o.path("routes"), i);
            let Some(r) = route::route(cx, n, &rpath, prefixes) else {
                continue;
            };
            if let Some((other, line)) = names.repeat(r.name.clone(), &rpath, r.location.line) {
                cx.error(
                    name_node(n),
                    &format!("{rpath}.name"),
                    format!(
                        "route name \"{}\" is already used by {other} (line {line})",
                        r.name
                    ),
                );
            }
            routes.push(r);
        }
    }
    Some(Listener {
        name: name?,
        routes,
        location: o.location(&cx.file),
    })
}

/// The `name:` value of a mapping already decoded, to point a repeated-name error at the name itself.
pub(super) fn name_node(n: &Node) -> &Node {
    match &n.value {
        super::yaml::Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.name == "name")
            .map_or(n, |(_, v)| v),
        _ => n,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{diagnostics_of, load_str, route_yaml};

    #[test]
    fn bind_address_defaults_and_is_checked() {
        let text = route_yaml("[]", "[{name: s, type: sample}]");
        assert_eq!(
            load_str(&text, "t.yaml").unwrap().config.binds[0].address,
            "0.0.0.0"
        );
        // Port 0 (any free port) is accepted.
        let any = text.replace("port: 8080", "port: 0");
        assert_eq!(load_str(&any, "t.yaml").unwrap().config.binds[0].port, 0);
        let text = text.replace("- port: 8080\n", "- port: 8080\n  address: localhost\n");
        assert_eq!(
            diagnostics_of(&text),
            [
                "t.yaml:3:12: binds[0].address: \"localhost\" is not an IP address (e.g. 0.0.0.0 for all interfaces, 127.0.0.1 for this host only)"
            ]
        );
    }

    #[test]
    fn configmap_with_a_folded_scalar_names_the_embedded_text() {
        let text = "kind: ConfigMap\napiVersion: v1\ndata:\n  gateway.yaml: \"binds: 5\"\n";
        assert_eq!(
            diagnostics_of(text),
            [
                "t.yaml:4:17: data.gateway.yaml: not a literal block (`|`): positions below count from the first line of the embedded text",
                "t.yaml[data.gateway.yaml]:1:8: binds: expected a list, found a number (5)",
            ]
        );
    }
}
