//! The gateway-wide sections: `observability`, `security`, `limits` and `shutdown`.

use base64::Engine as _;
use base64::engine::general_purpose;

use super::cx::{Cx, item};
use super::types::*;
use super::values;
use super::yaml::Node;

pub fn observability(cx: &mut Cx, node: &Node, path: &str) -> Option<Observability> {
    let o = cx.obj(node, path, &["opentelemetry", "prometheus", "mcp"])?;
    Some(Observability {
        opentelemetry: cx.field(&o, "opentelemetry", opentelemetry),
        prometheus: cx.field(&o, "prometheus", prometheus),
        mcp: cx.field(&o, "mcp", |cx, n, p| {
            let m = cx.obj(n, p, &["enabled", "metrics"])?;
            Some(McpObservability {
                enabled: enabled_flag(cx, &m),
                metrics: cx.field(&m, "metrics", Cx::str_list).unwrap_or_default(),
            })
        }),
        location: o.location(&cx.file),
    })
}

/// A section that is written down is meant to be on, so `enabled` defaults to true.
fn enabled_flag(cx: &mut Cx, o: &super::cx::Obj) -> bool {
    cx.field(o, "enabled", Cx::bool).unwrap_or(true)
}

fn opentelemetry(cx: &mut Cx, node: &Node, path: &str) -> Option<OpenTelemetry> {
    let o = cx.obj(node, path, &["enabled", "endpoint", "protocol", "tracing"])?;
    let enabled = enabled_flag(cx, &o);
    let endpoint = if enabled {
        cx.required(&o, "endpoint", url)
    } else {
        cx.field(&o, "endpoint", url)
    };
    let protocol = cx.field(&o, "protocol", |cx, n, p| {
        let protocol = cx.choice(n, p, &["grpc", "http/protobuf"])?;
        if protocol != "grpc" {
            cx.inactive(
                n,
                p,
                "OTLP over http/protobuf (this build exports traces over grpc only; none are exported)",
            );
        }
        Some(protocol)
    });
    let tracing = cx.field(&o, "tracing", |cx, n, p| {
        let t = cx.obj(n, p, &["enabled", "samplingRate", "attributes"])?;
        let sampling_rate = cx
            .field(&t, "samplingRate", |cx, n, p| {
                let r = cx.float(n, p)?;
                if !(0.0..=1.0).contains(&r) {
                    cx.error(
                        n,
                        p,
                        format!("must be between 0 and 1 (a fraction of requests), found {r}"),
                    );
                    return None;
                }
                Some(r)
            })
            .unwrap_or(1.0);
        let mut attributes = Vec::new();
        for (i, n) in cx
            .field(&t, "attributes", Cx::list)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let Some(a) = cx.obj(n, &item(&t.path("attributes"), i), &["key", "value"]) else {
                continue;
            };
            let (key, value) = (
                cx.required(&a, "key", Cx::text),
                cx.required(&a, "value", Cx::str),
            );
            attributes.extend(key.zip(value));
        }
        Some(Tracing {
            enabled: enabled_flag(cx, &t),
            sampling_rate,
            attributes,
        })
    });
    Some(OpenTelemetry {
        enabled,
        endpoint: endpoint.unwrap_or_default(),
        protocol: protocol.unwrap_or_else(|| "grpc".to_string()),
        tracing,
    })
}

fn prometheus(cx: &mut Cx, node: &Node, path: &str) -> Option<Prometheus> {
    let o = cx.obj(node, path, &["enabled", "port", "path", "metrics"])?;
    Some(Prometheus {
        enabled: enabled_flag(cx, &o),
        port: cx
            .field(&o, "port", |cx, n, p| cx.int(n, p, 0, 65535))
            .map_or(9090, |p| p as u16),
        path: cx
            .field(&o, "path", http_path)
            .unwrap_or_else(|| "/metrics".to_string()),
        metrics: cx.field(&o, "metrics", Cx::str_list).unwrap_or_default(),
    })
}

