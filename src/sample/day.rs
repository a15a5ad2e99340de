//! One forecast day: the record `get_weather_data` emits and that
//! `generate_analysis_code` and `execute_code` read back.
//!
//! The JSON Schema and the parser live together so the bounds they enforce
//! cannot drift apart.

use serde_json::{Map, Value, json};

/// The most days a forecast, a code generation or a `DAYS` list may hold.
pub(crate) const MAX_DAYS: usize = 14;

pub(crate) const CONDITIONS: [&str; 5] = ["sunny", "partly_cloudy", "cloudy", "rain", "storm"];

/// Day 1 is always a Monday: forecasts are keyed by offset, never by the
/// clock, so the same request answers the same on every run.
pub(crate) const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Numeric fields with their inclusive physical bounds.
pub(crate) const NUMERIC_FIELDS: [(&str, f64, f64); 6] = [
    ("day", 1.0, MAX_DAYS as f64),
    ("temp_high_c", -90.0, 60.0),
    ("temp_low_c", -90.0, 60.0),
    ("precipitation_mm", 0.0, 2000.0),
    ("wind_kph", 0.0, 500.0),
    ("humidity_pct", 0.0, 100.0),
];

/// Fields holding one of a fixed set of words.
pub(crate) const TEXT_FIELDS: [(&str, &[&str]); 2] =
    [("condition", &CONDITIONS), ("weekday", &WEEKDAYS)];

/// Fields stored as JSON integers rather than one-decimal numbers.
const INTEGER_FIELDS: [&str; 3] = ["day", "wind_kph", "humidity_pct"];

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Day {
    pub day: u32,
    pub weekday: String,
    pub condition: String,
    pub temp_high_c: f64,
    pub temp_low_c: f64,
    pub precipitation_mm: f64,
    pub wind_kph: f64,
    pub humidity_pct: f64,
}

impl Day {
    pub(crate) fn number(&self, field: &str) -> Option<f64> {
        Some(match field {
            "day" => f64::from(self.day),
            "temp_high_c" => self.temp_high_c,
            "temp_low_c" => self.temp_low_c,
            "precipitation_mm" => self.precipitation_mm,
            "wind_kph" => self.wind_kph,
            "humidity_pct" => self.humidity_pct,
            _ => return None,
        })
    }

    pub(crate) fn text(&self, field: &str) -> Option<&str> {
        match field {
            "condition" => Some(&self.condition),
            "weekday" => Some(&self.weekday),
            _ => None,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        for field in FIELD_ORDER {
            let v = match (self.text(field), self.number(field)) {
                (Some(word), _) => json!(word),
                (None, Some(n)) if INTEGER_FIELDS.contains(&field) => json!(n as i64),
                (None, n) => json!(n.unwrap_or_default()),
            };
            map.insert(field.into(), v);
        }
        Value::Object(map)
    }

    /// Strict inverse of [`Day::to_json`]: every field present, nothing extra,
    /// values in range, and `temp_low_c <= temp_high_c`.
    pub(crate) fn from_json(value: &Value) -> Result<Day, String> {
        let map = value.as_object().ok_or("a day must be a JSON object")?;
        if let Some(extra) = map.keys().find(|k| !is_field(k)) {
            return Err(format!(
                "unknown field \"{}\"",
                super::args::truncate(extra, 40)
            ));
        }
        let mut numbers = [0.0; NUMERIC_FIELDS.len()];
        for (slot, (field, min, max)) in numbers.iter_mut().zip(NUMERIC_FIELDS) {
            let n = map
                .get(field)
                .and_then(Value::as_f64)
                .ok_or_else(|| format!("field \"{field}\" must be a number"))?;
            if !(min..=max).contains(&n) {
                return Err(format!("field \"{field}\" must be within {min}..={max}"));
            }
            if INTEGER_FIELDS.contains(&field) && n.fract() != 0.0 {
                return Err(format!("field \"{field}\" must be an integer"));
            }
            *slot = n;
        }
        let mut words = [""; TEXT_FIELDS.len()];
        for (slot, (field, allowed)) in words.iter_mut().zip(TEXT_FIELDS) {
            *slot = map
                .get(field)
                .and_then(Value::as_str)
                .filter(|s| allowed.contains(s))
                .ok_or_else(|| {
                    format!("field \"{field}\" must be one of: {}", allowed.join(", "))
                })?;
        }
        let [
            day,
            temp_high_c,
            temp_low_c,
            precipitation_mm,
            wind_kph,
            humidity_pct,
        ] = numbers;
        if temp_low_c > temp_high_c {
            return Err("temp_low_c must not exceed temp_high_c".into());
        }
        Ok(Day {
            day: day as u32,
            condition: words[0].to_string(),
            weekday: words[1].to_string(),
            temp_high_c,
            temp_low_c,
            precipitation_mm,
            wind_kph,
            humidity_pct,
        })
    }
}

pub(crate) fn is_field(name: &str) -> bool {
    NUMERIC_FIELDS.iter().any(|(f, _, _)| *f == name) || TEXT_FIELDS.iter().any(|(f, _)| *f == name)
}

/// JSON Schema of one day, built from the same tables as the parser.
/// (`temp_low_c <= temp_high_c` is not expressible in JSON Schema; the
/// parser checks it.)
pub(crate) fn day_schema() -> Value {
    let mut props = Map::new();
    for (field, min, max) in NUMERIC_FIELDS {
        let ty = if INTEGER_FIELDS.contains(&field) {
            "integer"
        } else {
            "number"
        };
        props.insert(
            field.into(),
            json!({"type": ty, "minimum": min, "maximum": max}),
        );
    }
    for (field, allowed) in TEXT_FIELDS {
        props.insert(field.into(), json!({"type": "string", "enum": allowed}));
    }
    let required: Vec<&str> = FIELD_ORDER.to_vec();
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false
    })
}

/// Field order of [`Day::to_json`], also used for `required`.
const FIELD_ORDER: [&str; 8] = [
    "day",
    "weekday",
    "condition",
    "temp_high_c",
    "temp_low_c",
    "precipitation_mm",
    "wind_kph",
    "humidity_pct",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Day {
        Day {
            day: 3,
            weekday: "Wednesday".into(),
            condition: "rain".into(),
            temp_high_c: 12.5,
            temp_low_c: 6.0,
            precipitation_mm: 7.2,
            wind_kph: 22.0,
            humidity_pct: 88.0,
        }
    }

    #[test]
    fn json_round_trip() {
        let day = sample();
        let json = day.to_json();
        assert_eq!(json["wind_kph"], json!(22));
        assert_eq!(json["temp_high_c"], json!(12.5));
        assert_eq!(Day::from_json(&json), Ok(day));
    }

    #[test]
    fn parser_is_strict() {
        let mut json = sample().to_json();
        json["extra"] = json!(1);
        assert!(Day::from_json(&json).unwrap_err().contains("unknown field"));
        let mut json = sample().to_json();
        json["temp_low_c"] = json!(20);
        assert!(Day::from_json(&json).is_err());
        let mut json = sample().to_json();
        json["condition"] = json!("snow");
        assert!(Day::from_json(&json).is_err());
        let mut json = sample().to_json();
        json["wind_kph"] = json!(3.5);
        assert!(Day::from_json(&json).is_err());
    }

    #[test]
    fn schema_lists_every_field() {
        let schema = day_schema();
        for field in FIELD_ORDER {
            assert!(is_field(field));
            assert!(schema["properties"].get(field).is_some(), "{field}");
        }
    }
}
