//! The chaos, on a fixed schedule that repeats every minute of the run:
//!
//! - at :00 (from the second minute on) the config file is rewritten and the gateway's reload awaited;
//! - at :10 one upstream is killed with SIGKILL and at :15 started again on the same port (py, then
//!   everything, then the agent, in turn);
//! - at :35 another upstream is stopped with SIGSTOP and at :45 continued (everything, agent, py).
//!
//! An event that would not end before the run does is left out, so every upstream runs at the end.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config::{Config, await_reload, reloads};
use crate::procs::Proc;

#[derive(Default)]
pub struct Log {
    pub kills: u64,
    pub restarts_failed: u64,
    /// Upstreams found already exited when their turn to be killed came.
    pub self_exits: u64,
    pub stops: u64,
    pub reloads_written: u64,
    /// Rewrites after which the gateway's success count rose within 10 s.
    pub reloads_seen: u64,
    /// Every event: seconds into the run, and what happened.
    pub events: Vec<(f64, String)>,
}

impl Log {
    fn note(&mut self, start: Instant, what: String) {
        self.events.push((start.elapsed().as_secs_f64(), what));
    }

    pub fn json(&self) -> Value {
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|(at, what)| json!({"at_s": (at * 10.0).round() / 10.0, "event": what}))
            .collect();
        json!({"kills": self.kills, "restarts_failed": self.restarts_failed,
               "self_exits": self.self_exits, "stops": self.stops,
               "reloads_written": self.reloads_written, "reloads_seen": self.reloads_seen,
               "events": events})
    }
}

/// Runs the schedule from `start` to `end` on `upstreams` (py, everything, agent).
pub async fn run(
    upstreams: &mut [Proc; 3],
    config: &mut Config,
    start: Instant,
    end: Instant,
) -> Log {
    let http = reqwest::Client::new();
    let mut log = Log::default();
    let at = |s: u64| start + Duration::from_secs(s);
    for minute in 0.. {
        let base = minute * 60;
        if at(base) >= end {
            break;
        }
        if minute > 0 {
            tokio::time::sleep_until(at(base).into()).await;
            let before = reloads(&http, config.metrics_addr())
                .await
                .map_or(0, |r| r.0);
            config.rewrite();
            log.reloads_written += 1;
            let seen = await_reload(&http, config.metrics_addr(), before).await;
            log.reloads_seen += u64::from(seen);
            let result = if seen {
                "reloaded"
            } else {
                "NOT reloaded within 10 s"
            };
            log.note(start, format!("config rewritten: {result}"));
        }
        if at(base + 15) < end {
            let victim = &mut upstreams[minute as usize % 3];
            tokio::time::sleep_until(at(base + 10).into()).await;
            if let Some(status) = victim.kill() {
                log.self_exits += 1;
                log.note(
                    start,
                    format!("{} had exited on its own ({status})", victim.name),
                );
            }
            log.kills += 1;
            log.note(start, format!("SIGKILL {}", victim.name));
            tokio::time::sleep_until(at(base + 15).into()).await;
            let restarted = victim.spawn().await;
            if let Err(e) = &restarted {
                log.restarts_failed += 1;
                eprintln!("soak: restarting {} failed: {e}", victim.name);
            }
            let result = restarted.map_or_else(|e| format!("failed: {e}"), |()| "listening".into());
            log.note(start, format!("restart {}: {result}", victim.name));
        }
        if at(base + 45) < end {
            let victim = &upstreams[(minute as usize + 1) % 3];
            tokio::time::sleep_until(at(base + 35).into()).await;
            signal(&mut log, start, victim, "STOP");
            log.stops += 1;
            tokio::time::sleep_until(at(base + 45).into()).await;
            signal(&mut log, start, victim, "CONT");
        }
    }
    log
}

fn signal(log: &mut Log, start: Instant, proc: &Proc, signal: &str) {
    let result = proc.signal(signal).err().unwrap_or_default();
    log.note(start, format!("SIG{signal} {} {result}", proc.name));
}
