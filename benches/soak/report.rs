//! The run's outcome: the progress line, the final tables (Markdown, as docs/reliability.md records them),
//! the RSS plateau verdict, the pass rules, and target/soak/results.json.

use std::path::Path;

use serde_json::{Value, json};

use crate::chaos;
use crate::tally::{Counts, Snapshot};

const MIB: f64 = 1024.0;

/// The plateau rule, fixed before any run: the highest RSS of the last third of the run may exceed the
/// highest of the middle third by at most 10 % + 4 MiB: about 6 MiB for a gateway of ~20 MiB. A leak of
/// 100 bytes per request, at the ~200 requests/s of the 2-core machine, adds ~11 MiB per ten minutes
/// and fails it; so does one of ~200 KiB per config reload.
const GROWTH: f64 = 1.10;
const SLACK_KIB: u64 = 4096;

/// The totals and RSS at the end of one minute.
pub struct Row {
    pub minute: f64,
    pub totals: Counts,
    pub rss_kib: u64,
}

/// sent, ok, clear errors, wrong, unanswered.
fn figures(t: &Counts) -> [u64; 5] {
    [t.sent, t.ok, t.error_total(), t.wrong, t.unanswered]
}

/// The figures as cells of a Markdown table row.
fn cells(t: &Counts) -> String {
    figures(t).map(|n| n.to_string()).join(" | ")
}

pub fn progress(row: &Row) {
    let [sent, ok, errors, wrong, unanswered] = figures(&row.totals);
    let rss = row.rss_kib as f64 / MIB;
    println!(
        "[{:>5.1} min] sent {sent:>7}  ok {ok:>7}  errors {errors:>6}  wrong {wrong}  unanswered {unanswered}  rss {rss:.1} MiB",
        row.minute
    );
}

pub struct Plateau {
    middle_max: u64,
    last_max: u64,
    limit: u64,
    pub ok: bool,
}

/// The rule above over `samples` (seconds into the run, KiB) of a run of `seconds`.
pub fn plateau(samples: &[(f64, u64)], seconds: f64) -> Plateau {
    let max_in = |from: f64, to: f64| {
        samples
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, kib)| *kib)
            .max()
    };
    let middle = max_in(seconds / 3.0, seconds * 2.0 / 3.0);
    let last = max_in(seconds * 2.0 / 3.0 + 0.001, f64::INFINITY);
    let middle_max = middle.unwrap_or(0);
    let limit = (middle_max as f64 * GROWTH) as u64 + SLACK_KIB;
    let last_max = last.unwrap_or(0);
    Plateau {
        middle_max,
        last_max,
        limit,
        ok: middle.is_some() && last.is_some() && last_max <= limit,
    }
}

/// Everything the run measured.
pub struct Outcome<'a> {
    pub minutes: f64,
    pub concurrency: usize,
    pub date: String,
    pub commit: String,
    pub counts: Snapshot,
    pub kinds: Vec<&'static str>,
    pub rows: Vec<Row>,
    pub rss: Vec<(f64, u64)>,
    pub chaos: &'a chaos::Log,
    /// `agent_gateway_config_reloads_total` (success, failure) at the end, and "config reloaded" log lines.
    pub reload_metrics: Option<(u64, u64)>,
    pub reload_log_lines: usize,
    pub gateway_alive: bool,
}

