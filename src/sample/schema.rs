//! Tool definitions (`tools/list` entries) with their JSON Schemas.
//!
//! Limits come from the constants the tools enforce, so a schema can never
//! promise more than the code accepts or returns. Schemas declare draft
//! 2020-12 explicitly, the MCP 2025-11-25 default.

use serde_json::{Value, json};

use super::classify::{MAX_CODE_BYTES, STANDARD_LABELS};
use super::day::{MAX_DAYS, WEEKDAYS, day_schema};
use super::memory::{
    DEFAULT_USER, EXCERPT_CHARS, MAX_CITY_CHARS, MAX_ITEM_CHARS, MAX_LIST, MAX_NOTES_CHARS,
    MAX_PLAN_BYTES, MAX_PLANS, MAX_USER_ID_CHARS, RECENT_PLANS,
};

const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "$schema": DIALECT,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

/// A non-blank string: `pattern` mirrors the tools' "not only whitespace".
fn text(max: usize, description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S", "description": description})
}

fn city() -> Value {
    text(
        MAX_CITY_CHARS,
        "City name, e.g. \"Tampa, FL\"; case and spacing are ignored.",
    )
}

fn user_id() -> Value {
    let mut s = text(
        MAX_USER_ID_CHARS,
        "Whose memory to use. Memory is also separated per authenticated caller.",
    );
    s["default"] = json!(DEFAULT_USER);
    s
}

fn days_array() -> Value {
    json!({"type": "array", "minItems": 1, "maxItems": MAX_DAYS, "items": day_schema()})
}

fn string_list(what: &str) -> Value {
    json!({
        "type": "array",
        "maxItems": MAX_LIST,
        "items": text(MAX_ITEM_CHARS, what),
        "description": format!("Merged into what is stored: duplicates (ignoring case) are refreshed, the newest {MAX_LIST} kept.")
    })
}

fn preferences_out() -> Value {
    json!({
        "type": "object",
        "properties": {
            "activities": {"type": "array", "items": {"type": "string"}},
            "avoid": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "string"}
        },
        "required": ["activities", "avoid"],
        "additionalProperties": false
    })
}

fn annotations(read_only: bool, destructive: bool) -> Value {
    // Nothing here reaches outside the process: openWorldHint is false.
    json!({
        "readOnlyHint": read_only,
        "destructiveHint": destructive,
        "idempotentHint": true,
        "openWorldHint": false
    })
}

fn tool(
    name: &str,
    title: &str,
    description: &str,
    input: Value,
    output: Value,
    hints: Value,
) -> Value {
    json!({
        "name": name,
        "title": title,
        "description": description,
        "inputSchema": input,
        "outputSchema": output,
        "annotations": hints
    })
}

fn get_weather_data() -> Value {
    tool(
        "get_weather_data",
        "Weather forecast (synthetic)",
        "Daily forecast for a city. Synthetic and deterministic: derived from a hash of the \
         city name, not from real observations; day 1 is always a Monday. Pass the whole \
         result to generate_analysis_code.",
        object(
            json!({
                "city": city(),
                "days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 7,
                         "description": "Number of days to forecast."}
            }),
            &["city"],
        ),
        object(
            json!({
                "city": {"type": "string"},
                "units": {"const": "metric"},
                "source": {"const": "synthetic"},
                "days": days_array()
            }),
            &["city", "units", "source", "days"],
        ),
        annotations(true, false),
    )
}

fn generate_analysis_code() -> Value {
    let weather = json!({
        "type": "object",
        "description": "The structured result of get_weather_data, unchanged.",
        "properties": {
            "city": {"type": "string", "minLength": 1, "maxLength": MAX_CITY_CHARS, "pattern": "\\S"},
            "units": {"const": "metric"},
            "source": {"type": "string"},
            "days": days_array()
        },
        "required": ["days"],
        "additionalProperties": false
    });
    tool(
        "generate_analysis_code",
        "Generate day classification code",
        "Writes a small classification program (Python-looking, with the forecast embedded as \
         DAYS) labelling each day outdoor, mixed or indoor, with thresholds adapted to the \
         forecast's climate. Pass python_code unchanged to execute_code.",
        object(json!({"weather_data": weather}), &["weather_data"]),
        object(
            json!({
                "python_code": {"type": "string"},
                "description": {"type": "string"},
                "climate": {"enum": ["cold", "mild", "warm"]},
                "mean_high_c": {"type": "number"}
            }),
            &["python_code", "description", "climate", "mean_high_c"],
        ),
        annotations(true, false),
    )
}

