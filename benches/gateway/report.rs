//! Results: each row printed as it is measured, and all rows and notes written as JSON at the end.

use std::path::Path;

use serde_json::{Value, json};

use crate::client::Stats;

struct Row {
    scenario: String,
    via: String,
    concurrency: usize,
    stats: Stats,
    /// The direct row this one is compared with.
    baseline: Option<(f64, f64, f64, f64)>,
}

pub struct Report {
    rows: Vec<Row>,
    notes: Vec<(String, Value)>,
    /// The machine, read when the run starts (its load average is the one at the start).
    machine: Value,
}

impl Report {
    pub fn new() -> Report {
        Report {
            rows: Vec::new(),
            notes: Vec::new(),
            machine: machine(),
        }
    }

    pub fn add(
        &mut self,
        scenario: &str,
        via: &str,
        c: usize,
        stats: Stats,
        direct: Option<&Stats>,
    ) {
        let baseline = direct.map(|d| (d.rps(), d.pct(0.5), d.pct(0.9), d.pct(0.99)));
        let row = Row {
            scenario: scenario.into(),
            via: via.into(),
            concurrency: c,
            stats,
            baseline,
        };
        print_row(&row);
        self.rows.push(row);
    }

    pub fn note(&mut self, key: &str, value: Value) {
        println!("  {key}: {value}");
        self.notes.push((key.into(), value));
    }

    pub fn write(&self, path: &Path, args: &Value) {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let s = &r.stats;
                let mut v = json!({"scenario": r.scenario, "via": r.via, "concurrency": r.concurrency,
                    "ok": s.ok, "errors": s.errors, "seconds": s.seconds, "rps": s.rps(),
                    "p50_us": s.pct(0.5), "p90_us": s.pct(0.9), "p99_us": s.pct(0.99),
                    "first_error": s.first_error});
                if let Some((rps, p50, p90, p99)) = r.baseline {
                    v["rps_ratio_vs_direct"] = json!(s.rps() / rps);
                    v["added_p50_us"] = json!(s.pct(0.5) - p50);
                    v["added_p90_us"] = json!(s.pct(0.9) - p90);
                    v["added_p99_us"] = json!(s.pct(0.99) - p99);
                }
                v
            })
            .collect();
        let notes: serde_json::Map<String, Value> = self.notes.iter().cloned().collect();
        let out = json!({"machine": self.machine, "args": args, "rows": rows, "notes": notes});
        std::fs::write(path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
    }
}

pub fn print_header() {
    println!(
        "{:<34} {:<22} {:>3} {:>9} {:>5} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9}",
        "scenario",
        "via",
        "c",
        "req/s",
        "err",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "×direct",
        "+p50 µs",
        "+p99 µs"
    );
}

fn print_row(r: &Row) {
    let s = &r.stats;
    let (ratio, add50, add99) = match r.baseline {
        Some((rps, p50, _, p99)) => (
            format!("{:.2}", s.rps() / rps),
            format!("{:.0}", s.pct(0.5) - p50),
            format!("{:.0}", s.pct(0.99) - p99),
        ),
        None => ("".into(), "".into(), "".into()),
    };
    println!(
        "{:<34} {:<22} {:>3} {:>9.0} {:>5} {:>9.0} {:>9.0} {:>9.0} {:>7} {:>9} {:>9}",
        r.scenario,
        r.via,
        r.concurrency,
        s.rps(),
        s.errors,
        s.pct(0.5),
        s.pct(0.9),
        s.pct(0.99),
        ratio,
        add50,
        add99
    );
    if let Some(e) = &s.first_error {
        println!("    first error: {e}");
    }
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({"nproc": std::thread::available_parallelism().map(|n| n.get()).ok(),
           "cpu": model, "loadavg_at_start": load.trim()})
}
