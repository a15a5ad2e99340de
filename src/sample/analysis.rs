//! `generate_analysis_code`: turn a forecast into a classification program.
//!
//! The thresholds adapt to the forecast's climate so a cold city still gets
//! outdoor days and a hot one gets a heat rule; everything is a pure
//! function of the input, so the same forecast always yields the same code.

use serde_json::{Value, json};

use super::args::Args;
use super::classify::{Cond, Op, Program, Rule};
use super::day::{Day, MAX_DAYS};

/// Mean daily high below which the forecast counts as cold, in °C.
const COLD_BELOW: f64 = 12.0;
/// Mean daily high from which the forecast counts as warm, in °C.
const WARM_FROM: f64 = 26.0;

/// Outdoor threshold bounds: never call a 5 °C day "outdoor weather", never
/// demand more than 22 °C.
const OUTDOOR_MIN: f64 = 8.0;
const OUTDOOR_MAX: f64 = 22.0;

struct Thresholds {
    climate: &'static str,
    /// Lowest high that still makes a clear day an outdoor day: a little
    /// below the forecast's mean high, so "nice for here" counts.
    outdoor_min_high: f64,
    /// A high this hot sends people indoors (warm climates only).
    heat_max_high: Option<f64>,
    /// A high this cold sends people indoors (cold climates only).
    frost_max_high: Option<f64>,
}

fn thresholds(mean_high: f64) -> Thresholds {
    let climate = if mean_high < COLD_BELOW {
        "cold"
    } else if mean_high >= WARM_FROM {
        "warm"
    } else {
        "mild"
    };
    Thresholds {
        climate,
        outdoor_min_high: (mean_high.floor() - 2.0).clamp(OUTDOOR_MIN, OUTDOOR_MAX),
        heat_max_high: (climate == "warm").then_some(35.0),
        frost_max_high: (climate == "cold").then_some(-10.0),
    }
}

fn compare(field: &str, op: Op, value: f64) -> Cond {
    Cond::Compare {
        field: field.into(),
        op,
        value,
    }
}

fn rule(cond: Cond, label: &str) -> Rule {
    Rule {
        cond,
        label: label.into(),
    }
}

/// Rules plus a plain-language line for each, in evaluation order.
fn rules(t: &Thresholds) -> (Vec<Rule>, Vec<String>) {
    let mut rules = vec![
        rule(compare("precipitation_mm", Op::Ge, 5.0), "indoor"),
        rule(compare("wind_kph", Op::Ge, 40.0), "indoor"),
    ];
    let mut why = vec![
        "5 mm or more of precipitation: indoor".to_string(),
        "wind of 40 km/h or more: indoor".to_string(),
    ];
    if let Some(heat) = t.heat_max_high {
        rules.push(rule(compare("temp_high_c", Op::Ge, heat), "indoor"));
        why.push(format!("a high of {heat} °C or more (heat): indoor"));
    }
    if let Some(frost) = t.frost_max_high {
        rules.push(rule(compare("temp_high_c", Op::Le, frost), "indoor"));
        why.push(format!("a high of {frost} °C or less (hard frost): indoor"));
    }
    let min = t.outdoor_min_high;
    rules.push(rule(
        Cond::And(vec![
            compare("temp_high_c", Op::Ge, min),
            Cond::In {
                field: "condition".into(),
                words: vec!["sunny".into(), "partly_cloudy".into()],
            },
        ]),
        "outdoor",
    ));
    why.push(format!(
        "sunny or partly cloudy with a high of {min} °C or more: outdoor"
    ));
    why.push("anything else: mixed".into());
    (rules, why)
}

/// Mean of the daily highs, rounded to one decimal.
fn mean_high(days: &[Day]) -> f64 {
    let sum: f64 = days.iter().map(|d| d.temp_high_c).sum();
    (sum / days.len() as f64 * 10.0).round() / 10.0
}