impl Outcome<'_> {
    /// Why the run failed; empty when it passed.
    fn failures(&self, plateau: &Plateau) -> Vec<String> {
        let total = self.counts.total();
        let mut failed = Vec::new();
        if total.wrong > 0 {
            failed.push(format!("{} wrong answers", total.wrong));
        }
        if total.unanswered > 0 {
            failed.push(format!("{} unanswered requests", total.unanswered));
        }
        if !plateau.ok {
            failed.push("RSS did not plateau".into());
        }
        // Recovery: once the chaos is over, every kind of call is answered ok again (not `initialize`,
        // sent only when a worker needs a new session).
        let c = self.chaos;
        let calm_from = c.events.last().map_or(0.0, |e| e.0);
        for kind in self.kinds.iter().filter(|k| **k != crate::load::INITIALIZE) {
            let last_ok = self.counts.last_ok_s.get(kind).copied();
            if last_ok.is_none_or(|t| t <= calm_from) {
                failed.push(format!(
                    "{kind}: no ok answer after the last chaos event at {calm_from:.0} s (last ok: {})",
                    last_ok.map_or("never".into(), |t| format!("{t:.0} s"))
                ));
            }
        }
        if c.reloads_seen != c.reloads_written || self.reload_metrics.is_none_or(|m| m.1 > 0) {
            failed.push(format!(
                "reloads: {} written, {} seen, metrics {:?}",
                c.reloads_written, c.reloads_seen, self.reload_metrics
            ));
        }
        if c.restarts_failed > 0 {
            failed.push(format!("{} upstream restarts failed", c.restarts_failed));
        }
        if !self.gateway_alive {
            failed.push("the gateway exited".into());
        }
        failed
    }

    /// Prints the tables, writes `results.json` into `dir`; whether the run passed.
    pub fn finish(&self, dir: &Path) -> bool {
        let plateau = plateau(&self.rss, self.minutes * 60.0);
        let failures = self.failures(&plateau);
        self.print_tables(&plateau);
        let verdict = if failures.is_empty() {
            "PASS".to_string()
        } else {
            format!("FAIL: {}", failures.join("; "))
        };
        println!("\n{verdict}");
        let json = self.json(&plateau, &failures);
        let path = dir.join("results.json");
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        println!("wrote {}", path.display());
        failures.is_empty()
    }

    fn print_tables(&self, plateau: &Plateau) {
        let s = &self.counts;
        println!(
            "\nsoak: {} min, concurrency {}, {} at {}\n",
            self.minutes, self.concurrency, self.date, self.commit
        );
        println!(
            "| request | sent | ok | clear errors | wrong | unanswered | last ok (s) |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        let total = s.total();
        let kinds = self.kinds.iter().map(|k| (*k, s.by_kind.get(k).cloned()));
        for (kind, c) in kinds.chain([("**total**", Some(total))]) {
            let c = c.unwrap_or_default();
            let last_ok = s
                .last_ok_s
                .get(kind)
                .map_or(String::new(), |t| format!("{t:.0}"));
            println!("| {kind} | {} | {last_ok} |", cells(&c));
        }
        println!("\n| error code | HTTP | message (reason) | count |\n|---:|---:|---|---:|");
        for ((code, status, message), n) in &s.error_kinds {
            println!("| {code} | {status} | {message} | {n} |");
        }
        println!(
            "\nsession-era sessions given up after answering only errors for {:?}: {}",
            crate::load::STUCK,
            s.stuck_sessions
        );
        let c = self.chaos;
        println!(
            "chaos: {} SIGKILL + restart ({} restarts failed, {} found exited on their own), {} SIGSTOP/SIGCONT of 10 s, \
             {} config rewrites ({} reloads seen; metrics success/failure {:?}; {} \"config reloaded\" log lines)",
            c.kills,
            c.restarts_failed,
            c.self_exits,
            c.stops,
            c.reloads_written,
            c.reloads_seen,
            self.reload_metrics,
            self.reload_log_lines
        );
        println!(
            "\n| minute | sent | ok | errors | wrong | unanswered | RSS MiB (end) | RSS MiB (max in minute) |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut from = 0.0;
        for row in &self.rows {
            let to = row.minute * 60.0;
            let max = self
                .rss
                .iter()
                .filter(|(t, _)| *t > from - 0.001 && *t <= to);
            let max = max.map(|(_, k)| *k).max().unwrap_or(row.rss_kib);
            let (end, max) = (row.rss_kib as f64 / MIB, max as f64 / MIB);
            let figures = cells(&row.totals);
            println!("| {:.1} | {figures} | {end:.1} | {max:.1} |", row.minute);
            from = to;
        }
        println!(
            "\nRSS plateau: max of the last third {:.1} MiB <= max of the middle third {:.1} MiB x {GROWTH} + {} MiB = {:.1} MiB: {}",
            plateau.last_max as f64 / MIB,
            plateau.middle_max as f64 / MIB,
            SLACK_KIB / 1024,
            plateau.limit as f64 / MIB,
            if plateau.ok { "yes" } else { "NO" }
        );
        for (title, samples) in [
            ("wrong", &s.wrong_samples),
            ("unanswered", &s.unanswered_samples),
        ] {
            for sample in samples {
                println!("\n--- {title} sample ---\n{sample}");
            }
        }
    }

    fn json(&self, plateau: &Plateau, failures: &[String]) -> Value {
        let s = &self.counts;
        let by_kind: serde_json::Map<String, Value> = s
            .by_kind
            .iter()
            .map(|(k, c)| (k.to_string(), c.json()))
            .collect();
        let timeline: Vec<Value> = self
            .rows
            .iter()
            .map(|r| json!({"minute": r.minute, "totals": r.totals.json(), "rss_kib": r.rss_kib}))
            .collect();
        json!({
            "minutes": self.minutes, "concurrency": self.concurrency, "date": self.date,
            "commit": self.commit, "totals": s.total().json(), "by_kind": by_kind,
            "error_kinds": s.error_kinds.iter().map(|((code, status, message), n)|
                json!({"code": code, "http_status": status, "message": message, "count": n})).collect::<Vec<_>>(),
            "stuck_sessions": s.stuck_sessions, "last_ok_s": s.last_ok_s,
            "wrong_samples": s.wrong_samples, "unanswered_samples": s.unanswered_samples,
            "chaos": self.chaos.json(),
            "reloads": {"metrics": self.reload_metrics, "log_lines": self.reload_log_lines},
            "rss_samples": self.rss, "timeline": timeline,
            "plateau": {"middle_max_kib": plateau.middle_max, "last_max_kib": plateau.last_max,
                        "limit_kib": plateau.limit, "ok": plateau.ok},
            "gateway_alive": self.gateway_alive, "passed": failures.is_empty(), "failures": failures,
        })
    }
}
