//! Request paths that could mean another path to the peer they are forwarded to. A route authorizes the
//! first segment after its prefix (the agent's name) and forwards the rest as it came; a host that
//! normalises paths would read `/agents/weather/../planning/` as the planning agent, which a2a-authz
//! never checked. Such paths are refused rather than normalised: no real client sends them.

/// Why `path` is refused: a segment that is `.` or `..` once percent-decoded, or one whose decoding holds
/// a `/`, a `\` or a NUL (an encoded separator turns one segment into two behind a decoding proxy).
pub fn ambiguity(path: &str) -> Option<&'static str> {
    for segment in path.split('/') {
        if segment.contains('\\') {
            return Some("a backslash in the path");
        }
        let decoded = percent_decoded(segment);
        if *decoded == *b"." || *decoded == *b".." {
            return Some("a dot-segment in the path");
        }
        if decoded.iter().any(|b| matches!(b, b'/' | b'\\' | 0)) {
            return Some("an encoded separator in the path");
        }
    }
    None
}

/// `%XX` decoded; anything else, malformed escapes included, kept as it is. Borrowed when there is no
/// `%`, as in nearly every path: the check runs on every request.
fn percent_decoded(segment: &str) -> std::borrow::Cow<'_, [u8]> {
    let bytes = segment.as_bytes();
    if !bytes.contains(&b'%') {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap() * 16 + hex(l).unwrap()) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One fuzz case: any path is judged without a panic.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let _ = ambiguity(&String::from_utf8_lossy(data));
}

#[cfg(test)]
mod tests {
    use super::ambiguity;

    #[test]
    fn dot_segments_and_encoded_separators_in_any_spelling_are_refused() {
        for path in [
            "/agents/weather/../planning/",
            "/agents/weather/..",
            "/agents/./weather",
            "/agents/weather/%2e%2e/planning",
            "/agents/weather/%2E%2e/planning",
            "/agents/weather/.%2e/planning",
            "/agents/weather/..%2Fplanning",
            "/agents/weather%2f..%2fplanning",
            "/agents/weather/..%5Cplanning",
            "/agents/weather\\..\\planning",
            "/mcp/%00",
        ] {
            assert!(ambiguity(path).is_some(), "{path}");
        }
    }

    #[test]
    fn ordinary_paths_pass() {
        for path in [
            "/agents/weather/",
            "/agents/weather/v1/message:send",
            "/agents/weather/tasks/abc.def",
            "/agents/weather/.well-known/agent-card.json",
            "/mcp",
            "/mcp/sse",
            "/agents/w%20x/...",
            "/agents/100%",
        ] {
            assert_eq!(ambiguity(path), None, "{path}");
        }
    }
}
