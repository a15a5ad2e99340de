//! Names the gateway exposes for upstream tools and prompts. With one backend on a route a name stays as
//! the upstream wrote it, byte for byte (the gateway is invisible there); with several it gets the backend's
//! prefix and a delimiter, and is made at most 64 characters of `[A-Za-z0-9_-]` (what LLM function-calling
//! APIs accept). Calls are routed
//! by table lookup, never by splitting a name, so a delimiter inside a tool name cannot misroute a call.

use sha2::{Digest, Sha256};

pub const MAX_LEN: usize = 64;
pub const DEFAULT_DELIMITER: &str = "__";

pub fn exposed_name(prefix: Option<&str>, delimiter: &str, name: &str) -> String {
    let Some(prefix) = prefix else {
        return name.to_string();
    };
    let full = format!("{prefix}{delimiter}{name}");
    let clean: String = full.chars().map(safe).collect();
    if clean.len() <= MAX_LEN && clean == full {
        return clean;
    }
    if clean.len() <= MAX_LEN && !clean.is_empty() {
        return clean;
    }
    // Too long: keep a readable head and make it unique with a digest of the full original name.
    let digest = Sha256::digest(full.as_bytes());
    let tag: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let head: String = clean.chars().take(MAX_LEN - tag.len() - 1).collect();
    format!("{head}_{tag}")
}

/// A character of `[A-Za-z0-9_-]` as it is, any other as `_`.
pub fn safe(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
        c
    } else {
        '_'
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// With a prefix, any upstream name becomes a valid exposed name, the same every time, and two
        /// different names of one backend never become the same one.
        #[test]
        fn prefixed_names_are_valid_stable_and_distinct(a in "\\PC{0,90}", b in "\\PC{0,90}") {
            let (x, y) = (exposed_name(Some("backend"), "__", &a), exposed_name(Some("backend"), "__", &b));
            prop_assert!(valid(&x), "{}", x);
            prop_assert_eq!(&x, &exposed_name(Some("backend"), "__", &a));
            if a != b && x == y {
                // Only sanitising can merge two names (`a b` and `a_b`); the catalogue withholds both then.
                let clean = |s: &str| s.chars().map(safe).collect::<String>();
                prop_assert_eq!(clean(&a), clean(&b));
            }
        }
    }

    fn valid(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }

    #[test]
    fn single_backend_names_are_unchanged() {
        for name in [
            "get_weather_data",
            "tool with space",
            "a.b/c",
            &"x".repeat(100),
        ] {
            assert_eq!(exposed_name(None, "__", name), name);
        }
    }

    #[test]
    fn prefixes_with_the_delimiter() {
        assert_eq!(
            exposed_name(Some("weather"), "__", "get_weather_data"),
            "weather__get_weather_data"
        );
    }

    #[test]
    fn replaces_characters_llm_apis_refuse() {
        assert_eq!(exposed_name(Some("a.b"), "__", "x/y z"), "a_b__x_y_z");
    }

    #[test]
    fn shortens_long_names_deterministically_and_distinctly() {
        let long_a = "a".repeat(100);
        let long_b = format!("{}b", "a".repeat(99));
        let a = exposed_name(Some("backend"), "__", &long_a);
        assert_eq!(a, exposed_name(Some("backend"), "__", &long_a));
        assert_ne!(a, exposed_name(Some("backend"), "__", &long_b));
        assert!(valid(&a) && a.len() == MAX_LEN, "{a}");
    }
}