pub fn security(cx: &mut Cx, node: &Node, path: &str) -> Option<Security> {
    let o = cx.obj(
        node,
        path,
        &[
            "sessionKey",
            "sessionKeyFile",
            "sessionTtl",
            "allowedOrigins",
            "allowedHosts",
            "trustedProxies",
            "mtls",
        ],
    )?;
    let session_key = cx.field(&o, "sessionKey", |cx, n, p| {
        let k = cx.text(n, p)?;
        // The key seals session ids with XChaCha20-Poly1305, which takes exactly 32 bytes. Standard and
        // URL-safe base64 are both accepted, as `seal::Sealer::from_base64` accepts them.
        let k_trim = k.trim();
        let decoded = general_purpose::STANDARD_PAD_INDIFFERENT
            .decode(k_trim)
            .or_else(|_| general_purpose::URL_SAFE_PAD_INDIFFERENT.decode(k_trim));
        match decoded {
            Ok(bytes) if bytes.len() == 32 => Some(k),
            Ok(bytes) => {
                cx.error(n, p, format!("must be 32 bytes in base64 (e.g. from `openssl rand -base64 32`), found {} bytes", bytes.len()));
                None
            }
            Err(_) => {
                cx.error(n, p, "is not valid base64; generate a key with `openssl rand -base64 32`");
                None
            }
        }
    });
    let session_key_file = cx.field(&o, "sessionKeyFile", Cx::text);
    if let (Some(_), Some(k)) = (o.get("sessionKey"), o.key("sessionKeyFile")) {
        cx.error(
            k,
            &o.path("sessionKeyFile"),
            "set either sessionKey or sessionKeyFile, not both",
        );
    }
    let allowed_origins = checked_texts(cx, &o, "allowedOrigins", |origin| {
        values::check_origin(origin).map(|()| origin.to_string())
    });
    let allowed_hosts = checked_texts(cx, &o, "allowedHosts", values::host_name);
    let trusted_proxies = checked_texts(cx, &o, "trustedProxies", values::ip_range);
    Some(Security {
        session_key,
        session_key_file,
        session_ttl: cx.field(&o, "sessionTtl", Cx::positive_duration),
        allowed_origins,
        allowed_hosts,
        trusted_proxies,
        mtls: cx.field(&o, "mtls", mtls),
    })
}

fn mtls(cx: &mut Cx, node: &Node, path: &str) -> Option<Mtls> {
    let o = cx.obj(
        node,
        path,
        &[
            "enabled",
            "mode",
            "certificateAuthority",
            "serverCert",
            "serverKey",
        ],
    )?;
    let enabled = enabled_flag(cx, &o);
    // The files are only needed when mTLS is on; when it is off, whatever is written is still checked.
    let file = |cx: &mut Cx, key: &str| {
        if enabled {
            cx.required(&o, key, Cx::text)
        } else {
            cx.field(&o, key, Cx::text)
        }
        .unwrap_or_default()
    };
    let certificate_authority = file(cx, "certificateAuthority");
    let server_cert = file(cx, "serverCert");
    let server_key = file(cx, "serverKey");
    let mode = cx
        .field(&o, "mode", |cx, n, p| {
            cx.choice(n, p, &["STRICT", "PERMISSIVE"])
        })
        .unwrap_or_else(|| "STRICT".to_string());
    Some(Mtls {
        enabled,
        mode,
        certificate_authority,
        server_cert,
        server_key,
    })
}

/// A list of texts at `key`, each turned into a value by `check` or reported at its own position.
fn checked_texts<T>(
    cx: &mut Cx,
    o: &super::cx::Obj,
    key: &str,
    check: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, n) in cx
        .field(o, key, Cx::list)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let p = item(&o.path(key), i);
        let Some(text) = cx.text(n, &p) else {
            continue;
        };
        match check(&text) {
            Ok(value) => out.push(value),
            Err(msg) => cx.error(n, &p, msg),
        }
    }
    out
}

