//! One entry of a route's `backends:`. Its `type` decides which other fields make sense; a field of another
//! type is an error that says where it belongs, since it is most likely a wrong `type`.

use super::cx::{Cx, Obj, Pos};
use super::types::*;
use super::values;
use super::yaml::Node;

const TYPES: &[&str] = &["mcp-http", "mcp-stdio", "sample", "a2a"];
const MCP_FIELDS: &[&str] = &[
    "endpoint",
    "protocol",
    "timeout",
    "prefix",
    "forwardAuthorization",
    "headers",
    "command",
    "args",
    "env",
];
const TLS_FIELDS: &[&str] = &["caFile", "certFile", "keyFile"];

/// A backend plus where its tool-name prefix comes from, for the route's checks across backends.
pub struct DecodedBackend {
    pub backend: Backend,
    /// `mcp.prefix`, else the backend name.
    pub prefix: String,
    pub prefix_at: Pos,
    pub prefix_path: String,
}

pub fn backend(cx: &mut Cx, node: &Node, path: &str) -> Option<DecodedBackend> {
    let o = cx.obj(
        node,
        path,
        &["name", "type", "address", "mcp", "agentName", "tls"],
    )?;
    let name = cx.required(&o, "name", Cx::text);
    let ty = match o.get("type") {
        None => "a2a".to_string(),
        Some(n) => cx.choice(n, &o.path("type"), TYPES)?,
    };
    let location = o.location(&cx.file);
    let kind = match ty.as_str() {
        "a2a" => {
            if let Some(m) = o.key("mcp") {
                let msg = if o.get("type").is_none() {
                    "mcp settings need `type: mcp-http`, `mcp-stdio` or `sample`; a backend without a type is an A2A agent"
                } else {
                    "mcp settings do not apply to an a2a backend"
                };
                cx.error(m, &o.path("mcp"), msg);
            }
            let address = cx.required(&o, "address", url);
            let agent_name = cx.field(&o, "agentName", Cx::text);
            BackendKind::A2a {
                address: address.unwrap_or_default(),
                agent_name,
            }
        }
        "mcp-http" => {
            misplaced(cx, &o, "agentName", &ty, "a2a backends");
            let address = cx.required(&o, "address", url);
            let (mcp, _) = backend_mcp(cx, &o, &ty);
            BackendKind::McpHttp {
                address: address.unwrap_or_default(),
                mcp,
            }
        }
        "mcp-stdio" => {
            misplaced(cx, &o, "agentName", &ty, "a2a backends");
            misplaced(
                cx,
                &o,
                "address",
                &ty,
                "mcp-http and a2a backends; a stdio server is started with mcp.command",
            );
            let (mcp, stdio) = backend_mcp(cx, &o, &ty);
            let Stdio { command, args, env } = stdio;
            if command.is_none() && o.get("mcp").is_none() {
                cx.error(
                    o.node,
                    &o.path("mcp.command"),
                    "type mcp-stdio needs mcp.command, the program to start",
                );
            }
            BackendKind::McpStdio {
                command: command.unwrap_or_default(),
                args,
                env,
                mcp,
            }
        }
        _ => {
            misplaced(cx, &o, "agentName", &ty, "a2a backends");
            misplaced(
                cx,
                &o,
                "address",
                &ty,
                "mcp-http and a2a backends; the sample server runs inside the gateway",
            );
            BackendKind::Sample {
                mcp: backend_mcp(cx, &o, &ty).0,
            }
        }
    };
    let tls = backend_tls(cx, &o, &ty, &kind);
    let name = name?;
    let custom = match &kind {
        BackendKind::McpHttp { mcp, .. }
        | BackendKind::McpStdio { mcp, .. }
        | BackendKind::Sample { mcp } => mcp.prefix.clone(),
        BackendKind::A2a { .. } => None,
    };
    let (prefix, prefix_at, prefix_path) =
        match (custom, o.get("mcp").and_then(|m| field_node(m, "prefix"))) {
            (Some(p), Some(at)) => (p, Pos::from(at), format!("{path}.mcp.prefix")),
            _ => (
                name.clone(),
                o.get("name").map_or(Pos::from(node), Pos::from),
                format!("{path}.name"),
            ),
        };
    Some(DecodedBackend {
        backend: Backend {
            name,
            kind,
            tls,
            location,
        },
        prefix,
        prefix_at,
        prefix_path,
    })
}

#[derive(Default)]
struct Stdio {
    command: Option<String>,
    args: Vec<String>,
    env: std::collections::BTreeMap<String, String>,
}

