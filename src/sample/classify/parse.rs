//! Strict, bounded parser for the classification language (see `mod.rs`).
//!
//! Grammar, one construct per line (blank lines and `#` comments anywhere
//! before `DAYS`):
//!
//! ```text
//! def classify(day):
//!     if <or>: return "<label>"        (0..=MAX_RULES times)
//!     return "<label>"
//! DAYS = <JSON array of days, may span the remaining lines>
//!
//! or    := and ("or" and)*
//! and   := atom ("and" atom)*
//! atom  := "(" or ")"                               (depth <= MAX_DEPTH)
//!        | day["<numeric field>"] (>=|>|<=|<|==|!=) <number>
//!        | day["<word field>"] in ("<word>", ...)
//! ```
//!
//! Anything else is an error naming the line; nothing is skipped or guessed.

use serde_json::Value;

use super::{CodeError, Cond, MAX_CODE_BYTES, MAX_DEPTH, MAX_RULES, MAX_TERMS, Op, Program, Rule};
use crate::sample::args::truncate;
use crate::sample::day::{Day, MAX_DAYS, NUMERIC_FIELDS, TEXT_FIELDS};

/// Longest identifier, string or number token; real ones are far shorter.
const MAX_TOKEN: usize = 40;

fn err(line: usize, message: impl Into<String>) -> CodeError {
    CodeError {
        line: Some(line),
        message: message.into(),
    }
}

pub(crate) fn parse(code: &str) -> Result<Program, CodeError> {
    if code.len() > MAX_CODE_BYTES {
        return Err(CodeError {
            line: None,
            message: format!(
                "the code is {} bytes; the limit is {MAX_CODE_BYTES}",
                code.len()
            ),
        });
    }
    let mut rules = Vec::new();
    let mut fallback: Option<String> = None;
    let mut in_def = false;
    let mut indent: Option<&str> = None;
    let mut offset = 0;
    let mut last_line = 0;
    for (index, raw) in code.split_inclusive('\n').enumerate() {
        let n = index + 1;
        last_line = n;
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']).trim_end();
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let lead = &line[..line.len() - body.len()];
        if !in_def {
            if line == "def classify(day):" {
                in_def = true;
                continue;
            }
            return Err(err(
                n,
                unexpected(body, "a comment or `def classify(day):`"),
            ));
        }
        if fallback.is_none() {
            if lead.is_empty() {
                return Err(err(
                    n,
                    "classify must end with an indented `return \"<label>\"`",
                ));
            }
            if *indent.get_or_insert(lead) != lead {
                return Err(err(n, "inconsistent indentation inside classify"));
            }
            let tokens = tokenize(body, n)?;
            let mut p = Parser {
                tokens: &tokens,
                pos: 0,
                line: n,
                terms: 0,
            };
            match tokens.first() {
                Some(Tok::Word(w)) if w == "if" => {
                    if rules.len() == MAX_RULES {
                        return Err(err(n, format!("more than {MAX_RULES} rules")));
                    }
                    p.pos = 1;
                    let cond = p.or(0)?;
                    p.expect(&Tok::Colon, "`:`")?;
                    let label = p.return_label()?;
                    rules.push(Rule { cond, label });
                }
                Some(Tok::Word(w)) if w == "return" => fallback = Some(p.return_label()?),
                _ => {
                    return Err(err(
                        n,
                        unexpected(
                            body,
                            "`if <condition>: return \"<label>\"` or `return \"<label>\"`",
                        ),
                    ));
                }
            }
            continue;
        }
        if !lead.is_empty() {
            return Err(err(
                n,
                "nothing may follow the final `return` inside classify",
            ));
        }
        let Some(rest) = body.strip_prefix("DAYS").map(str::trim_start) else {
            return Err(err(n, unexpected(body, "`DAYS = [...]`")));
        };
        if !rest.starts_with('=') {
            return Err(err(n, unexpected(body, "`DAYS = [...]`")));
        }
        // The JSON runs from after `=` to the end of the input.
        let eq = start + lead.len() + (body.len() - rest.len());
        let days = parse_days(&code[eq + 1..], n)?;
        let fallback = fallback.unwrap_or_default();
        return Ok(Program {
            rules,
            fallback,
            days,
        });
    }
    let missing = if !in_def {
        "missing `def classify(day):`"
    } else if fallback.is_none() {
        "classify must end with an indented `return \"<label>\"`"
    } else {
        "missing `DAYS = [...]` after classify"
    };
    Err(err(last_line.max(1), format!("end of input: {missing}")))
}