pub fn limits(cx: &mut Cx, node: &Node, path: &str) -> Option<Limits> {
    let o = cx.obj(
        node,
        path,
        &[
            "maxBodyBytes",
            "maxJsonDepth",
            "headerReadTimeout",
            "bodyReadTimeout",
            "maxConnections",
            "maxUpstreamTools",
            "maxUpstreamCatalogueBytes",
            "maxUpstreamSchemaBytes",
        ],
    )?;
    let default = Limits::default();
    Some(Limits {
        max_body_bytes: cx
            .field(&o, "maxBodyBytes", |cx, n, p| cx.int(n, p, 1, i64::MAX))
            .map_or(default.max_body_bytes, |v| v as usize),
        max_json_depth: cx
            .field(&o, "maxJsonDepth", |cx, n, p| cx.int(n, p, 1, 10_000))
            .map_or(default.max_json_depth, |v| v as usize),
        header_read_timeout: cx
            .field(&o, "headerReadTimeout", Cx::duration)
            .unwrap_or(default.header_read_timeout),
        body_read_timeout: cx
            .field(&o, "bodyReadTimeout", Cx::duration)
            .unwrap_or(default.body_read_timeout),
        max_connections: cx
            .field(&o, "maxConnections", |cx, n, p| cx.int(n, p, 1, 1_000_000))
            .map_or(default.max_connections, |v| v as usize),
        max_upstream_tools: cx
            .field(&o, "maxUpstreamTools", |cx, n, p| {
                cx.int(n, p, 1, 10_000_000)
            })
            .map_or(default.max_upstream_tools, |v| v as usize),
        max_upstream_catalogue_bytes: cx
            .field(&o, "maxUpstreamCatalogueBytes", |cx, n, p| {
                cx.int(n, p, 1024, i64::MAX)
            })
            .map_or(default.max_upstream_catalogue_bytes, |v| v as usize),
        max_upstream_schema_bytes: cx
            .field(&o, "maxUpstreamSchemaBytes", |cx, n, p| {
                cx.int(n, p, 1024 * 1024, i64::MAX)
            })
            .map_or(default.max_upstream_schema_bytes, |v| v as usize),
    })
}

pub fn registry(cx: &mut Cx, node: &Node, path: &str) -> Option<Registry> {
    let o = cx.obj(node, path, &["path", "mode", "publicKey"])?;
    let folder = cx.required(&o, "path", Cx::text)?;
    // A security setting: no silent default.
    let mode = match cx
        .required(&o, "mode", |cx, n, p| {
            cx.choice(n, p, &["enforce", "warn", "off"])
        })?
        .as_str()
    {
        "enforce" => RegistryMode::Enforce,
        "warn" => RegistryMode::Warn,
        _ => RegistryMode::Off,
    };
    let public_key = cx.field(&o, "publicKey", |cx, n, p| {
        let text = cx.text(n, p)?;
        match general_purpose::STANDARD.decode(text.trim()) {
            Ok(key) if key.len() == 32 => Some(key),
            _ => {
                cx.error(n, p, "not an Ed25519 public key: 32 bytes in base64, as `agent-gateway registry keygen` prints it");
                None
            }
        }
    });
    if public_key.is_some() && mode == RegistryMode::Off {
        let at = o.get("publicKey").map_or(node, |n| n);
        cx.warning(
            at,
            &format!("{path}.publicKey"),
            "has no effect with mode: off (the lock is not read)",
        );
    }
    Some(Registry {
        path: folder.into(),
        mode,
        public_key,
        location: cx.location(node, path),
    })
}

pub fn shutdown(cx: &mut Cx, node: &Node, path: &str) -> Option<Shutdown> {
    let o = cx.obj(node, path, &["gracePeriod"])?;
    let default = Shutdown::default();
    Some(Shutdown {
        grace_period: cx
            .field(&o, "gracePeriod", Cx::duration)
            .unwrap_or(default.grace_period),
    })
}

fn url(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let s = cx.text(node, path)?;
    values::check_http_url(&s)
        .map_err(|msg| cx.error(node, path, msg))
        .ok()?;
    Some(s)
}