/// The backend's `mcp:` mapping. Fields are checked against what `ty` can use.
fn backend_mcp(cx: &mut Cx, backend: &Obj, ty: &str) -> (BackendMcp, Stdio) {
    let mut mcp = BackendMcp::default();
    let mut stdio = Stdio::default();
    let Some(o) = backend
        .get("mcp")
        .and_then(|n| cx.obj(n, &backend.path("mcp"), MCP_FIELDS))
    else {
        return (mcp, stdio);
    };
    for k in o.keys() {
        let for_types = match k.name.as_str() {
            "endpoint" | "protocol" | "headers" | "forwardAuthorization" => "mcp-http",
            "command" | "args" | "env" => "mcp-stdio",
            _ => continue,
        };
        if for_types != ty {
            cx.error(
                k,
                &o.path(&k.name),
                format!(
                    "\"{}\" does not apply to type {ty} (it is for {for_types} backends)",
                    k.name
                ),
            );
        }
    }
    mcp.endpoint = cx.field(&o, "endpoint", |cx, n, p| {
        let e = cx.text(n, p)?;
        if !e.starts_with('/') {
            cx.error(
                n,
                p,
                format!(
                    "endpoint is a path on the upstream and must start with \"/\", found \"{e}\""
                ),
            );
            return None;
        }
        Some(e)
    });
    mcp.protocol = match cx
        .field(&o, "protocol", |cx, n, p| cx.choice(n, p, &["http", "sse"]))
        .as_deref()
    {
        Some("sse") => McpTransport::Sse,
        _ => McpTransport::StreamableHttp,
    };
    mcp.timeout = cx.field(&o, "timeout", Cx::positive_duration);
    mcp.prefix = cx.field(&o, "prefix", Cx::text);
    mcp.forward_authorization = cx
        .field(&o, "forwardAuthorization", Cx::bool)
        .unwrap_or(false);
    mcp.headers = cx.field(&o, "headers", Cx::str_map).unwrap_or_default();
    if let Some(h) = o.get("headers") {
        check_header_names(cx, h, &o.path("headers"));
    }
    if ty == "mcp-stdio" {
        stdio.command = cx.required(&o, "command", Cx::text);
        stdio.args = cx.field(&o, "args", Cx::str_list).unwrap_or_default();
        stdio.env = cx.field(&o, "env", Cx::str_map).unwrap_or_default();
    }
    (mcp, stdio)
}

/// The backend's `tls:` mapping, kept where it can apply: an `mcp-http` or `a2a` backend at an `https://`
/// address. Elsewhere it is a warning, not an error: the backend still works, without the settings.
fn backend_tls(cx: &mut Cx, backend: &Obj, ty: &str, kind: &BackendKind) -> Option<BackendTls> {
    let key = backend.key("tls")?;
    let path = backend.path("tls");
    let o = cx.obj(backend.get("tls")?, &path, TLS_FIELDS)?;
    let ca_file = cx.field(&o, "caFile", Cx::text);
    let cert_file = cx.field(&o, "certFile", Cx::text);
    let key_file = cx.field(&o, "keyFile", Cx::text);
    for (set, missing) in [("certFile", "keyFile"), ("keyFile", "certFile")] {
        if o.get(set).is_some() && o.get(missing).is_none() {
            cx.error(
                o.node,
                &o.path(missing),
                format!(
                    "{set} is set without {missing}: a client certificate goes with its private key (set both, or neither)"
                ),
            );
        }
    }
    let address = match kind {
        BackendKind::McpHttp { address, .. } | BackendKind::A2a { address, .. } => address,
        _ => {
            cx.warning(
                key,
                &path,
                format!(
                    "tls does not apply to type {ty} (it is for mcp-http and a2a backends at an https:// address); it is ignored"
                ),
            );
            return None;
        }
    };
    if address
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    {
        cx.warning(
            key,
            &path,
            "tls does not apply: the address is http://, so connections to this backend do not use TLS; use an https:// address, or remove tls",
        );
        return None;
    }
    let client_cert = match (cert_file, key_file) {
        (Some(cert_file), Some(key_file)) => Some(ClientCertFiles {
            cert_file,
            key_file,
        }),
        _ => None,
    };
    Some(BackendTls {
        ca_file,
        client_cert,
    })
}

fn url(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let s = cx.text(node, path)?;
    if let Err(msg) = values::check_http_url(&s) {
        cx.error(node, path, msg);
        return None;
    }
    Some(s)
}

/// Header names are HTTP tokens; anything else would be refused when the request is built.
fn check_header_names(cx: &mut Cx, node: &Node, path: &str) {
    let super::yaml::Value::Map(entries) = &node.value else {
        return;
    };
    for (k, _) in entries {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if k.name.is_empty() || !k.name.chars().all(token) {
            cx.error(
                k,
                &super::cx::child(path, &k.name),
                format!("\"{}\" is not a valid HTTP header name", k.name),
            );
        }
    }
}

/// Reports `key` when present on a backend of type `ty` that has no use for it.
fn misplaced(cx: &mut Cx, o: &Obj, key: &str, ty: &str, used_by: &str) {
    if let Some(k) = o.key(key) {
        cx.error(
            k,
            &o.path(key),
            format!("\"{key}\" does not apply to type {ty} (it is for {used_by})"),
        );
    }
}

