//! The Generic Cell Rate Algorithm, as one pure step over a "theoretical arrival time" (TAT).
//!
//! A limit of N per minute is a cell every `T = 60s / N` with a burst of N: a fresh key may make N calls at
//! once, then one more every `T`. The whole state of a key is one number, the TAT: the time at which the key
//! would be back to an empty bucket. That is why GCRA suits both stores: one integer per key in memory, and
//! one integer per key in Redis updated by one small script. `gcra.lua` is this same step in Lua; keep them
//! in step.

/// The spacing and burst of one limit, in the store's time unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Time between two cells (`T`).
    pub interval: u64,
    /// Calls a fresh key may make at once.
    pub burst: u64,
}

impl Rate {
    /// `per_minute` calls per minute, with one minute written in the store's unit (`60_000_000_000` for
    /// nanoseconds). `None` for a limit of 0, which no config can set (the decoder asks for at least 1).
    pub fn per_minute(per_minute: u32, minute: u64) -> Option<Rate> {
        let burst = u64::from(per_minute);
        (burst > 0).then(|| Rate {
            // At least one unit, so a huge limit cannot turn into "no spacing at all".
            interval: (minute / burst).max(1),
            burst,
        })
    }
}

/// One call at `now` against a key whose TAT is `tat` (`None` for a key never seen or forgotten).
/// `Ok(new_tat)` admits the call, and the caller stores `new_tat`; `Err(wait)` refuses it, stores nothing,
/// and says how long until one call would be admitted.
pub fn step(tat: Option<u64>, now: u64, rate: Rate) -> Result<u64, u64> {
    // A TAT in the past means the bucket has fully drained: it counts from now, not from then.
    let tat = tat.map_or(now, |t| t.max(now));
    let new_tat = tat.saturating_add(rate.interval);
    let allow_at = new_tat.saturating_sub(rate.burst.saturating_mul(rate.interval));
    if now < allow_at {
        Err(allow_at - now)
    } else {
        Ok(new_tat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    #[test]
    fn a_fresh_key_gets_its_burst_then_waits_one_interval() {
        let rate = Rate::per_minute(5, MINUTE).unwrap();
        assert_eq!(rate.interval, 12_000);
        let mut tat = None;
        for _ in 0..5 {
            tat = Some(step(tat, 0, rate).expect("within the burst"));
        }
        assert_eq!(step(tat, 0, rate), Err(12_000));
        // Half an interval later the wait has halved; one interval later one call is admitted, and only one.
        assert_eq!(step(tat, 6_000, rate), Err(6_000));
        tat = Some(step(tat, 12_000, rate).expect("one cell has drained"));
        assert_eq!(step(tat, 12_000, rate), Err(12_000));
    }

    #[test]
    fn an_idle_key_starts_over_with_a_full_burst() {
        let rate = Rate::per_minute(2, MINUTE).unwrap();
        let tat = step(step(None, 0, rate).ok(), 0, rate).unwrap();
        assert!(step(Some(tat), 0, rate).is_err());
        // A minute later the TAT lies in the past: the whole burst is back, as for a new key.
        let later = 10 * MINUTE;
        let tat = step(Some(tat), later, rate).unwrap();
        assert!(step(Some(tat), later, rate).is_ok());
    }

    #[test]
    fn over_a_long_run_the_rate_is_the_limit() {
        // Calling as fast as allowed for ten minutes admits the burst plus one per interval: 10 + 10 * 10.
        let rate = Rate::per_minute(10, MINUTE).unwrap();
        let (mut tat, mut admitted) = (None, 0);
        for now in (0..=10 * MINUTE).step_by(100) {
            while let Ok(t) = step(tat, now, rate) {
                tat = Some(t);
                admitted += 1;
            }
        }
        assert_eq!(admitted, 110);
    }

    #[test]
    fn zero_is_no_rate_and_extremes_do_not_overflow() {
        assert_eq!(Rate::per_minute(0, MINUTE), None);
        let fast = Rate::per_minute(u32::MAX, 60).unwrap();
        assert_eq!(fast.interval, 1);
        assert!(step(None, 0, fast).is_ok());
        let one = Rate {
            interval: 1,
            burst: 1,
        };
        assert_eq!(step(Some(u64::MAX), 0, one), Err(u64::MAX - 1));
    }
}
