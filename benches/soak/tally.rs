//! The counts, per kind of request: sent, ok, clear errors by code, wrong, unanswered; and the first
//! few wrong and unanswered exchanges in full.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};

use crate::check::Outcome;

/// Wrong and unanswered exchanges kept in full, each.
const SAMPLES: usize = 5;

#[derive(Clone, Default)]
pub struct Counts {
    pub sent: u64,
    pub ok: u64,
    /// Clear errors by JSON-RPC code.
    pub errors: BTreeMap<i64, u64>,
    pub wrong: u64,
    pub unanswered: u64,
}

impl Counts {
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    fn add(&mut self, other: &Counts) {
        self.sent += other.sent;
        self.ok += other.ok;
        for (code, n) in &other.errors {
            *self.errors.entry(*code).or_default() += n;
        }
        self.wrong += other.wrong;
        self.unanswered += other.unanswered;
    }

    pub fn json(&self) -> Value {
        let errors: BTreeMap<String, u64> = self
            .errors
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect();
        json!({"sent": self.sent, "ok": self.ok, "errors": self.error_total(),
               "errors_by_code": errors, "wrong": self.wrong, "unanswered": self.unanswered})
    }
}

#[derive(Clone, Default)]
pub struct Snapshot {
    pub by_kind: BTreeMap<&'static str, Counts>,
    /// Clear errors by code, HTTP status, message and reason: how many.
    pub error_kinds: BTreeMap<(i64, u16, String), u64>,
    pub wrong_samples: Vec<String>,
    pub unanswered_samples: Vec<String>,
    /// Per kind: when (seconds into the run) it was last answered ok.
    pub last_ok_s: BTreeMap<&'static str, f64>,
    /// Session-era sessions given up after answering only clear errors for [`crate::load::STUCK`].
    pub stuck_sessions: u64,
}

impl Snapshot {
    pub fn total(&self) -> Counts {
        let mut all = Counts::default();
        for c in self.by_kind.values() {
            all.add(c);
        }
        all
    }
}

pub struct Tally {
    start: Instant,
    counts: Mutex<Snapshot>,
}

impl Tally {
    /// Counts from `start` on.
    pub fn new(start: Instant) -> Tally {
        Tally {
            start,
            counts: Mutex::default(),
        }
    }

    pub fn sent(&self, kind: &'static str) {
        self.counts
            .lock()
            .unwrap()
            .by_kind
            .entry(kind)
            .or_default()
            .sent += 1;
    }

    /// Counts an outcome; `exchange` describes the request and its answer, for a wrong or unanswered one.
    pub fn record(&self, kind: &'static str, outcome: &Outcome, exchange: impl FnOnce() -> String) {
        let mut s = self.counts.lock().unwrap();
        let s = &mut *s;
        let counts = s.by_kind.entry(kind).or_default();
        let (samples, why) = match outcome {
            Outcome::Ok => {
                counts.ok += 1;
                let at = self.start.elapsed().as_secs_f64();
                s.last_ok_s.insert(kind, at);
                return;
            }
            Outcome::Error {
                code,
                status,
                message,
            } => {
                *counts.errors.entry(*code).or_default() += 1;
                let kind = (*code, *status, message.clone());
                *s.error_kinds.entry(kind).or_default() += 1;
                return;
            }
            Outcome::Wrong(why) => {
                counts.wrong += 1;
                (&mut s.wrong_samples, why)
            }
            Outcome::Unanswered(why) => {
                counts.unanswered += 1;
                (&mut s.unanswered_samples, why)
            }
        };
        if samples.len() < SAMPLES {
            samples.push(format!("{kind}: {why}\n{}", exchange()));
        }
    }

    pub fn stuck_session(&self) {
        self.counts.lock().unwrap().stuck_sessions += 1;
    }

    pub fn snapshot(&self) -> Snapshot {
        self.counts.lock().unwrap().clone()
    }
}
