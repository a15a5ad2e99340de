//! HTTP caching of the cards the gateway serves: a strong `ETag` over the rewritten card, `Last-Modified`
//! from when the gateway last saw the agent's card change, and the revalidation rules of RFC 9110 §13
//! (`If-None-Match` first; `If-Modified-Since` only without it).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};
use sha2::{Digest, Sha256};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A strong validator: the rewritten card is deterministic for a given public address.
pub fn etag(body: &[u8]) -> String {
    let hash = Sha256::digest(body);
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether the client's copy is current: by `If-None-Match` (weak comparison, as RFC 9110 asks for GET)
/// when it sent one, else by `If-Modified-Since`.
pub fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(tags) = text(IF_NONE_MATCH) {
        return tags
            .split(',')
            .map(|c| c.trim().trim_start_matches("W/"))
            .any(|c| c == "*" || c == etag);
    }
    text(IF_MODIFIED_SINCE)
        .and_then(parse_http_date)
        .is_some_and(|since| whole_seconds(modified) <= since)
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// `t` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil(days as i64);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[month as usize - 1],
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// An IMF-fixdate; the obsolete formats RFC 9110 also allows are taken as no date (the card is then sent).
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let mut parts = text.split_whitespace();
    let (_, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" || parts.next().is_some() {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let (day, year): (u32, i64) = (day.parse().ok()?, year.parse().ok()?);
    let mut hms = time.split(':').map(|n| n.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if day == 0 || day > 31 || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = u64::try_from(days_since_epoch(year, month, day)).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(days * 86_400 + h * 3600 + m * 60 + s))
}

/// (year, month, day) of a day count since 1970-01-01, in the proleptic Gregorian calendar.
fn civil(days: i64) -> (i64, u32, u32) {
    // Eras of 400 years (146,097 days) starting on March 1st, so that leap days end a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil`].
fn days_since_epoch(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip_and_match_known_ones() {
        let rfc_example = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(http_date(rfc_example), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(rfc_example)
        );
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(http_date(leap), "Tue, 29 Feb 2000 00:00:00 GMT");
        for secs in [0, 86_399, 1_700_000_000, 4_102_444_800, 253_402_300_799] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_http_date(&http_date(t)), Some(t), "{secs}");
        }
        for junk in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 PST",
        ] {
            assert_eq!(parse_http_date(junk), None, "{junk}");
        }
    }

    #[test]
    fn revalidation_follows_rfc_9110() {
        let modified = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let tag = etag(b"{}");
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        let date = http_date(modified);
        assert!(not_modified(
            &headers(&[("if-none-match", &tag)]),
            &tag,
            modified
        ));
        assert!(not_modified(
            &headers(&[("if-modified-since", &date)]),
            &tag,
            modified
        ));
        let earlier = http_date(modified - Duration::from_secs(1));
        assert!(!not_modified(
            &headers(&[("if-modified-since", &earlier)]),
            &tag,
            modified
        ));
        let both = headers(&[("if-none-match", "\"x\""), ("if-modified-since", &date)]);
        assert!(!not_modified(&both, &tag, modified));
        assert!(!not_modified(&HeaderMap::new(), &tag, modified));
    }
}
