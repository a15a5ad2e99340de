//! The classification language shared by `generate_analysis_code` (which
//! renders it) and `execute_code` (which parses and evaluates it).
//!
//! Why this is not a Python interpreter: the weather agent's prompt asks the
//! model to "execute code", and whatever reaches that tool is text an LLM
//! produced, possibly steered by a prompt injection. Running it would hand a
//! remote shell to anyone who can talk to the agent. Instead, `execute_code`
//! accepts only the tiny, non-Turing-complete subset that
//! `generate_analysis_code` emits — comments, one `def classify(day):` made of
//! `if <condition>: return "<label>"` lines and a final `return`, and a
//! `DAYS = [...]` JSON list — and evaluates it directly. It has no loops,
//! calls, imports, names or I/O; parsing is bounded in size and nesting, and
//! every rule runs at most once per day, so evaluation always terminates
//! quickly. The emitted text is also valid Python, so a reader can check it.

mod parse;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value, json};

use super::args::Args;
use super::day::Day;

pub(crate) use parse::parse;

/// Largest accepted `python_code`, in bytes.
pub(crate) const MAX_CODE_BYTES: usize = 64 * 1024;
/// Deepest parenthesis nesting inside one condition.
pub(crate) const MAX_DEPTH: usize = 8;
/// Most comparisons in one condition.
pub(crate) const MAX_TERMS: usize = 32;
/// Most `if` rules in `classify`.
pub(crate) const MAX_RULES: usize = 64;

/// Labels every run reports a count for, even when zero, so a client can
/// rely on them.
pub(crate) const STANDARD_LABELS: [&str; 3] = ["outdoor", "mixed", "indoor"];

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

impl Op {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    fn apply(self, a: f64, b: f64) -> bool {
        match self {
            Op::Ge => a >= b,
            Op::Gt => a > b,
            Op::Le => a <= b,
            Op::Lt => a < b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    /// `day["field"] <op> number`, on a numeric field.
    Compare {
        field: String,
        op: Op,
        value: f64,
    },
    /// `day["field"] in ("a", "b")`, on a word field.
    In {
        field: String,
        words: Vec<String>,
    },
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    fn eval(&self, day: &Day) -> bool {
        match self {
            // Fields are checked at parse time, so a miss cannot happen; treat
            // it as false rather than panic.
            Cond::Compare { field, op, value } => {
                day.number(field).is_some_and(|n| op.apply(n, *value))
            }
            Cond::In { field, words } => day
                .text(field)
                .is_some_and(|t| words.iter().any(|w| w == t)),
            Cond::And(parts) => parts.iter().all(|c| c.eval(day)),
            Cond::Or(parts) => parts.iter().any(|c| c.eval(day)),
        }
    }

    /// Python precedence: `and` binds tighter than `or`, so only an `or`
    /// inside an `and` needs parentheses.
    fn render(&self, out: &mut String, inside_and: bool) {
        match self {
            Cond::Compare { field, op, value } => {
                out.push_str(&format!("day[\"{field}\"] {} {value}", op.symbol()));
            }
            Cond::In { field, words } => {
                let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                let trailing = if words.len() == 1 { "," } else { "" };
                out.push_str(&format!(
                    "day[\"{field}\"] in ({}{trailing})",
                    quoted.join(", ")
                ));
            }
            Cond::And(parts) => join(parts, " and ", true, out),
            Cond::Or(parts) if inside_and => {
                out.push('(');
                join(parts, " or ", false, out);
                out.push(')');
            }
            Cond::Or(parts) => join(parts, " or ", false, out),
        }
    }
}

fn join(parts: &[Cond], sep: &str, inside_and: bool, out: &mut String) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        part.render(out, inside_and);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub cond: Cond,
    pub label: String,
}

/// A parsed classification program.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Program {
    pub rules: Vec<Rule>,
    /// The label of the final `return`.
    pub fallback: String,
    pub days: Vec<Day>,
}

impl Program {
    /// The program's text, with `header` as leading `#` comment lines.
    /// One day per line keeps the text readable and diff-friendly.
    pub(crate) fn render(&self, header: &[String]) -> String {
        let mut out = String::new();
        for line in header {
            out.push_str(&format!("# {line}\n"));
        }
        out.push_str("def classify(day):\n");
        for rule in &self.rules {
            out.push_str("    if ");
            rule.cond.render(&mut out, false);
            out.push_str(&format!(": return \"{}\"\n", rule.label));
        }
        out.push_str(&format!("    return \"{}\"\n", self.fallback));
        out.push_str("DAYS = [\n");
        for (i, day) in self.days.iter().enumerate() {
            let sep = if i + 1 < self.days.len() { "," } else { "" };
            out.push_str(&format!("    {}{sep}\n", day.to_json()));
        }
        out.push_str("]\n");
        out
    }

