//! The built-in sample upstream, exercised through its public API the way
//! the gateway's MCP layer calls it: schemas, the weather → code → execute
//! pipeline, the evaluator's refusals, and memory isolation.

use agent_gateway::sample::Sample;
use serde_json::{Value, json};

const REFUSAL: &str =
    "execute_code runs only the classification code produced by generate_analysis_code: ";

fn tool(sample: &Sample, name: &str) -> Value {
    sample
        .tools()
        .into_iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tool {name}"))
}

/// Calls a tool after checking the arguments against its inputSchema (as the
/// gateway does) and the result against its outputSchema.
fn call(sample: &Sample, name: &str, args: Value, caller: Option<&str>) -> Value {
    let def = tool(sample, name);
    let input = jsonschema::validator_for(&def["inputSchema"]).unwrap();
    if let Err(e) = input.validate(&args) {
        panic!("{name}: arguments {args} rejected by inputSchema: {e}");
    }
    let out = sample.call_tool(name, &args, caller);
    assert_ne!(out["isError"], json!(true), "{name} failed: {out}");
    let structured = out["structuredContent"].clone();
    let output = jsonschema::validator_for(&def["outputSchema"]).unwrap();
    if let Err(e) = output.validate(&structured) {
        panic!("{name}: {structured} does not match its outputSchema: {e}");
    }
    let text = out["content"][0]["text"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), structured);
    structured
}

fn error_text(out: &Value) -> &str {
    assert_eq!(
        out["isError"],
        json!(true),
        "expected a tool error, got {out}"
    );
    assert!(out.get("structuredContent").is_none());
    out["content"][0]["text"].as_str().unwrap()
}

fn weather(sample: &Sample, city: &str, days: u32) -> Value {
    call(
        sample,
        "get_weather_data",
        json!({"city": city, "days": days}),
        None,
    )
}

fn pipeline(sample: &Sample, city: &str, days: u32) -> (Value, Value, Value) {
    let w = weather(sample, city, days);
    let code = call(
        sample,
        "generate_analysis_code",
        json!({"weather_data": w}),
        None,
    );
    let run = call(
        sample,
        "execute_code",
        json!({"python_code": code["python_code"]}),
        None,
    );
    (w, code, run)
}

#[test]
fn server_info_names_the_sample() {
    let info = Sample::new().server_info();
    assert_eq!(info["name"], "agent-gateway-sample");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["title"].is_string());
}

#[test]
fn schemas_are_valid_draft_2020_12() {
    let sample = Sample::new();
    let tools = sample.tools();
    assert_eq!(tools.len(), 6);
    for t in &tools {
        for key in ["name", "title", "description"] {
            assert!(t[key].is_string(), "{}: {key}", t["name"]);
        }
        for key in ["inputSchema", "outputSchema"] {
            let schema = &t[key];
            assert_eq!(schema["type"], "object", "{}: {key}", t["name"]);
            if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
                panic!("{} {key} is not a valid 2020-12 schema: {e}", t["name"]);
            }
            jsonschema::draft202012::new(schema).unwrap();
        }
        let hints = &t["annotations"];
        for key in [
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            assert!(hints[key].is_boolean(), "{}: {key}", t["name"]);
        }
    }
}

#[test]
fn input_schemas_refuse_what_the_tools_refuse() {
    let sample = Sample::new();
    for (name, args) in [
        ("get_weather_data", json!({})),
        ("get_weather_data", json!({"city": "   "})),
        ("get_weather_data", json!({"city": "Oslo", "days": 15})),
        (
            "get_weather_data",
            json!({"city": "Oslo", "units": "imperial"}),
        ),
        (
            "generate_analysis_code",
            json!({"weather_data": {"days": []}}),
        ),
        ("execute_code", json!({"python_code": ""})),
        ("store_user_preferences", json!({"preferences": {}})),
        (
            "store_user_preferences",
            json!({"preferences": {"activities": [""]}}),
        ),
        ("get_activity_preferences", json!({"user_id": ""})),
        ("store_activity_plan", json!({"city": "Oslo"})),
    ] {
        let schema = &tool(&sample, name)["inputSchema"];
        assert!(
            !jsonschema::is_valid(schema, &args),
            "{name} schema accepted {args}"
        );
        error_text(&sample.call_tool(name, &args, None));
    }
}