fn execute_code() -> Value {
    let mut counts = serde_json::Map::new();
    for label in STANDARD_LABELS {
        counts.insert(label.into(), json!({"type": "integer", "minimum": 0}));
    }
    tool(
        "execute_code",
        "Run classification code",
        &format!(
            "Evaluates the classification code produced by generate_analysis_code and returns a \
             label per day. This is not a Python interpreter: only that small rule language is \
             accepted (at most {} KiB), anything else is refused with an error naming the line.",
            MAX_CODE_BYTES / 1024
        ),
        object(
            json!({
                "python_code": {"type": "string", "minLength": 1, "maxLength": MAX_CODE_BYTES,
                                "description": "python_code from generate_analysis_code."}
            }),
            &["python_code"],
        ),
        object(
            json!({
                "classifications": {
                    "type": "array",
                    "maxItems": MAX_DAYS,
                    "items": {
                        "type": "object",
                        "properties": {
                            "day": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
                            "weekday": {"enum": WEEKDAYS},
                            "label": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"}
                        },
                        "required": ["day", "weekday", "label"],
                        "additionalProperties": false
                    }
                },
                "counts": {
                    "type": "object",
                    "properties": counts,
                    "required": STANDARD_LABELS,
                    "additionalProperties": {"type": "integer", "minimum": 0}
                }
            }),
            &["classifications", "counts"],
        ),
        annotations(true, false),
    )
}

fn store_user_preferences() -> Value {
    tool(
        "store_user_preferences",
        "Remember activity preferences",
        "Merges activity likes, dislikes and a note into the user's memory and returns what is \
         stored now. Adding an item to avoid removes it from activities and vice versa; notes \
         replace the previous note (an empty string clears it). Memory is in-process only, \
         bounded, and separate per authenticated caller.",
        object(
            json!({
                "user_id": user_id(),
                "preferences": {
                    "type": "object",
                    "minProperties": 1,
                    "properties": {
                        "activities": string_list("An activity the user enjoys."),
                        "avoid": string_list("Something the user wants to avoid."),
                        "notes": {"type": "string", "maxLength": MAX_NOTES_CHARS}
                    },
                    "additionalProperties": false
                }
            }),
            &["preferences"],
        ),
        object(
            json!({"user_id": {"type": "string"}, "preferences": preferences_out()}),
            &["user_id", "preferences"],
        ),
        // Not purely additive: overrides, note replacement and the size bound
        // can drop earlier entries.
        annotations(false, true),
    )
}

fn get_activity_preferences() -> Value {
    tool(
        "get_activity_preferences",
        "Recall activity preferences",
        &format!(
            "Returns the user's stored preferences (found: false and empty lists if none) and \
             the {RECENT_PLANS} most recent activity plans, newest first, as {EXCERPT_CHARS}-character excerpts."
        ),
        object(json!({"user_id": user_id()}), &[]),
        object(
            json!({
                "user_id": {"type": "string"},
                "found": {"type": "boolean"},
                "preferences": preferences_out(),
                "stored_plans": {"type": "integer", "minimum": 0, "maximum": MAX_PLANS},
                "recent_plans": {
                    "type": "array",
                    "maxItems": RECENT_PLANS,
                    "items": {
                        "type": "object",
                        "properties": {
                            "plan_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                            "city": {"type": "string"},
                            "excerpt": {"type": "string"}
                        },
                        "required": ["plan_id", "city", "excerpt"],
                        "additionalProperties": false
                    }
                }
            }),
            &[
                "user_id",
                "found",
                "preferences",
                "stored_plans",
                "recent_plans",
            ],
        ),
        annotations(true, false),
    )
}

fn store_activity_plan() -> Value {
    tool(
        "store_activity_plan",
        "Remember an activity plan",
        &format!(
            "Stores a plan for a city and returns its id (the same plan for the same user and \
             city always gets the same id and is stored once). The last {MAX_PLANS} plans per \
             user are kept; older ones are dropped."
        ),
        object(
            json!({
                "city": city(),
                "plan": text(MAX_PLAN_BYTES, &format!("The plan text, at most {} KiB of UTF-8.", MAX_PLAN_BYTES / 1024)),
                "user_id": user_id()
            }),
            &["city", "plan"],
        ),
        object(
            json!({
                "plan_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                "stored_plans": {"type": "integer", "minimum": 1, "maximum": MAX_PLANS},
                "user_id": {"type": "string"},
                "city": {"type": "string"}
            }),
            &["plan_id", "stored_plans", "user_id", "city"],
        ),
        annotations(false, true),
    )
}

/// All tool definitions, in the order the weather agent uses them.
pub(crate) fn tools() -> Vec<Value> {
    vec![
        get_weather_data(),
        generate_analysis_code(),
        execute_code(),
        store_user_preferences(),
        get_activity_preferences(),
        store_activity_plan(),
    ]
}