fn read_days(weather: &Value) -> Result<(Option<&str>, Vec<Day>), String> {
    let w = Args::new(weather, &["city", "units", "source", "days"])
        .map_err(|e| format!("weather_data: {e}"))?;
    if let Some(units) = w.get("units")
        && units != "metric"
    {
        return Err("weather_data.units must be \"metric\"".into());
    }
    if w.get("source").is_some_and(|s| !s.is_string()) {
        return Err("weather_data.source must be a string".into());
    }
    let city = w
        .optional_text("city", 100)
        .map_err(|e| format!("weather_data: {e}"))?;
    let items = w
        .get("days")
        .and_then(Value::as_array)
        .filter(|d| (1..=MAX_DAYS).contains(&d.len()))
        .ok_or_else(|| {
            format!(
                "weather_data.days must be an array of 1 to {MAX_DAYS} days from get_weather_data"
            )
        })?;
    let days = items
        .iter()
        .enumerate()
        .map(|(i, d)| Day::from_json(d).map_err(|e| format!("weather_data.days[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((city, days))
}

/// The tool: `{weather_data}` → `{python_code, description, climate, mean_high_c}`.
pub(crate) fn generate(arguments: &Value) -> Result<Value, String> {
    let args = Args::new(arguments, &["weather_data"])?;
    let weather = args
        .get("weather_data")
        .filter(|v| v.is_object())
        .ok_or("argument \"weather_data\" must be the object returned by get_weather_data")?;
    let (city, days) = read_days(weather)?;
    let mean = mean_high(&days);
    let t = thresholds(mean);
    let (rules, why) = rules(&t);
    let place = city.map_or(String::new(), |c| format!(" for {c}"));
    let header = vec![
        "agent-gateway classification v1".to_string(),
        format!(
            "{} day(s){place}; mean high {mean} °C, so thresholds for a {} climate",
            days.len(),
            t.climate
        ),
        "execute_code evaluates classify() for every entry of DAYS".to_string(),
    ];
    let program = Program {
        rules,
        fallback: "mixed".into(),
        days,
    };
    let description = format!(
        "Classifies each day as outdoor, mixed or indoor; the first matching rule wins. \
         The mean daily high is {mean} °C ({} climate). Rules: {}. \
         Pass python_code unchanged to execute_code to get the labels.",
        t.climate,
        why.join("; ")
    );
    Ok(json!({
        "python_code": program.render(&header),
        "description": description,
        "climate": t.climate,
        "mean_high_c": mean,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::classify;
    use crate::sample::weather::forecast_json;

    #[test]
    fn generated_code_parses_and_keeps_the_days() {
        let weather = forecast_json("Tampa, FL", 10);
        let out = generate(&json!({"weather_data": weather})).unwrap();
        let code = out["python_code"].as_str().unwrap();
        assert!(code.starts_with("# agent-gateway classification v1\n"));
        let program = classify::parse(code).unwrap();
        let days: Vec<Value> = program.days.iter().map(Day::to_json).collect();
        assert_eq!(json!(days), weather["days"]);
    }

    #[test]
    fn thresholds_follow_the_climate() {
        assert_eq!(thresholds(5.0).climate, "cold");
        assert_eq!(thresholds(20.0).climate, "mild");
        assert_eq!(thresholds(30.0).climate, "warm");
        assert_eq!(thresholds(5.0).outdoor_min_high, OUTDOOR_MIN);
        assert_eq!(thresholds(15.7).outdoor_min_high, 13.0);
        assert_eq!(thresholds(30.0).outdoor_min_high, OUTDOOR_MAX);
        assert!(thresholds(30.0).heat_max_high.is_some());
        assert!(thresholds(5.0).frost_max_high.is_some());
        let (rules, why) = rules(&thresholds(30.0));
        assert_eq!(rules.len() + 1, why.len());
    }

    #[test]
    fn rejects_foreign_weather_data() {
        assert!(generate(&json!({})).is_err());
        assert!(generate(&json!({"weather_data": "sunny"})).is_err());
        assert!(generate(&json!({"weather_data": {"days": []}})).is_err());
        let mut weather = forecast_json("Oslo", 2);
        weather["units"] = json!("imperial");
        assert!(generate(&json!({"weather_data": weather})).is_err());
        let mut weather = forecast_json("Oslo", 2);
        weather["days"][1]["pressure_hpa"] = json!(1000);
        let e = generate(&json!({"weather_data": weather})).unwrap_err();
        assert!(e.contains("days[1]: unknown field"), "{e}");
    }
}