fn unexpected(found: &str, expected: &str) -> String {
    format!("found `{}`, expected {expected}", truncate(found, 60))
}

fn parse_days(json: &str, line: usize) -> Result<Vec<Day>, CodeError> {
    // serde_json bounds recursion itself (128 levels) and the text is
    // already size-bounded.
    let value: Value = serde_json::from_str(json).map_err(|e| {
        err(
            line + e.line().saturating_sub(1),
            format!("DAYS is not valid JSON: {e}"),
        )
    })?;
    let items = value
        .as_array()
        .ok_or_else(|| err(line, "DAYS must be a JSON array"))?;
    if items.is_empty() || items.len() > MAX_DAYS {
        return Err(err(line, format!("DAYS must hold 1 to {MAX_DAYS} days")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| Day::from_json(item).map_err(|e| err(line, format!("DAYS[{i}]: {e}"))))
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Op(Op),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
}

fn describe(tok: Option<&Tok>) -> String {
    match tok {
        None => "end of line".into(),
        Some(Tok::Word(w)) => format!("`{w}`"),
        Some(Tok::Str(s)) => format!("\"{s}\""),
        Some(Tok::Num(n)) => format!("`{n}`"),
        Some(Tok::Op(op)) => format!("`{}`", op.symbol()),
        Some(Tok::LParen) => "`(`".into(),
        Some(Tok::RParen) => "`)`".into(),
        Some(Tok::LBracket) => "`[`".into(),
        Some(Tok::RBracket) => "`]`".into(),
        Some(Tok::Comma) => "`,`".into(),
        Some(Tok::Colon) => "`:`".into(),
    }
}

fn tokenize(text: &str, line: usize) -> Result<Vec<Tok>, CodeError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let single = match c {
            b' ' => None,
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => {
                let (tok, len) = multi(&text[i..], line)?;
                out.push(tok);
                i += len;
                continue;
            }
        };
        out.extend(single);
        i += 1;
    }
    Ok(out)
}

/// One multi-character token at the start of `s`, with its byte length.
fn multi(s: &str, line: usize) -> Result<(Tok, usize), CodeError> {
    let b = s.as_bytes();
    let run = |pred: fn(u8) -> bool, from: usize| {
        from + b[from..].iter().take_while(|c| pred(**c)).count()
    };
    let too_long = |len: usize| {
        if len > MAX_TOKEN {
            Err(err(
                line,
                format!("token longer than {MAX_TOKEN} characters"),
            ))
        } else {
            Ok(())
        }
    };
    match b[0] {
        b'>' | b'<' | b'=' | b'!' => {
            let two = s.get(..2).unwrap_or("");
            let (op, len) = match two {
                ">=" => (Op::Ge, 2),
                "<=" => (Op::Le, 2),
                "==" => (Op::Eq, 2),
                "!=" => (Op::Ne, 2),
                _ if b[0] == b'>' => (Op::Gt, 1),
                _ if b[0] == b'<' => (Op::Lt, 1),
                _ => return Err(err(line, format!("unexpected `{}`", &s[..1]))),
            };
            Ok((Tok::Op(op), len))
        }
        b'"' => {
            let end = run(|c| c.is_ascii_alphanumeric() || c == b'_', 1);
            too_long(end)?;
            if b.get(end) != Some(&b'"') {
                return Err(err(
                    line,
                    "strings must be double-quoted letters, digits or `_`",
                ));
            }
            Ok((Tok::Str(s[1..end].to_string()), end + 1))
        }
        b'-' | b'0'..=b'9' => {
            let int_end = run(|c| c.is_ascii_digit(), usize::from(b[0] == b'-'));
            let end = if b.get(int_end) == Some(&b'.') {
                run(|c| c.is_ascii_digit(), int_end + 1)
            } else {
                int_end
            };
            too_long(end)?;
            match s[..end].parse::<f64>() {
                Ok(n) if n.is_finite() && !s[..end].ends_with(['.', '-']) => Ok((Tok::Num(n), end)),
                _ => Err(err(line, format!("malformed number `{}`", &s[..end]))),
            }
        }
        c if c.is_ascii_alphabetic() || c == b'_' => {
            let end = run(|c| c.is_ascii_alphanumeric() || c == b'_', 0);
            too_long(end)?;
            Ok((Tok::Word(s[..end].to_string()), end))
        }
        _ => {
            let ch = s.chars().next().unwrap_or('?');
            Err(err(line, format!("unexpected character {ch:?}")))
        }
    }
}

