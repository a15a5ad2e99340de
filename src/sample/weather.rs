//! `get_weather_data`: a synthetic, deterministic forecast.
//!
//! Every value derives from SHA-256 of the normalised city name (its
//! "climate") and of the city plus day index (that day's weather), never from
//! the clock or a network, so a quickstart, a test and a demo all see the
//! same numbers. Values are computed in integer tenths so the JSON text is
//! identical on every platform.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::args::Args;
use super::day::{Day, MAX_DAYS, WEEKDAYS};
use super::memory::MAX_CITY_CHARS;

/// Lower-cased, trimmed, inner whitespace collapsed: "  Tampa,  FL" and
/// "tampa, fl" are the same place.
pub(crate) fn normalise_city(city: &str) -> String {
    city.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Uniform-enough integer in `lo..=hi` from two hash bytes.
fn pick(bytes: &[u8], at: usize, lo: i32, hi: i32) -> i32 {
    let raw = u16::from_le_bytes([bytes[at], bytes[at + 1]]) as i32;
    lo + raw % (hi - lo + 1)
}

struct Climate {
    /// Typical daily high, tenths of °C, 5.0..=35.0.
    base_high: i32,
    /// 0..=99: shifts the odds towards rain and storms.
    wetness: i32,
}

fn climate(city: &str) -> Climate {
    let h = digest(&[b"agent-gateway-sample/climate/v1", city.as_bytes()]);
    Climate {
        base_high: pick(&h, 0, 50, 350),
        wetness: pick(&h, 2, 0, 99),
    }
}

/// Per-condition ranges: (high-temperature shift, low-high spread,
/// precipitation, wind kph, humidity %); temperatures and precipitation in
/// tenths. Ranges are chosen so a day is physically consistent: only rain and
/// storm carry real precipitation, storms are wet and windy, clear days are
/// dry and have the widest day-night spread.
type Ranges = (i32, (i32, i32), (i32, i32), (i32, i32), (i32, i32));

fn ranges(condition: &str) -> Ranges {
    match condition {
        "sunny" => (10, (80, 140), (0, 0), (3, 30), (20, 55)),
        "partly_cloudy" => (0, (60, 110), (0, 0), (5, 42), (35, 70)),
        "cloudy" => (-15, (40, 80), (0, 19), (8, 45), (50, 85)),
        "rain" => (-30, (30, 60), (20, 250), (10, 45), (75, 98)),
        _ => (-40, (30, 70), (150, 600), (45, 95), (80, 100)),
    }
}

fn condition(roll: i32, wetness: i32) -> &'static str {
    let storm = 20 + wetness / 2;
    let rain = 100 + 3 * wetness;
    match roll {
        r if r < storm => "storm",
        r if r < rain => "rain",
        r if r < rain + 200 => "cloudy",
        r if r < rain + 450 => "partly_cloudy",
        _ => "sunny",
    }
}

fn forecast_day(city: &str, climate: &Climate, day: u32) -> Day {
    let h = digest(&[
        b"agent-gateway-sample/day/v1",
        city.as_bytes(),
        &day.to_le_bytes(),
    ]);
    let condition = condition(pick(&h, 0, 0, 999), climate.wetness);
    let (shift, spread, precip, wind, humidity) = ranges(condition);
    let high = climate.base_high + shift + pick(&h, 2, -40, 40);
    let low = high - pick(&h, 4, spread.0, spread.1);
    let tenths = |t: i32| f64::from(t) / 10.0;
    Day {
        day,
        weekday: WEEKDAYS[(day as usize - 1) % 7].to_string(),
        condition: condition.to_string(),
        temp_high_c: tenths(high),
        temp_low_c: tenths(low),
        precipitation_mm: tenths(pick(&h, 6, precip.0, precip.1)),
        wind_kph: f64::from(pick(&h, 8, wind.0, wind.1)),
        humidity_pct: f64::from(pick(&h, 10, humidity.0, humidity.1)),
    }
}

/// The forecast for `days` days (1..=14, checked by the caller).
pub(crate) fn forecast(city: &str, days: u32) -> Vec<Day> {
    let key = normalise_city(city);
    let climate = climate(&key);
    (1..=days)
        .map(|d| forecast_day(&key, &climate, d))
        .collect()
}

/// The tool: `{city, days?}` → `{city, units, source, days}`.
pub(crate) fn tool(arguments: &Value) -> Result<Value, String> {
    let args = Args::new(arguments, &["city", "days"])?;
    let city = args.text("city", MAX_CITY_CHARS)?;
    let days = args.integer("days", 1, MAX_DAYS as i64, 7)?;
    Ok(forecast_json(city, days as u32))
}

/// Structured output of `get_weather_data`.
pub(crate) fn forecast_json(city: &str, days: u32) -> Value {
    let days: Vec<Value> = forecast(city, days).iter().map(Day::to_json).collect();
    json!({
        "city": city,
        "units": "metric",
        "source": "synthetic",
        "days": days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_case_and_spacing() {
        assert_eq!(normalise_city("  Tampa,\t FL "), "tampa, fl");
        assert_eq!(forecast("Tampa, FL", 7), forecast("tampa,  fl", 7));
    }

    #[test]
    fn prefix_of_a_longer_forecast_is_the_same() {
        assert_eq!(forecast("Oslo", 14)[..5], forecast("Oslo", 5)[..]);
    }

    #[test]
    fn days_are_physically_consistent() {
        for city in ["Oslo", "Tampa, FL", "Cairo", "Reykjavík", "東京", "x"] {
            for d in forecast(city, 14) {
                assert!(d.temp_low_c <= d.temp_high_c, "{d:?}");
                match d.condition.as_str() {
                    "storm" => assert!(d.precipitation_mm >= 15.0 && d.wind_kph >= 45.0),
                    "rain" => assert!(d.precipitation_mm >= 2.0),
                    "sunny" | "partly_cloudy" => assert_eq!(d.precipitation_mm, 0.0),
                    _ => assert!(d.precipitation_mm < 2.0),
                }
                assert!((0.0..=100.0).contains(&d.humidity_pct));
                // Round trip through the strict parser proves the bounds hold.
                assert_eq!(Day::from_json(&d.to_json()).as_ref(), Ok(&d));
            }
        }
    }

    #[test]
    fn weekdays_start_on_monday() {
        let days = forecast("Oslo", 8);
        assert_eq!(days[0].weekday, "Monday");
        assert_eq!(days[7].weekday, "Monday");
    }

    #[test]
    fn conditions_vary_across_cities() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..40 {
            for d in forecast(&format!("city {i}"), 14) {
                seen.insert(d.condition);
            }
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
    }
}
