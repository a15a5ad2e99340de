//! Defensive argument access for `call_tool`.
//!
//! The gateway validates arguments against each tool's `inputSchema` before
//! calling, but the sample is also reachable from tests and future callers that
//! skip that step, so every tool re-checks what it reads. Messages name the
//! argument so they are useful when returned as a tool error.

use serde_json::{Map, Value};

/// A view over a tool's `arguments`; a missing (`null`) object reads as empty.
pub(crate) struct Args<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    /// Accepts an object or `null`, and rejects keys outside `allowed`
    /// (mirroring `additionalProperties: false` in the input schemas).
    pub(crate) fn new(arguments: &'a Value, allowed: &[&str]) -> Result<Self, String> {
        let map = match arguments {
            Value::Object(map) => Some(map),
            Value::Null => None,
            _ => return Err("arguments must be a JSON object".to_string()),
        };
        if let Some(map) = map
            && let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str()))
        {
            return Err(format!(
                "unknown argument \"{}\"; expected one of: {}",
                truncate(unknown, 64),
                allowed.join(", ")
            ));
        }
        Ok(Self { map })
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A string with `1..=max_chars` characters that is not only whitespace;
    /// returned trimmed.
    pub(crate) fn text(&self, key: &str, max_chars: usize) -> Result<&'a str, String> {
        self.required(key, |v| text_value(key, v, max_chars, false))
    }

    /// Like [`Args::text`] but line breaks and tabs are allowed.
    pub(crate) fn multiline_text(&self, key: &str, max_chars: usize) -> Result<&'a str, String> {
        self.required(key, |v| text_value(key, v, max_chars, true))
    }

    fn required<T>(
        &self,
        key: &str,
        read: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Result<T, String> {
        match self.get(key) {
            Some(value) => read(value),
            None => Err(format!("missing required argument \"{key}\"")),
        }
    }

    pub(crate) fn optional_text(
        &self,
        key: &str,
        max_chars: usize,
    ) -> Result<Option<&'a str>, String> {
        self.get(key)
            .map(|value| text_value(key, value, max_chars, false))
            .transpose()
    }

    /// An integer in `min..=max`; `7.0` counts, as JSON Schema says it does.
    pub(crate) fn integer(
        &self,
        key: &str,
        min: i64,
        max: i64,
        default: i64,
    ) -> Result<i64, String> {
        let Some(value) = self.get(key) else {
            return Ok(default);
        };
        let n = value.as_i64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        });
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "argument \"{key}\" must be an integer from {min} to {max}"
            )),
        }
    }
}

/// Control characters are refused (line breaks and tabs only when
/// `multiline`) so stored text cannot smuggle terminal escapes, and single-line
/// values such as a city stay single-line when echoed into generated code.
pub(crate) fn text_value<'a>(
    key: &str,
    value: &'a Value,
    max_chars: usize,
    multiline: bool,
) -> Result<&'a str, String> {
    let s = value
        .as_str()
        .ok_or_else(|| format!("argument \"{key}\" must be a string"))?;
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(format!("argument \"{key}\" must not be empty"));
    }
    if s.chars().count() > max_chars {
        return Err(format!(
            "argument \"{key}\" must be at most {max_chars} characters"
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\t' | '\r');
    if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(format!(
            "argument \"{key}\" must not contain control characters"
        ));
    }
    Ok(trimmed)
}

/// Cuts `s` to at most `max` characters so echoed input cannot bloat an error.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejects_non_objects_and_unknown_keys() {
        assert!(Args::new(&json!([1]), &["a"]).is_err());
        assert!(Args::new(&json!({"b": 1}), &["a"]).is_err());
        assert!(Args::new(&Value::Null, &["a"]).is_ok());
    }

    #[test]
    fn integers_accept_whole_floats_only() {
        let v = json!({"n": 7.0, "f": 7.5, "big": 1e300});
        let a = Args::new(&v, &["n", "f", "big"]).unwrap();
        assert_eq!(a.integer("n", 1, 14, 3), Ok(7));
        assert!(a.integer("f", 1, 14, 3).is_err());
        assert!(a.integer("big", 1, 14, 3).is_err());
        assert_eq!(a.integer("absent", 1, 14, 3), Ok(3));
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        let v = json!({"s": "  Oslo ", "e": "   ", "c": "a\u{0}b", "n": "a\nb"});
        let a = Args::new(&v, &["s", "e", "c", "n"]).unwrap();
        assert!(a.text("n", 10).is_err());
        assert_eq!(a.multiline_text("n", 10), Ok("a\nb"));
        assert!(a.multiline_text("c", 10).is_err());
        assert_eq!(a.text("s", 10), Ok("Oslo"));
        assert!(a.text("s", 3).is_err());
        assert!(a.text("e", 10).is_err());
        assert!(a.text("c", 10).is_err());
        assert_eq!(truncate("abcdef", 3), "abc…");
    }
}