fn field_node<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    match &n.value {
        super::yaml::Value::Map(entries) => {
            entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{
        Backend, BackendKind, Diagnostic, McpTransport, Severity, diagnostics_of, load_str,
        route_yaml,
    };

    const B: &str = "binds[0].listeners[0].routes[0].backends[0]";

    /// The one backend of a route with `backends` (a flow YAML list), and what loading it reported.
    fn only_backend(backends: &str) -> (Backend, Vec<Diagnostic>) {
        let loaded = load_str(&route_yaml("[]", backends), "t.yaml").unwrap();
        let backend = loaded.config.binds[0].listeners[0].routes[0].backends[0].clone();
        (backend, loaded.diagnostics)
    }

    #[test]
    fn mcp_http_settings_map_to_the_backend() {
        let (backend, _) = only_backend(
            "[{name: legacy, type: mcp-http, address: 'https://tools.example:8443', \
             mcp: {protocol: sse, endpoint: /events, prefix: old, forwardAuthorization: true, headers: {x-api-key: k1}}}]",
        );
        let BackendKind::McpHttp { address, mcp } = &backend.kind else {
            panic!()
        };
        assert_eq!(address, "https://tools.example:8443");
        assert_eq!(
            (
                &mcp.protocol,
                mcp.endpoint.as_deref(),
                mcp.prefix.as_deref()
            ),
            (&McpTransport::Sse, Some("/events"), Some("old"))
        );
        assert!(mcp.forward_authorization);
        assert_eq!(mcp.headers.get("x-api-key").map(String::as_str), Some("k1"));
    }

    #[test]
    fn fields_of_other_types_say_where_they_belong() {
        let text = route_yaml(
            "[]",
            "[{name: h, type: mcp-http, address: http://h, agentName: x, mcp: {command: node, endpoint: mcp, headers: {'bad header': v}}}]",
        );
        let d = diagnostics_of(&text);
        let tails: Vec<&str> = d
            .iter()
            .map(|l| l.split_once(&format!("{B}.")).unwrap().1)
            .collect();
        assert_eq!(
            tails,
            [
                "agentName: \"agentName\" does not apply to type mcp-http (it is for a2a backends)",
                "mcp.command: \"command\" does not apply to type mcp-http (it is for mcp-stdio backends)",
                "mcp.endpoint: endpoint is a path on the upstream and must start with \"/\", found \"mcp\"",
                "mcp.headers.bad header: \"bad header\" is not a valid HTTP header name",
            ]
        );
    }

    #[test]
    fn tls_settings_map_to_the_backend() {
        let (backend, diagnostics) = only_backend(
            "[{name: t, type: mcp-http, address: 'https://t:8443', tls: {caFile: ca.pem, certFile: c.pem, keyFile: k.pem}}]",
        );
        let tls = backend.tls.unwrap();
        assert_eq!(tls.ca_file.as_deref(), Some("ca.pem"));
        let cert = tls.client_cert.unwrap();
        assert_eq!(
            (cert.cert_file.as_str(), cert.key_file.as_str()),
            ("c.pem", "k.pem")
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
    }

    #[test]
    fn a_certificate_without_its_key_is_an_error_and_tls_where_it_cannot_apply_a_warning() {
        let text = route_yaml(
            "[]",
            "[{name: t, type: mcp-http, address: 'https://t:8443', tls: {certFile: c.pem}}]",
        );
        assert_eq!(
            diagnostics_of(&text),
            [format!(
                "t.yaml:9:76: {B}.tls.keyFile: certFile is set without keyFile: a client certificate goes with its private key (set both, or neither)"
            )]
        );
        for (backend, says) in [
            (
                "{name: t, type: mcp-http, address: 'http://t:8000', tls: {caFile: ca.pem}}",
                "the address is http://",
            ),
            (
                "{name: t, type: sample, tls: {caFile: ca.pem}}",
                "tls does not apply to type sample",
            ),
        ] {
            let (b, d) = only_backend(&format!("[{backend}]"));
            assert!(b.tls.is_none());
            assert!(
                d.len() == 1 && d[0].severity == Severity::Warning && d[0].message.contains(says),
                "{d:?}"
            );
        }
    }

    #[test]
    fn unknown_type_gets_a_suggestion() {
        let text = route_yaml("[]", "[{name: s, type: mcp-stdoi}]");
        assert_eq!(
            diagnostics_of(&text),
            [format!(
                "t.yaml:9:34: {B}.type: unknown value \"mcp-stdoi\"; did you mean \"mcp-stdio\"?"
            )]
        );
    }

    #[test]
    fn a2a_backend_takes_an_agent_name() {
        let (backend, diagnostics) =
            only_backend("[{name: w, type: a2a, address: http://w:8080, agentName: weather}]");
        let BackendKind::A2a { agent_name, .. } = &backend.kind else {
            panic!()
        };
        assert_eq!(agent_name.as_deref(), Some("weather"));
        assert!(
            diagnostics.is_empty(),
            "A2A backends are served: {diagnostics:?}"
        );
    }
}
