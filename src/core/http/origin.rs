//! DNS-rebinding and cross-origin protection. A page on evil.example that makes the browser resolve its
//! name to the gateway sends `Host: evil.example` and `Origin: http://evil.example`: same-host, so a
//! same-host Origin proves nothing. A loopback bind accepts only loopback Host names, and any bind only
//! those in `security.allowedHosts` when that is set; on any bind a request with an `Origin` (only
//! browsers send one) is refused (403) unless the Origin is configured (`security.allowedOrigins`) or is
//! a loopback origin reaching a loopback Host.

use http::HeaderMap;

pub struct OriginPolicy {
    pub loopback_bind: bool,
    pub allowed: Vec<String>,
    /// `security.allowedHosts`, lower-cased; empty: no list.
    pub allowed_hosts: Vec<String>,
}

/// `localhost`, or a literal address in 127.0.0.0/8 or `[::1]`. A name is matched whole: a prefix test
/// would accept `127.0.0.1.evil.example`, which DNS may resolve to anything.
fn is_loopback_host(host: &str) -> bool {
    let name = strip_port(host);
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let literal = name
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(name);
    literal
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The host without a `:port`; anything else after a bracketed address stays, so it cannot parse.
fn strip_port(host: &str) -> &str {
    let (name, port) = match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => (&host[..colon], &host[colon + 1..]),
        _ => return host,
    };
    let bracketed = name.starts_with('[');
    if !port.bytes().all(|b| b.is_ascii_digit())
        || (bracketed && !name.ends_with(']'))
        || (!bracketed && name.contains(':'))
    {
        return host;
    }
    name
}

impl OriginPolicy {
    /// `Err(reason)` when the request must be refused.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let listed = || {
            let name = strip_port(host).to_ascii_lowercase();
            self.allowed_hosts
                .iter()
                .any(|allowed| match allowed.strip_prefix("*.") {
                    Some(parent) => name
                        .strip_suffix(parent)
                        .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
                    None => *allowed == name,
                })
        };
        let loopback = self.loopback_bind && is_loopback_host(host);
        if !host.is_empty()
            && !loopback
            && (self.loopback_bind || !self.allowed_hosts.is_empty())
            && !listed()
        {
            return Err(if self.allowed_hosts.is_empty() {
                format!(
                    "Host {host} is not a loopback name on a loopback listener (add it to security.allowedHosts)"
                )
            } else {
                format!("Host {host} is not in security.allowedHosts")
            });
        }
        let Some(origin) = headers.get(http::header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin
            .to_str()
            .map_err(|_| "Origin header is not valid text".to_string())?;
        if origin == "null" {
            return Err("Origin null is not allowed".into());
        }
        if self.allowed.iter().any(|a| a == origin || a == "*") {
            return Ok(());
        }
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(origin);
        // A page served from this machine (a local inspector) talking to a loopback address.
        if is_loopback_host(origin_host) && is_loopback_host(host) {
            return Ok(());
        }
        Err(format!(
            "Origin {origin} is not allowed (add it to security.allowedOrigins)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn loopback_bind_refuses_rebound_hosts_and_foreign_origins() {
        let p = OriginPolicy {
            loopback_bind: true,
            allowed: vec![],
            allowed_hosts: vec![],
        };
        assert!(p.check(&headers(&[("host", "127.0.0.1:8080")])).is_ok());
        assert!(
            p.check(&headers(&[
                ("host", "localhost:8080"),
                ("origin", "http://localhost:3000")
            ]))
            .is_ok()
        );
        assert!(p.check(&headers(&[("host", "evil.example:8080")])).is_err());
        assert!(
            p.check(&headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example")
            ]))
            .is_err()
        );
        assert!(
            p.check(&headers(&[("host", "[::1]:8080"), ("origin", "null")]))
                .is_err()
        );
    }

    #[test]
    fn loopback_names_are_matched_whole_not_by_prefix() {
        let p = OriginPolicy {
            loopback_bind: true,
            allowed: vec![],
            allowed_hosts: vec![],
        };
        for host in [
            "127.0.0.1:8080",
            "127.1.2.3",
            "localhost",
            "LOCALHOST:1",
            "[::1]:8080",
        ] {
            assert!(p.check(&headers(&[("host", host)])).is_ok(), "{host}");
        }
        for host in [
            "127.0.0.1.evil.example",
            "127.evil.example:8080",
            "127.0.0.1.nip.io",
            "localhost.evil.example",
            "[::1].evil.example",
            "[::2]:8080",
        ] {
            assert!(p.check(&headers(&[("host", host)])).is_err(), "{host}");
        }
        assert!(
            p.check(&headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.evil.example")
            ]))
            .is_err()
        );
    }

    #[test]
    fn other_binds_allow_configured_origins_only() {
        let p = OriginPolicy {
            loopback_bind: false,
            allowed: vec!["https://inspector.example".into()],
            allowed_hosts: vec![],
        };
        // What a rebinding browser sends: its own name as Host and Origin.
        assert!(
            p.check(&headers(&[
                ("host", "evil.example.com"),
                ("origin", "http://evil.example.com")
            ]))
            .is_err()
        );
        assert!(
            p.check(&headers(&[
                ("host", "gw.example"),
                ("origin", "https://gw.example")
            ]))
            .is_err()
        );
        assert!(
            p.check(&headers(&[
                ("host", "localhost:8080"),
                ("origin", "http://localhost:8080")
            ]))
            .is_ok()
        );
        assert!(
            p.check(&headers(&[
                ("host", "gw.example"),
                ("origin", "https://inspector.example")
            ]))
            .is_ok()
        );
        assert!(
            p.check(&headers(&[
                ("host", "gw.example"),
                ("origin", "https://evil.example")
            ]))
            .is_err()
        );
        assert!(p.check(&headers(&[("host", "gw.example")])).is_ok());
    }

    #[test]
    fn allowed_hosts_hold_on_every_bind() {
        let p = |loopback_bind| OriginPolicy {
            loopback_bind,
            allowed: vec![],
            allowed_hosts: vec!["gw.example.com".into(), "*.svc.cluster.local".into()],
        };
        for bind in [false, true] {
            let ok = |host: &str| p(bind).check(&headers(&[("host", host)])).is_ok();
            assert!(
                ok("gw.example.com:8080") && ok("GW.Example.Com"),
                "bind {bind}"
            );
            assert!(ok("agw.agents.svc.cluster.local"), "bind {bind}");
            assert!(
                !ok("svc.cluster.local") && !ok("evilsvc.cluster.local"),
                "bind {bind}"
            );
            assert!(
                !ok("evil.example.com") && !ok("gw.example.com.evil.example"),
                "bind {bind}"
            );
            assert_eq!(
                ok("127.0.0.1:8080"),
                bind,
                "loopback names only on loopback binds"
            );
        }
    }
}
