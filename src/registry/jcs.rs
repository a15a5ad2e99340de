//! RFC 8785 JSON Canonicalization Scheme: one byte string per JSON value, so a digest over it names the
//! value whatever order or spacing an upstream sent it in. Members sorted by their UTF-16 code units,
//! strings with only the escapes JSON requires, numbers as ECMAScript prints a double.

use std::fmt::Write;

use serde_json::Value;

pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (key, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(v, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as ECMAScript's `Number.prototype.toString` prints the double it denotes.
fn write_number(n: &serde_json::Number, out: &mut String) {
    let Some(f) = n.as_f64() else {
        out.push_str(&n.to_string());
        return;
    };
    if f == 0.0 {
        out.push('0');
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    // Rust prints the shortest digits that read back as the same double, in scientific form: d.ddde±x.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').expect("LowerExp has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    // The value is 0.DIGITS × 10^n.
    let n = exponent.parse::<i32>().expect("a decimal exponent") + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn number(text: &str) -> String {
        canonical(&serde_json::from_str(text).unwrap())
    }

    /// The number examples of RFC 8785 (§3.2.2.3 and appendix B) and ECMAScript's switch points.
    #[test]
    fn numbers_print_as_ecmascript_prints_doubles() {
        for (input, expected) in [
            ("0", "0"),
            ("-0.0", "0"),
            ("1", "1"),
            ("-1", "-1"),
            ("4.50", "4.5"),
            ("2e-3", "0.002"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("123456789012345678901", "123456789012345680000"),
            ("333333333.33333329", "333333333.3333333"),
            ("1E30", "1e+30"),
            ("-5e-324", "-5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("9007199254740993", "9007199254740992"),
            ("0.1", "0.1"),
            ("12.5e-10", "1.25e-9"),
        ] {
            assert_eq!(number(input), expected, "{input}");
        }
    }

    #[test]
    fn members_sort_by_utf16_and_strings_escape_only_what_json_requires() {
        // RFC 8785 §3.2.3: "\r" < "1" < "\u0080" < "\u00f6" < "\u20ac" < "\ud83d\ude00" < "\ufb33".
        let value = json!({"\u{20ac}": "Euro", "\r": "CR", "\u{fb33}": "H", "1": "One", "\u{1f600}": "e",
            "\u{80}": "c", "\u{f6}": "o"});
        assert_eq!(
            canonical(&value),
            "{\"\\r\":\"CR\",\"1\":\"One\",\"\u{80}\":\"c\",\"\u{f6}\":\"o\",\"\u{20ac}\":\"Euro\",\"\u{1f600}\":\"e\",\"\u{fb33}\":\"H\"}"
        );
        assert_eq!(
            canonical(&json!({"b": [1, {"z": null, "a": true}], "a": "\u{1}\"\\/\u{7f}"})),
            "{\"a\":\"\\u0001\\\"\\\\/\u{7f}\",\"b\":[1,{\"a\":true,\"z\":null}]}"
        );
    }
}
