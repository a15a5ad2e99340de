//! `X-Forwarded-Host` and `-Proto` give the client's view of the gateway, which goes into the URLs it
//! hands out: rewritten agent cards, protected-resource metadata, `WWW-Authenticate`. Only a proxy the
//! operator names in `security.trustedProxies` may set them (and `Forwarded`, `X-Forwarded-For`); from
//! anyone else they are removed on arrival, so a client cannot point those URLs at a host of its choice.

use std::net::IpAddr;

use http::{HeaderMap, header};
use ipnet::IpNet;

const FORWARDING: [&str; 4] = [
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-for",
    "forwarded",
];

/// The peers whose forwarding headers are believed. Empty (the default): nobody's.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets)
    }

    /// Removes the forwarding headers of a request from `peer` unless it is a trusted proxy.
    pub fn admit(&self, peer: IpAddr, headers: &mut HeaderMap) {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        if !self.0.iter().any(|net| net.contains(&peer)) {
            for name in FORWARDING {
                headers.remove(name);
            }
        }
    }
}

/// `scheme://host` as the client reached the gateway: the first `X-Forwarded-Proto`/`-Host` entry when
/// a trusted proxy sent one, else `http` and the `Host` header.
pub fn public_origin(headers: &HeaderMap) -> String {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = first("x-forwarded-proto").unwrap_or("http");
    let host = first("x-forwarded-host")
        .or_else(|| first(header::HOST.as_str()))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "10.0.0.5:8080".parse().unwrap());
        h.insert("x-forwarded-host", "gw.example, proxy".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        h.insert("forwarded", "host=gw.example".parse().unwrap());
        h
    }

    #[test]
    fn only_a_trusted_proxy_names_the_public_origin() {
        let proxies = TrustedProxies::new(vec!["10.1.0.0/16".parse().unwrap()]);
        let mut from_proxy = forwarded();
        proxies.admit("10.1.2.3".parse().unwrap(), &mut from_proxy);
        assert_eq!(public_origin(&from_proxy), "https://gw.example");
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let mut mapped = forwarded();
        proxies.admit("::ffff:10.1.2.3".parse().unwrap(), &mut mapped);
        assert_eq!(public_origin(&mapped), "https://gw.example");

        let mut from_client = forwarded();
        proxies.admit("192.0.2.7".parse().unwrap(), &mut from_client);
        assert_eq!(public_origin(&from_client), "http://10.0.0.5:8080");
        assert!(from_client.get("forwarded").is_none());

        let mut nobody_trusted = forwarded();
        TrustedProxies::default().admit("10.1.2.3".parse().unwrap(), &mut nobody_trusted);
        assert_eq!(public_origin(&nobody_trusted), "http://10.0.0.5:8080");
    }
}