fn http_path(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let s = cx.text(node, path)?;
    if !s.starts_with('/') {
        cx.error(node, path, format!("must start with \"/\", found \"{s}\""));
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{diagnostics_of, load_str, route_yaml};

    fn with(section: &str) -> String {
        format!("{}{section}", route_yaml("[]", "[{name: s, type: sample}]"))
    }

    #[test]
    fn security_settings_map() {
        let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let text = with(&format!(
            "security: {{sessionKey: '{key}', sessionTtl: 1h, allowedOrigins: ['http://localhost:3000']}}\n"
        ));
        let loaded = load_str(&text, "t.yaml").unwrap();
        let s = &loaded.config.security;
        assert_eq!(
            (s.session_key.as_deref(), s.session_ttl),
            (Some(key), Some(Duration::from_secs(3600)))
        );
        assert_eq!(s.allowed_origins, ["http://localhost:3000"]);
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges_each_checked_where_it_stands() {
        let text = with("security: {trustedProxies: [10.0.0.0/8, '::1', 192.0.2.7]}\n");
        let loaded = load_str(&text, "t.yaml").unwrap();
        let nets: Vec<String> = loaded
            .config
            .security
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128", "192.0.2.7/32"]);
        assert_eq!(
            diagnostics_of(&with("security: {trustedProxies: [10.0.0.0/8, ingress]}\n")),
            [
                "t.yaml:10:41: security.trustedProxies[1]: \"ingress\" is not an IP address or a CIDR range such as 10.0.0.0/8"
            ]
        );
    }

    #[test]
    fn allowed_hosts_are_names_without_port_each_checked_where_it_stands() {
        let text = with("security: {allowedHosts: [GW.example.com, '*.svc.cluster.local']}\n");
        let loaded = load_str(&text, "t.yaml").unwrap();
        assert_eq!(
            loaded.config.security.allowed_hosts,
            ["gw.example.com", "*.svc.cluster.local"]
        );
        let diagnostics = diagnostics_of(&with(
            "security: {allowedHosts: [gw.example.com, 'https://gw.example.com']}\n",
        ));
        assert_eq!(
            diagnostics,
            [
                "t.yaml:10:43: security.allowedHosts[1]: \"https://gw.example.com\" is not a host name: write a name or address without scheme or port (e.g. gw.example.com), or *.example.com for its subdomains"
            ]
        );
    }

    #[test]
    fn session_key_must_be_32_bytes() {
        assert_eq!(
            diagnostics_of(&with("security: {sessionKey: c2hvcnQ=}\n")),
            [
                "t.yaml:10:24: security.sessionKey: must be 32 bytes in base64 (e.g. from `openssl rand -base64 32`), found 5 bytes"
            ]
        );
        assert_eq!(
            diagnostics_of(&with("security: {sessionKey: not base64!}\n")),
            [
                "t.yaml:10:24: security.sessionKey: is not valid base64; generate a key with `openssl rand -base64 32`"
            ]
        );
    }

    #[test]
    fn shutdown_grace_period_defaults_to_25s_and_may_be_zero() {
        let grace = |section: &str| {
            load_str(&with(section), "t.yaml")
                .unwrap()
                .config
                .shutdown
                .grace_period
        };
        assert_eq!(grace(""), Duration::from_secs(25));
        assert_eq!(grace("shutdown: {}\n"), Duration::from_secs(25));
        assert_eq!(
            grace("shutdown: {gracePeriod: 1.5s}\n"),
            Duration::from_millis(1500)
        );
        assert_eq!(grace("shutdown: {gracePeriod: 0s}\n"), Duration::ZERO);
        assert_eq!(
            diagnostics_of(&with("shutdown: {gracePeriod: 30}\n")),
            [
                "t.yaml:10:25: shutdown.gracePeriod: expected a duration with a unit (e.g. 300s, 500ms, 1m, 1h), found a number (30); write \"30s\" for seconds"
            ]
        );
    }

    #[test]
    fn sections_default_to_enabled_and_mtls_off_needs_no_files() {
        let text = with(
            "observability: {prometheus: {}}\nsecurity: {mtls: {enabled: false}}\nlimits: {maxBodyBytes: 1024}\n",
        );
        let loaded = load_str(&text, "t.yaml").unwrap();
        let prom = loaded
            .config
            .observability
            .as_ref()
            .unwrap()
            .prometheus
            .as_ref()
            .unwrap();
        assert_eq!(
            (prom.enabled, prom.port, prom.path.as_str()),
            (true, 9090, "/metrics")
        );
        let mtls = loaded.config.security.mtls.as_ref().unwrap();
        assert_eq!((mtls.enabled, mtls.mode.as_str()), (false, "STRICT"));
        assert_eq!(
            (
                loaded.config.limits.max_body_bytes,
                loaded.config.limits.max_json_depth
            ),
            (1024, 64)
        );
        assert!(
            loaded.diagnostics.is_empty(),
            "metrics and mtls are active: {:?}",
            loaded.diagnostics
        );
    }
}
