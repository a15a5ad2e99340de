//! The HTTP+JSON binding's path and query as the agent reads them. An agent's router percent-decodes
//! before it matches (`t%61sks/…` is `tasks/…`, `contextI%64=` is `contextId=`), so the gateway decodes
//! too before it looks for ids, and forwards what it decoded encoded again: what it checked is what the
//! agent reads.

/// Path characters kept as they are (RFC 3986 `pchar` less `%`): `message:send` stays readable.
pub const PATH: &[u8] = b"-._~!$&'()*+,;=:@";
/// Characters kept in an id or a query part: the unreserved ones.
pub const UNRESERVED: &[u8] = b"-._~";

/// `%XX` decoded (and `+` as a space where `plus_is_space`, as in a query); malformed escapes are kept as
/// they are, bytes that are not UTF-8 once decoded become U+FFFD.
pub fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
            (b'+', _, _) if plus_is_space => out.push(b' '),
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes every byte but ASCII alphanumerics and `keep`.
pub fn encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One `key=value` pair of a query, both decoded as the agent's router reads them (`+` is a space).
pub fn query_pair(pair: &str) -> (String, String) {
    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
    (decode(key, true), decode(value, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_an_agent_router_does_and_encodes_canonically() {
        assert_eq!(decode("t%61sks", false), "tasks");
        assert_eq!(decode("contextI%64", true), "contextId");
        assert_eq!(decode("a+b%2", true), "a b%2");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("%FF", false), "\u{FFFD}");
        assert_eq!(encode("message:send", PATH), "message:send");
        assert_eq!(encode("a/b c:d", UNRESERVED), "a%2Fb%20c%3Ad");
        let raw = "x y/é";
        assert_eq!(decode(&encode(raw, PATH), false), raw);
    }
}
