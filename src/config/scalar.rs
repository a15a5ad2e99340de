//! Scalar text → typed value, by the YAML 1.2 core schema (so `yes`/`on` stay strings, unlike YAML 1.1),
//! and the few explicit tags that schema defines.

use yaml_rust2::parser::Tag;

use super::yaml::Value;

/// Applies an explicit core-schema tag (`!!str 5`); anything else is refused rather than guessed at.
pub fn tagged(text: &str, plain: bool, tag: &Tag) -> Result<Value, String> {
    let name = tag_name(tag);
    let want = match name.as_str() {
        "!!str" => return Ok(Value::Str(text.to_string())),
        "!!int" => "an integer",
        "!!float" => "a number",
        "!!bool" => "true or false",
        "!!null" => "null",
        _ => {
            return Err(format!(
                "tag `{name}` is not supported (only !!str, !!int, !!float, !!bool, !!null)"
            ));
        }
    };
    let v = if plain {
        resolve_plain(text)
    } else {
        Value::Str(text.to_string())
    };
    let ok = matches!(
        (&v, name.as_str()),
        (Value::Int(_), "!!int" | "!!float")
            | (Value::Float(_), "!!float")
            | (Value::Bool(_), "!!bool")
            | (Value::Null, "!!null")
    );
    match (ok, v) {
        (true, Value::Int(i)) if name == "!!float" => Ok(Value::Float(i as f64)),
        (true, v) => Ok(v),
        (false, _) => Err(format!("`{name} {text}`: the value is not {want}")),
    }
}

pub fn tag_name(tag: &Tag) -> String {
    if tag.handle == "tag:yaml.org,2002:" {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// YAML 1.2 core schema for plain scalars.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Too large for i64: still a number, so say so as a float rather than turning it into a string.
        return text
            .parse::<i64>()
            .map(Value::Int)
            .unwrap_or_else(|_| Value::Float(text.parse().unwrap_or(f64::NAN)));
    }
    if let Some(hex) = text
        .strip_prefix("0x")
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text
        .strip_prefix("0o")
        .filter(|o| !o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    if is_core_float(digits)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without its sign. Rust's float parser alone would
/// also take `inf` or `1e5x`-like forms that YAML reads as strings.
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => all_digits(int) && all_digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && all_digits(int),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_scalars() {
        let vals: Vec<Value> = [
            "300s", "1.5", "yes", "~", "true", "0x10", "1e3", "1.2.3", "-7", "0o17", ".inf", "+5",
            "1_000",
        ]
        .iter()
        .map(|t| resolve_plain(t))
        .collect();
        assert_eq!(
            vals,
            vec![
                Value::Str("300s".into()),
                Value::Float(1.5),
                Value::Str("yes".into()),
                Value::Null,
                Value::Bool(true),
                Value::Int(16),
                Value::Float(1000.0),
                Value::Str("1.2.3".into()),
                Value::Int(-7),
                Value::Int(15),
                Value::Float(f64::INFINITY),
                Value::Int(5),
                Value::Str("1_000".into()),
            ]
        );
    }

    fn tag(suffix: &str) -> Tag {
        Tag {
            handle: "tag:yaml.org,2002:".into(),
            suffix: suffix.into(),
        }
    }

    #[test]
    fn explicit_tags() {
        assert_eq!(tagged("5", true, &tag("str")), Ok(Value::Str("5".into())));
        assert_eq!(tagged("5", true, &tag("float")), Ok(Value::Float(5.0)));
        assert_eq!(
            tagged("5", false, &tag("int")),
            Err("`!!int 5`: the value is not an integer".into())
        );
        let local = Tag {
            handle: "!".into(),
            suffix: "env".into(),
        };
        assert_eq!(
            tagged("X", true, &local),
            Err("tag `!env` is not supported (only !!str, !!int, !!float, !!bool, !!null)".into())
        );
    }
}
