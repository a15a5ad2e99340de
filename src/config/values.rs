//! Syntaxes of single values: durations, URLs, origins, tool-name prefixes. Pure functions returning
//! the message to report, so they can be tested without any YAML around them.

use std::time::Duration;

const DURATION_FORMS: &str =
    "expected a number followed by ms, s, m or h (e.g. 300s, 1.5s, 500ms, 1m, 1h)";

/// `300s`, `1.5s`, `500ms`, `1m`, `1h`: one decimal number and one unit. Fractions are exact (no float
/// rounding): `1.5s` is 1500 ms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_nanos: u128 = match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3600 * 1_000_000_000,
        "" if !number.is_empty() => {
            return Err(format!(
                "invalid duration \"{text}\": missing unit; write \"{text}s\" for seconds"
            ));
        }
        _ => return Err(format!("invalid duration \"{text}\": {DURATION_FORMS}")),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (number.contains('.') && !digits(frac)) {
        return Err(format!("invalid duration \"{text}\": {DURATION_FORMS}"));
    }
    let too_long = || format!("invalid duration \"{text}\": too long");
    // Digits past nanosecond precision cannot change the result; dropping them keeps the arithmetic in range.
    let frac = &frac[..frac.len().min(12)];
    let whole: u128 = int.parse().map_err(|_| too_long())?;
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| too_long())?
    };
    let nanos = whole
        .checked_mul(unit_nanos)
        .and_then(|n| n.checked_add(frac_value * unit_nanos / 10u128.pow(frac.len() as u32)))
        .ok_or_else(too_long)?;
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_long())?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// An `http://` or `https://` URL with a host and, if given, a valid port.
pub fn check_http_url(url: &str) -> Result<(), String> {
    authority_and_rest(url).map(|_| ())
}

/// An IP address or a CIDR range (an address alone is a range of one).
pub fn ip_range(text: &str) -> Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("\"{text}\" is not an IP address or a CIDR range such as 10.0.0.0/8"))
}

/// A browser origin: scheme, host and optional port, nothing after.
/// A Host name to accept: a name or address without port or scheme, or `*.` and a name (any subdomain
/// of it); lower-cased, as Host names compare case-insensitively.
pub fn host_name(host: &str) -> Result<String, String> {
    let name = host.strip_prefix("*.").unwrap_or(host);
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let bracketed = name.starts_with('[') && name.ends_with(']');
    if name.is_empty() || !(name.chars().all(plain) || bracketed) {
        return Err(format!(
            "\"{host}\" is not a host name: write a name or address without scheme or port (e.g. gw.example.com), or *.example.com for its subdomains"
        ));
    }
    Ok(host.to_ascii_lowercase())
}

pub fn check_origin(origin: &str) -> Result<(), String> {
    let rest = authority_and_rest(origin)?;
    if rest.is_empty() {
        return Ok(());
    }
    let bare = &origin[..origin.len() - rest.len()];
    Err(format!(
        "\"{origin}\" is not an origin: an origin has no path, query or trailing slash; write \"{bare}\""
    ))
}

/// Returns what follows the authority (path, query, fragment).
fn authority_and_rest(url: &str) -> Result<&str, String> {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Err(format!(
            "\"{url}\" is not a URL starting with http:// or https://"
        ));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    if authority.contains('@') {
        return Err(format!(
            "\"{url}\": credentials in URLs are not supported; use headers instead"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6
            .find(']')
            .ok_or_else(|| format!("\"{url}\": unclosed [ in IPv6 host"))?;
        (&v6[..close], v6[close + 1..].strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("\"{url}\" has no host"));
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._:%".contains(c))
    {
        return Err(format!("\"{url}\" has an invalid host \"{host}\""));
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!("\"{url}\" has an invalid port \"{p}\""));
    }
    Ok(after)
}

/// Whether a tool-name prefix keeps combined tool names within what MCP clients commonly accept.
pub fn is_safe_prefix(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0.25ms"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration("300"),
            Err("invalid duration \"300\": missing unit; write \"300s\" for seconds".into())
        );
        for bad in [
            "", "s", "1.s", ".5s", "5 s", "-1s", "1d", "1m30s", "1.2.3s", "ten s",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.starts_with(&format!("invalid duration \"{bad}\"")),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            parse_duration("99999999999999999999h"),
            Err("invalid duration \"99999999999999999999h\": too long".into())
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            check_http_url("http://svc.ns.svc.cluster.local:8000"),
            Ok(())
        );
        assert_eq!(check_http_url("https://[::1]:8443/mcp"), Ok(()));
        assert_eq!(
            check_http_url("svc:8000"),
            Err("\"svc:8000\" is not a URL starting with http:// or https://".into())
        );
        assert_eq!(
            check_http_url("http://:80"),
            Err("\"http://:80\" has no host".into())
        );
        assert_eq!(
            check_http_url("http://h:99999"),
            Err("\"http://h:99999\" has an invalid port \"99999\"".into())
        );
        assert_eq!(check_origin("https://app.example.com:8443"), Ok(()));
        assert_eq!(
            check_origin("https://app.example.com/"),
            Err("\"https://app.example.com/\" is not an origin: an origin has no path, query or trailing slash; write \"https://app.example.com\"".into())
        );
    }

    #[test]
    fn prefixes() {
        assert!(is_safe_prefix("weather-tools_2"));
        assert!(!is_safe_prefix("weather.tools"));
        assert!(!is_safe_prefix(""));
    }
}