#[test]
fn weather_is_deterministic_per_city() {
    let a = weather(&Sample::new(), "Tampa, FL", 7);
    let b = weather(&Sample::new(), "Tampa, FL", 7);
    assert_eq!(a, b);
    assert_eq!(a["units"], "metric");
    assert_eq!(a["days"].as_array().unwrap().len(), 7);
    assert_ne!(a["days"], weather(&Sample::new(), "Oslo", 7)["days"]);
    let default_days = call(
        &Sample::new(),
        "get_weather_data",
        json!({"city": "Tampa, FL"}),
        None,
    );
    assert_eq!(default_days, a);
    assert_eq!(
        weather(&Sample::new(), "Oslo", 14)["days"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
}

/// The documented rules, recomputed independently of the generator.
fn expected_label(day: &Value, mean_high: f64) -> &'static str {
    let n = |k: &str| day[k].as_f64().unwrap();
    let outdoor_min = (mean_high.floor() - 2.0).clamp(8.0, 22.0);
    let clear = matches!(day["condition"].as_str(), Some("sunny" | "partly_cloudy"));
    let wet_or_windy = n("precipitation_mm") >= 5.0 || n("wind_kph") >= 40.0;
    let heat = mean_high >= 26.0 && n("temp_high_c") >= 35.0;
    let frost = mean_high < 12.0 && n("temp_high_c") <= -10.0;
    if wet_or_windy || heat || frost {
        "indoor"
    } else if clear && n("temp_high_c") >= outdoor_min {
        "outdoor"
    } else {
        "mixed"
    }
}

#[test]
fn pipeline_labels_follow_the_rules() {
    let sample = Sample::new();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..30 {
        let city = format!("Sample City {i}");
        let (w, code, run) = pipeline(&sample, &city, 14);
        let days = w["days"].as_array().unwrap();
        let highs: f64 = days
            .iter()
            .map(|d| d["temp_high_c"].as_f64().unwrap())
            .sum();
        let mean = (highs / days.len() as f64 * 10.0).round() / 10.0;
        assert_eq!(code["mean_high_c"], json!(mean));
        let labels = run["classifications"].as_array().unwrap();
        assert_eq!(labels.len(), days.len());
        for (day, got) in days.iter().zip(labels) {
            assert_eq!(got["day"], day["day"]);
            assert_eq!(got["label"], expected_label(day, mean), "{city}: {day}");
            seen.insert(got["label"].as_str().unwrap().to_string());
        }
        let counted: u64 = run["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(counted, days.len() as u64);
    }
    assert_eq!(seen.len(), 3, "all three labels should occur: {seen:?}");
}

#[test]
fn generated_code_is_stable_and_looks_like_the_guide() {
    let (_, a, _) = pipeline(&Sample::new(), "Lisbon", 7);
    let (_, b, _) = pipeline(&Sample::new(), "Lisbon", 7);
    assert_eq!(a, b);
    let code = a["python_code"].as_str().unwrap();
    assert!(code.starts_with("# agent-gateway classification v1\n"));
    assert!(code.contains("def classify(day):\n"));
    assert!(code.contains("    if day[\"precipitation_mm\"] >= 5: return \"indoor\"\n"));
    assert!(code.contains("\n    return \"mixed\"\nDAYS = [\n"));
}

fn refusal(code: &str) -> String {
    let out = Sample::new().call_tool("execute_code", &json!({"python_code": code}), None);
    let text = error_text(&out).to_string();
    assert!(text.starts_with(REFUSAL), "{text}");
    text
}

#[test]
fn execute_code_refuses_anything_but_the_classification_language() {
    let (_, code, _) = pipeline(&Sample::new(), "Oslo", 3);
    let good = code["python_code"].as_str().unwrap();
    let body_line = |line: &str| {
        good.replace(
            "def classify(day):\n",
            &format!("def classify(day):\n{line}\n"),
        )
    };
    // The header has three comment lines, so `def` is line 4 and an inserted
    // body line is line 5.
    for (code, needle) in [
        (
            "import os\nos.system('id')\n".to_string(),
            "line 1: found `import os`",
        ),
        (
            body_line("    if __import__(\"os\"): return \"x\""),
            "line 5: expected `day[\"<field>\"]`",
        ),
        (body_line("    while True:"), "line 5: found `while True:`"),
        (
            body_line("    if day[\"secret\"] > 1: return \"x\""),
            "line 5: unknown field \"secret\"",
        ),
        (
            body_line("    if day.__class__: return \"x\""),
            "line 5: unexpected character '.'",
        ),
        (
            good.replace("\"wind_kph\":", "\"wind\":"),
            "unknown field \"wind\"",
        ),
        (
            format!("{good}exec(\"print(1)\")\n"),
            "DAYS is not valid JSON",
        ),
    ] {
        let text = refusal(&code);
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
}

#[test]
fn execute_code_bounds_size_and_nesting() {
    let (_, code, _) = pipeline(&Sample::new(), "Oslo", 3);
    let good = code["python_code"].as_str().unwrap();
    let huge = format!("{}{good}", "# padding\n".repeat(7000));
    assert!(refusal(&huge).contains("limit is 65536"));
    let deep = format!(
        "    if {}day[\"day\"] > 0{}: return \"x\"",
        "(".repeat(50),
        ")".repeat(50)
    );
    let nested = good.replace(
        "def classify(day):\n",
        &format!("def classify(day):\n{deep}\n"),
    );
    assert!(refusal(&nested).contains("nested deeper"));
}

#[test]
fn preferences_round_trip() {
    let sample = Sample::new();
    let empty = call(&sample, "get_activity_preferences", json!({}), None);
    assert_eq!(empty["found"], json!(false));
    assert_eq!(empty["preferences"], json!({"activities": [], "avoid": []}));
    call(
        &sample,
        "store_user_preferences",
        json!({"preferences": {"activities": ["hiking", "museums"], "notes": "early riser"}}),
        None,
    );
    let stored = call(
        &sample,
        "store_user_preferences",
        json!({"preferences": {"activities": ["Hiking", "kayaking"], "avoid": ["museums"]}}),
        None,
    );
    let expected =
        json!({"activities": ["Hiking", "kayaking"], "avoid": ["museums"], "notes": "early riser"});
    assert_eq!(stored["preferences"], expected);
    let got = call(
        &sample,
        "get_activity_preferences",
        json!({"user_id": "default"}),
        None,
    );
    assert_eq!(got["found"], json!(true));
    assert_eq!(got["preferences"], expected);

    let plan = json!({"city": "Oslo", "plan": "Monday: hike Holmenkollen."});
    let first = call(&sample, "store_activity_plan", plan.clone(), None);
    let again = call(&sample, "store_activity_plan", plan, None);
    assert_eq!(first["plan_id"], again["plan_id"]);
    assert_eq!(again["stored_plans"], json!(1));
    let got = call(&sample, "get_activity_preferences", json!({}), None);
    assert_eq!(got["recent_plans"][0]["plan_id"], first["plan_id"]);
}

#[test]
fn memory_is_isolated_per_caller_and_user() {
    let sample = Sample::new();
    let prefs = json!({"preferences": {"activities": ["chess"]}});
    call(&sample, "store_user_preferences", prefs, Some("alice"));
    call(
        &sample,
        "store_activity_plan",
        json!({"city": "Oslo", "plan": "secret plan"}),
        Some("alice"),
    );
    let mine = call(
        &sample,
        "get_activity_preferences",
        json!({}),
        Some("alice"),
    );
    assert_eq!(mine["preferences"]["activities"], json!(["chess"]));
    for (caller, user) in [
        (Some("bob"), "default"),
        (None, "default"),
        (Some("alice"), "other"),
    ] {
        let theirs = call(
            &sample,
            "get_activity_preferences",
            json!({"user_id": user}),
            caller,
        );
        assert_eq!(
            theirs["found"],
            json!(false),
            "{caller:?}/{user} saw alice's memory"
        );
        assert_eq!(theirs["recent_plans"], json!([]));
    }
}

#[test]
fn hostile_arguments_give_tool_errors_not_panics() {
    let sample = Sample::new();
    let deep = (0..200).fold(json!(1), |v, _| json!([v]));
    let values = [
        Value::Null,
        json!(true),
        json!(-1),
        json!(1e308),
        json!("x".repeat(100_000)),
        json!([]),
        json!({}),
        deep.clone(),
        json!({"a": deep}),
    ];
    let names: Vec<String> = sample
        .tools()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .chain(["", "nope"].map(String::from))
        .collect();
    for name in &names {
        let def = sample.tools().into_iter().find(|t| &t["name"] == name);
        let keys: Vec<String> = def
            .as_ref()
            .and_then(|d| d["inputSchema"]["properties"].as_object())
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        for v in &values {
            let mut attempts = vec![v.clone()];
            for key in &keys {
                attempts.push(json!({ key.as_str(): v }));
            }
            for args in attempts {
                let out = sample.call_tool(name, &args, Some("fuzzer"));
                // Either a tool error, or a success that matches the schema.
                if out["isError"] != json!(true) {
                    let schema = &def.as_ref().unwrap()["outputSchema"];
                    assert!(
                        jsonschema::is_valid(schema, &out["structuredContent"]),
                        "{name} {args}"
                    );
                }
            }
        }
    }
    let unknown = sample.call_tool("delete_everything", &json!({}), None);
    assert!(error_text(&unknown).contains("\"delete_everything\""));
}