    pub(crate) fn classify(&self, day: &Day) -> &str {
        self.rules
            .iter()
            .find(|r| r.cond.eval(day))
            .map_or(&self.fallback, |r| &r.label)
    }

    /// Structured output of `execute_code`.
    pub(crate) fn run(&self) -> Value {
        let mut counts: BTreeMap<&str, u64> = STANDARD_LABELS.iter().map(|l| (*l, 0)).collect();
        let classifications: Vec<Value> = self
            .days
            .iter()
            .map(|day| {
                let label = self.classify(day);
                *counts.entry(label).or_default() += 1;
                json!({"day": day.day, "weekday": day.weekday, "label": label})
            })
            .collect();
        // Standard labels first, in a fixed order, then any others sorted.
        let mut ordered = Map::new();
        for label in STANDARD_LABELS {
            ordered.insert(label.into(), json!(counts.remove(label).unwrap_or(0)));
        }
        for (label, n) in counts {
            ordered.insert(label.into(), json!(n));
        }
        json!({"classifications": classifications, "counts": ordered})
    }
}

/// Why `execute_code` refused its input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CodeError {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "execute_code runs only the classification code produced by generate_analysis_code: ",
        )?;
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Parse strictly, then evaluate.
pub(crate) fn execute(code: &str) -> Result<Value, CodeError> {
    Ok(parse(code)?.run())
}

/// The tool: `{python_code}` → `{classifications, counts}`.
pub(crate) fn tool(arguments: &Value) -> Result<Value, String> {
    let args = Args::new(arguments, &["python_code"])?;
    let code = args
        .get("python_code")
        .and_then(Value::as_str)
        .ok_or("missing required string argument \"python_code\"")?;
    execute(code).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::weather::forecast;

    fn program() -> Program {
        Program {
            rules: vec![
                Rule {
                    cond: Cond::Compare {
                        field: "precipitation_mm".into(),
                        op: Op::Ge,
                        value: 5.0,
                    },
                    label: "indoor".into(),
                },
                Rule {
                    cond: Cond::And(vec![
                        Cond::Compare {
                            field: "temp_high_c".into(),
                            op: Op::Ge,
                            value: 18.5,
                        },
                        Cond::Or(vec![
                            Cond::In {
                                field: "condition".into(),
                                words: vec!["sunny".into()],
                            },
                            Cond::Compare {
                                field: "wind_kph".into(),
                                op: Op::Lt,
                                value: -1.0,
                            },
                        ]),
                    ]),
                    label: "outdoor".into(),
                },
            ],
            fallback: "mixed".into(),
            days: forecast("Lisbon", 7),
        }
    }

    #[test]
    fn render_then_parse_is_identity() {
        let p = program();
        let text = p.render(&["test".into()]);
        assert!(text.contains("(day[\"condition\"] in (\"sunny\",) or day[\"wind_kph\"] < -1)"));
        assert_eq!(parse(&text), Ok(p));
    }

    #[test]
    fn first_matching_rule_wins() {
        let p = program();
        for day in &p.days {
            let expected = if day.precipitation_mm >= 5.0 {
                "indoor"
            } else if day.temp_high_c >= 18.5 && day.condition == "sunny" {
                "outdoor"
            } else {
                "mixed"
            };
            assert_eq!(p.classify(day), expected, "{day:?}");
        }
    }

    #[test]
    fn run_counts_every_day_and_reports_standard_labels() {
        let out = program().run();
        let counts = out["counts"].as_object().unwrap();
        assert_eq!(
            counts.keys().take(3).collect::<Vec<_>>(),
            ["outdoor", "mixed", "indoor"]
        );
        let total: u64 = counts.values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(total, 7);
        assert_eq!(out["classifications"].as_array().unwrap().len(), 7);
    }

    #[test]
    fn error_text_names_the_tool_and_line() {
        let e = CodeError {
            line: Some(3),
            message: "nope".into(),
        };
        assert_eq!(
            e.to_string(),
            "execute_code runs only the classification code produced by generate_analysis_code: line 3: nope"
        );
    }
}