struct Parser<'a> {
    tokens: &'a [Tok],
    pos: usize,
    line: usize,
    terms: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&Tok> {
        let tok = self.tokens.get(self.pos);
        self.pos += 1;
        tok
    }

    fn fail<T>(&self, expected: &str) -> Result<T, CodeError> {
        Err(err(
            self.line,
            format!("expected {expected}, found {}", describe(self.peek())),
        ))
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), CodeError> {
        if self.peek() == Some(tok) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(what)
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w == word)
    }

    /// `return "<label>"` then end of line.
    fn return_label(&mut self) -> Result<String, CodeError> {
        if !self.is_word("return") {
            return self.fail("`return`");
        }
        self.pos += 1;
        let label = match self.peek() {
            Some(Tok::Str(s)) if is_label(s) => s.clone(),
            _ => return self.fail("a label such as \"outdoor\" (lower-case letters, digits, `_`)"),
        };
        self.pos += 1;
        if self.peek().is_some() {
            return self.fail("end of line");
        }
        Ok(label)
    }

    fn or(&mut self, depth: usize) -> Result<Cond, CodeError> {
        let mut parts = vec![self.and(depth)?];
        while self.is_word("or") {
            self.pos += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Cond, CodeError> {
        let mut parts = vec![self.atom(depth)?];
        while self.is_word("and") {
            self.pos += 1;
            parts.push(self.atom(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    fn atom(&mut self, depth: usize) -> Result<Cond, CodeError> {
        if self.peek() == Some(&Tok::LParen) {
            if depth == MAX_DEPTH {
                return Err(err(
                    self.line,
                    format!("parentheses nested deeper than {MAX_DEPTH}"),
                ));
            }
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            self.expect(&Tok::RParen, "`)`")?;
            return Ok(inner);
        }
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(err(
                self.line,
                format!("more than {MAX_TERMS} comparisons in one condition"),
            ));
        }
        if !self.is_word("day") {
            return self.fail("`day[\"<field>\"]` or `(`");
        }
        self.pos += 1;
        self.expect(&Tok::LBracket, "`[`")?;
        let field = match self.peek() {
            Some(Tok::Str(s)) => s.clone(),
            _ => return self.fail("a quoted field name"),
        };
        self.pos += 1;
        self.expect(&Tok::RBracket, "`]`")?;
        if NUMERIC_FIELDS.iter().any(|(f, _, _)| *f == field) {
            let op = match self.next() {
                Some(Tok::Op(op)) => *op,
                _ => {
                    self.pos -= 1;
                    return self.fail(&format!(
                        "a comparison (>=, >, <=, <, ==, !=) after day[\"{field}\"]"
                    ));
                }
            };
            let value = match self.next() {
                Some(Tok::Num(n)) => *n,
                _ => {
                    self.pos -= 1;
                    return self.fail("a number");
                }
            };
            return Ok(Cond::Compare { field, op, value });
        }
        if let Some((_, allowed)) = TEXT_FIELDS.iter().find(|(f, _)| *f == field) {
            if !self.is_word("in") {
                return self.fail(&format!("`in (...)` after day[\"{field}\"]"));
            }
            self.pos += 1;
            let words = self.word_tuple(&field, allowed)?;
            return Ok(Cond::In { field, words });
        }
        let known: Vec<&str> = NUMERIC_FIELDS
            .iter()
            .map(|(f, _, _)| *f)
            .chain(TEXT_FIELDS.iter().map(|(f, _)| *f))
            .collect();
        Err(err(
            self.line,
            format!(
                "unknown field \"{field}\"; known fields: {}",
                known.join(", ")
            ),
        ))
    }

    /// `("a", "b")` or `("a",)`; every word must be a value of `field`.
    fn word_tuple(&mut self, field: &str, allowed: &[&str]) -> Result<Vec<String>, CodeError> {
        self.expect(&Tok::LParen, "`(`")?;
        let mut words = Vec::new();
        loop {
            match self.peek() {
                Some(Tok::Str(s)) if allowed.contains(&s.as_str()) => words.push(s.clone()),
                Some(Tok::Str(s)) => {
                    return Err(err(
                        self.line,
                        format!(
                            "\"{s}\" is not a {field}; expected one of: {}",
                            allowed.join(", ")
                        ),
                    ));
                }
                _ => return self.fail("a quoted word"),
            }
            self.pos += 1;
            let closing = self.peek() == Some(&Tok::RParen);
            let trailing_comma = self.peek() == Some(&Tok::Comma)
                && self.tokens.get(self.pos + 1) == Some(&Tok::RParen);
            if closing || trailing_comma {
                self.pos += 1 + usize::from(trailing_comma);
                return Ok(words);
            }
            if self.peek() != Some(&Tok::Comma) || words.len() == allowed.len() {
                return self.fail("`,` or `)`");
            }
            self.pos += 1;
        }
    }
}

fn is_label(s: &str) -> bool {
    s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::weather::forecast;

    fn days_json() -> String {
        let days: Vec<Value> = forecast("Oslo", 3).iter().map(Day::to_json).collect();
        serde_json::to_string(&days).unwrap()
    }

    fn with_body(body: &str) -> String {
        format!(
            "def classify(day):\n{body}    return \"mixed\"\nDAYS = {}\n",
            days_json()
        )
    }

    fn error(code: &str) -> CodeError {
        parse(code).expect_err("should be rejected")
    }

    #[test]
    fn accepts_minimal_program() {
        let p = parse(&with_body("")).unwrap();
        assert!(p.rules.is_empty());
        assert_eq!(p.fallback, "mixed");
        assert_eq!(p.days.len(), 3);
    }

    #[test]
    fn accepts_comments_blank_lines_and_crlf() {
        let code = with_body("    # why\n\n    if day[\"wind_kph\"] >= 40: return \"indoor\"\n")
            .replace('\n', "\r\n");
        let p = parse(&format!("# header\n\n{code}")).unwrap();
        assert_eq!(p.rules.len(), 1);
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let code = with_body(
            "    if day[\"day\"] == 1 or day[\"day\"] == 2 and day[\"day\"] == 3: return \"x\"\n",
        );
        let p = parse(&code).unwrap();
        assert!(matches!(&p.rules[0].cond, Cond::Or(parts) if matches!(parts[1], Cond::And(_))));
    }

    #[test]
    fn rejects_python_that_is_not_the_language() {
        for (code, line, needle) in [
            ("import os\n".to_string(), 1, "found `import os`"),
            (
                with_body("    if __import__(\"os\"): return \"x\"\n"),
                2,
                "expected `day[\"<field>\"]`",
            ),
            (with_body("    while True:\n"), 2, "found `while True:`"),
            (
                with_body("    if day[\"secret\"] > 1: return \"x\"\n"),
                2,
                "unknown field \"secret\"",
            ),
            (
                with_body("    if day[\"condition\"] in (\"snow\",): return \"x\"\n"),
                2,
                "is not a condition",
            ),
            (
                with_body("    if day[\"wind_kph\"] > 1: return \"x\"; import os\n"),
                2,
                "unexpected character ';'",
            ),
            (
                with_body("    if day[\"wind_kph\"] > 1: return 'x'\n"),
                2,
                "unexpected character '\\''",
            ),
            (
                with_body("    if day[\"wind_kph\"] > 1e3: return \"x\"\n"),
                2,
                "expected `:`",
            ),
            (
                with_body("    if day[\"condition\"] > 1: return \"x\"\n"),
                2,
                "`in (...)`",
            ),
            (
                with_body("  if day[\"day\"] > 1: return \"x\"\n"),
                3,
                "inconsistent",
            ),
            (
                with_body("").replace("DAYS", "X = 1\nDAYS"),
                3,
                "`DAYS = [...]`",
            ),
            (
                format!("{}print(1)\n", with_body("")),
                4,
                "trailing characters",
            ),
            (
                with_body("").replace(
                    "    return \"mixed\"\n",
                    "    return \"mixed\"\n    return \"x\"\n",
                ),
                3,
                "nothing may follow",
            ),
            (
                "def classify(day):\n    return \"x\"\n".into(),
                2,
                "missing `DAYS",
            ),
            ("".into(), 1, "missing `def"),
        ] {
            let e = error(&code);
            assert_eq!(e.line, Some(line), "{code}: {e}");
            assert!(e.message.contains(needle), "{code}: {e}");
        }
    }

    #[test]
    fn rejects_oversized_input() {
        let code = format!("{}{}", "#".repeat(MAX_CODE_BYTES), with_body(""));
        let e = error(&code);
        assert_eq!(e.line, None);
        assert!(e.message.contains("limit"));
    }

    #[test]
    fn rejects_deep_nesting() {
        let deep = |n: usize| {
            format!(
                "    if {}day[\"day\"] > 0{}: return \"x\"\n",
                "(".repeat(n),
                ")".repeat(n)
            )
        };
        assert!(parse(&with_body(&deep(MAX_DEPTH))).is_ok());
        assert!(
            error(&with_body(&deep(MAX_DEPTH + 1)))
                .message
                .contains("nested deeper")
        );
        // Nesting in DAYS is refused by the day shape (and serde_json's own
        // recursion limit for absurd depths).
        let code = with_body("").replace("DAYS = [", &format!("DAYS = [{}", "[".repeat(500)));
        assert!(error(&code).message.contains("DAYS"));
    }

    #[test]
    fn rejects_too_many_terms_and_rules() {
        let many = vec!["day[\"day\"] > 0"; MAX_TERMS + 1].join(" and ");
        let e = error(&with_body(&format!("    if {many}: return \"x\"\n")));
        assert!(e.message.contains("comparisons"));
        let rule = "    if day[\"day\"] > 0: return \"x\"\n".repeat(MAX_RULES + 1);
        assert!(error(&with_body(&rule)).message.contains("rules"));
    }

    #[test]
    fn rejects_bad_days() {
        let code = with_body("").replace("\"humidity_pct\"", "\"password\"");
        let e = error(&code);
        assert!(e.message.contains("DAYS[0]: unknown field"), "{e}");
        let e = error("def classify(day):\n    return \"x\"\nDAYS = [\n  {\"day\": 1,\n  oops]\n");
        assert_eq!(e.line, Some(5), "{e}");
        assert!(
            error("def classify(day):\n    return \"x\"\nDAYS = []\n")
                .message
                .contains("1 to")
        );
        assert!(
            error("def classify(day):\n    return \"x\"\nDAYS = {}\n")
                .message
                .contains("array")
        );
    }
}
