//! A2A objects of protocol 0.3 in 1.0's shape (`up`) and back (`down`): parts, messages, tasks,
//! artifacts, stream events, send configurations and push-notification configs. Fields the other version
//! also has pass through untouched; `metadata` and data parts belong to the client and the agent.
//!
//! The shapes: 0.3 tags objects with `kind` (`{"kind": "text", "text": …}`, `{"kind": "task", …}`,
//! `status-update` events with `final`), spells roles and states in lowercase (`user`, `input-required`)
//! and nests files (`file: {bytes | uri, mimeType, name}`); 1.0 is protobuf JSON: one-of keys
//! (`{"text": …}`, `{"task": …}`, `{"statusUpdate": …}`), `ROLE_USER`, `TASK_STATE_INPUT_REQUIRED`,
//! flat files (`raw | url`, `mediaType`, `filename`).

use serde_json::{Map, Value, json};

/// Task states, 0.3 spelling and 1.0 spelling.
const STATES: [(&str, &str); 9] = [
    ("submitted", "TASK_STATE_SUBMITTED"),
    ("working", "TASK_STATE_WORKING"),
    ("input-required", "TASK_STATE_INPUT_REQUIRED"),
    ("completed", "TASK_STATE_COMPLETED"),
    ("canceled", "TASK_STATE_CANCELED"),
    ("failed", "TASK_STATE_FAILED"),
    ("rejected", "TASK_STATE_REJECTED"),
    ("auth-required", "TASK_STATE_AUTH_REQUIRED"),
    ("unknown", "TASK_STATE_UNSPECIFIED"),
];

/// The states after which a 0.3 status-update event says `final`: the task is over.
const TERMINAL: [&str; 4] = ["completed", "canceled", "failed", "rejected"];

/// 0.3 marks a data part that held a non-object 1.0 value (`{"value": …}`) with this metadata key.
const DATA_PART_COMPAT: &str = "data_part_compat";

/// The version an object is being turned into.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum To {
    V10,
    V03,
}

/// Applies `f` to `map[key]` when present.
fn with(map: &mut Map<String, Value>, key: &str, f: impl FnOnce(&mut Value)) {
    if let Some(v) = map.get_mut(key) {
        f(v);
    }
}

/// Applies `f` to every element of the array `map[key]`.
fn each(map: &mut Map<String, Value>, key: &str, f: impl FnMut(&mut Value)) {
    if let Some(Value::Array(items)) = map.get_mut(key) {
        items.iter_mut().for_each(f);
    }
}

fn rename(map: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = map.remove(from) {
        map.insert(to.to_string(), v);
    }
}

fn state(value: &mut Value, to: To) {
    let s = value.as_str().unwrap_or_default();
    let (v03, v10) = STATES
        .iter()
        .find(|(v03, v10)| s == *v03 || s == *v10)
        .copied()
        .unwrap_or(("unknown", "TASK_STATE_UNSPECIFIED"));
    *value = Value::from(if to == To::V10 { v10 } else { v03 });
}

/// The `kind` of a 0.3 object, or what its fields say it is when an agent left `kind` out.
fn kind_of(map: &Map<String, Value>) -> &str {
    if let Some(kind) = map.get("kind").and_then(Value::as_str) {
        return kind;
    }
    let has = |k: &str| map.contains_key(k);
    match () {
        _ if has("messageId") => "message",
        _ if has("artifact") && has("taskId") => "artifact-update",
        _ if has("status") && has("taskId") && !has("id") => "status-update",
        _ if has("status") && has("id") => "task",
        _ => "",
    }
}

/// Sets 0.3's `kind` tag, or removes it for 1.0.
fn tag(map: &mut Map<String, Value>, kind: &str, to: To) {
    match to {
        To::V03 => map.insert("kind".into(), Value::from(kind)),
        To::V10 => map.remove("kind"),
    };
}

/// The file and data fields of a part in each version, (0.3, 1.0).
const FILE_FIELDS: [(&str, &str); 4] = [
    ("bytes", "raw"),
    ("uri", "url"),
    ("mimeType", "mediaType"),
    ("name", "filename"),
];

fn part(part: &mut Value, to: To) {
    let Some(map) = part.as_object_mut() else {
        return;
    };
    match to {
        To::V10 => {
            map.remove("kind");
            if let Some(Value::Object(mut file)) = map.remove("file") {
                for (v03, v10) in FILE_FIELDS {
                    if let Some(v) = file.remove(v03) {
                        map.insert(v10.into(), v);
                    }
                }
            }
            let compat = map
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
                .and_then(|m| m.remove(DATA_PART_COMPAT))
                .is_some_and(|v| v == true);
            if map.get("metadata") == Some(&json!({})) {
                map.remove("metadata");
            }
            if compat && let Some(data) = map.get_mut("data") {
                *data = data.get("value").cloned().unwrap_or(Value::Null);
            }
        }
        To::V03 if map.contains_key("text") => tag(map, "text", to),
        To::V03 if map.contains_key("raw") || map.contains_key("url") => {
            let mut file = Map::new();
            for (v03, v10) in FILE_FIELDS {
                if let Some(v) = map.remove(v10) {
                    file.insert(v03.into(), v);
                }
            }
            tag(map, "file", to);
            map.insert("file".into(), Value::Object(file));
        }
        To::V03 => {
            let Some(data) = map.get_mut("data") else {
                return;
            };
            if !data.is_object() {
                *data = json!({"value": data.take()});
                let metadata = map.entry("metadata").or_insert_with(|| json!({}));
                if let Some(m) = metadata.as_object_mut() {
                    m.insert(DATA_PART_COMPAT.into(), Value::Bool(true));
                }
            }
            tag(map, "data", to);
        }
    }
}

fn message(message: &mut Value, to: To) {
    let Some(map) = message.as_object_mut() else {
        return;
    };
    tag(map, "message", to);
    if let Some(role) = map.get_mut("role") {
        let user = matches!(role.as_str(), Some("user" | "ROLE_USER"));
        *role = Value::from(match (to, user) {
            (To::V10, true) => "ROLE_USER",
            (To::V10, false) => "ROLE_AGENT",
            (To::V03, true) => "user",
            (To::V03, false) => "agent",
        });
    }
    each(map, "parts", |p| part(p, to));
}

fn status(status: &mut Value, to: To) {
    let Some(map) = status.as_object_mut() else {
        return;
    };
    state(map.entry("state").or_insert(Value::Null), to);
    with(map, "message", |m| message(m, to));
}

fn artifact(artifact: &mut Value, to: To) {
    if let Some(map) = artifact.as_object_mut() {
        each(map, "parts", |p| part(p, to));
    }
}

pub fn task(task: &mut Value, to: To) {
    let Some(map) = task.as_object_mut() else {
        return;
    };
    tag(map, "task", to);
    if to == To::V03 {
        // Required in 0.3.
        map.entry("status").or_insert_with(|| json!({}));
    }
    with(map, "status", |s| status(s, to));
    each(map, "history", |m| message(m, to));
    each(map, "artifacts", |a| artifact(a, to));
}

/// 1.0's one-of keys of a result or stream event, and the 0.3 `kind` each wraps.
const EVENTS: [(&str, &str); 6] = [
    ("task", "task"),
    ("message", "message"),
    ("statusUpdate", "status-update"),
    ("artifactUpdate", "artifact-update"),
    ("status_update", "status-update"),
    ("artifact_update", "artifact-update"),
];

/// A result or stream event (task, message, status or artifact update): 0.3's `kind`-tagged object or
/// 1.0's one-of (`{"task": …}`, `{"statusUpdate": …}`, …).
pub fn event(event: &mut Value, to: To) {
    let Some(map) = event.as_object_mut() else {
        return;
    };
    let (mut inner, kind) = match to {
        To::V10 => {
            let kind = kind_of(map).to_string();
            (event.take(), kind)
        }
        To::V03 => {
            let found = EVENTS
                .iter()
                .find_map(|(key, kind)| map.remove(*key).map(|inner| (inner, kind.to_string())));
            let Some(found) = found else {
                return;
            };
            found
        }
    };
    match kind.as_str() {
        "task" => task(&mut inner, to),
        "message" => message(&mut inner, to),
        "status-update" | "artifact-update" => {
            if let Some(map) = inner.as_object_mut() {
                tag(map, &kind, to);
                with(map, "artifact", |a| artifact(a, to));
                if kind == "status-update" {
                    if to == To::V03 {
                        map.entry("status").or_insert_with(|| json!({}));
                    }
                    with(map, "status", |s| status(s, to));
                    let state = map.get("status").and_then(|s| s.get("state"));
                    let done = state
                        .and_then(Value::as_str)
                        .is_some_and(|s| TERMINAL.contains(&s));
                    match to {
                        To::V03 => map.insert("final".into(), Value::Bool(done)),
                        To::V10 => map.remove("final"),
                    };
                }
            }
        }
        // Not an event either version knows: left as it came.
        _ => {
            *event = inner;
            return;
        }
    }
    *event = match to {
        To::V10 => {
            let key = EVENTS
                .iter()
                .find(|(_, k)| *k == kind)
                .map_or("task", |(key, _)| *key);
            json!({ key: inner })
        }
        To::V03 => inner,
    };
}

/// `message/send` params ↔ `SendMessage` params (the configuration's names and defaults differ).
pub fn send_params(params: &mut Value, to: To) {
    let Some(map) = params.as_object_mut() else {
        return;
    };
    map.remove("tenant");
    with(map, "message", |m| message(m, to));
    let Some(Value::Object(config)) = map.get_mut("configuration") else {
        return;
    };
    match to {
        To::V10 => {
            if let Some(blocking) = config.remove("blocking").and_then(|b| b.as_bool()) {
                config.insert("returnImmediately".into(), Value::from(!blocking));
            }
            // 0.3 reads a history length of 0 as "all"; 1.0 as none.
            if config.get("historyLength").is_some_and(|h| h == 0) {
                config.remove("historyLength");
            }
            rename(
                config,
                "pushNotificationConfig",
                "taskPushNotificationConfig",
            );
            with(config, "taskPushNotificationConfig", |c| push_config(c, to));
        }
        To::V03 => {
            let immediately = config.remove("returnImmediately").and_then(|b| b.as_bool());
            config.insert(
                "blocking".into(),
                Value::Bool(!immediately.unwrap_or(false)),
            );
            rename(
                config,
                "taskPushNotificationConfig",
                "pushNotificationConfig",
            );
            with(config, "pushNotificationConfig", |c| push_config(c, to));
        }
    }
}

/// A push-notification config's authentication: 0.3 lists `schemes`, 1.0 has one `scheme`.
fn push_config(config: &mut Value, to: To) {
    let Some(map) = config.as_object_mut() else {
        return;
    };
    if to == To::V03 {
        map.remove("taskId");
        map.remove("tenant");
    }
    let Some(Value::Object(auth)) = map.get_mut("authentication") else {
        return;
    };
    match to {
        To::V10 => {
            if let Some(schemes) = auth.remove("schemes") {
                let first = schemes.get(0).cloned().unwrap_or(Value::from(""));
                auth.insert("scheme".into(), first);
            }
        }
        To::V03 => {
            if let Some(scheme) = auth.remove("scheme") {
                let schemes = match scheme.as_str() {
                    Some("") | None => json!([]),
                    Some(_) => json!([scheme]),
                };
                auth.insert("schemes".into(), schemes);
            }
        }
    }
}

/// A `TaskPushNotificationConfig`: 0.3 nests the config (`{taskId, pushNotificationConfig}`), 1.0 is flat.
pub fn task_push_config(value: &mut Value, to: To) {
    match to {
        To::V10 => {
            if let Some(map) = value.as_object_mut()
                && let Some(Value::Object(config)) = map.remove("pushNotificationConfig")
            {
                map.extend(config);
            }
            push_config(value, to);
        }
        To::V03 => {
            let task_id = value.get("taskId").cloned().unwrap_or(Value::from(""));
            let mut config = value.take();
            push_config(&mut config, to);
            *value = json!({"taskId": task_id, "pushNotificationConfig": config});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_goes_up_and_comes_back_the_same() {
        let v03 = json!({
            "kind": "task", "id": "t1", "contextId": "c1",
            "status": {"state": "input-required", "timestamp": "2026-01-01T00:00:00Z",
                       "message": {"kind": "message", "messageId": "m2", "role": "agent",
                                   "parts": [{"kind": "text", "text": "which city?"}]}},
            "history": [{"kind": "message", "messageId": "m1", "role": "user", "parts": [
                {"kind": "text", "text": "weather", "metadata": {"k": 1}},
                {"kind": "file", "file": {"uri": "https://x/y.png", "mimeType": "image/png", "name": "y.png"}},
                {"kind": "file", "file": {"bytes": "aGk=", "mimeType": "text/plain"}},
                {"kind": "data", "data": {"city": "Tampa"}}]}],
            "artifacts": [{"artifactId": "a1", "name": "forecast", "parts": [{"kind": "text", "text": "sunny"}]}],
            "metadata": {"kind": "mine"}
        });
        let mut v10 = json!({"task": v03.clone()});
        task(&mut v10["task"], To::V10);
        assert_eq!(v10["task"]["status"]["state"], "TASK_STATE_INPUT_REQUIRED");
        assert_eq!(v10["task"]["status"]["message"]["role"], "ROLE_AGENT");
        let parts = &v10["task"]["history"][0]["parts"];
        assert_eq!(parts[0], json!({"text": "weather", "metadata": {"k": 1}}));
        assert_eq!(
            parts[1],
            json!({"url": "https://x/y.png", "mediaType": "image/png", "filename": "y.png"})
        );
        assert_eq!(parts[2], json!({"raw": "aGk=", "mediaType": "text/plain"}));
        assert_eq!(parts[3], json!({"data": {"city": "Tampa"}}));
        assert_eq!(v10["task"]["metadata"], json!({"kind": "mine"}));
        assert!(v10["task"].get("kind").is_none());
        event(&mut v10, To::V03);
        assert_eq!(v10, v03);
    }

    #[test]
    fn stream_events_carry_final_in_0_3_and_one_of_keys_in_1_0() {
        let mut update = json!({"statusUpdate": {"taskId": "t", "contextId": "c",
                                "status": {"state": "TASK_STATE_COMPLETED"}}});
        event(&mut update, To::V03);
        assert_eq!(
            update,
            json!({"kind": "status-update", "taskId": "t", "contextId": "c",
                   "status": {"state": "completed"}, "final": true})
        );
        event(&mut update, To::V10);
        assert_eq!(
            update,
            json!({"statusUpdate": {"taskId": "t", "contextId": "c",
                   "status": {"state": "TASK_STATE_COMPLETED"}}})
        );
        let mut working = json!({"statusUpdate": {"taskId": "t", "contextId": "c",
                                 "status": {"state": "TASK_STATE_WORKING"}}});
        event(&mut working, To::V03);
        assert_eq!(working["final"], false);
        let mut artifact = json!({"kind": "artifact-update", "taskId": "t", "contextId": "c",
            "artifact": {"artifactId": "a", "parts": [{"kind": "text", "text": "x"}]}, "lastChunk": true});
        event(&mut artifact, To::V10);
        assert_eq!(
            artifact,
            json!({"artifactUpdate": {"taskId": "t", "contextId": "c",
                   "artifact": {"artifactId": "a", "parts": [{"text": "x"}]}, "lastChunk": true}})
        );
        // No `kind` (an agent that left it out): the fields say what it is.
        let mut message = json!({"messageId": "m", "role": "agent", "parts": []});
        event(&mut message, To::V10);
        assert_eq!(message["message"]["role"], "ROLE_AGENT");
    }

    #[test]
    fn non_object_data_and_send_configuration_round_trip() {
        let mut part = json!({"data": [1, 2]});
        super::part(&mut part, To::V03);
        assert_eq!(
            part,
            json!({"kind": "data", "data": {"value": [1, 2]}, "metadata": {"data_part_compat": true}})
        );
        super::part(&mut part, To::V10);
        assert_eq!(part, json!({"data": [1, 2]}));
        let mut params = json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
            "configuration": {"returnImmediately": true, "historyLength": 2,
                "taskPushNotificationConfig": {"url": "https://hook", "authentication": {"scheme": "Bearer"}}},
            "tenant": "t"});
        send_params(&mut params, To::V03);
        assert_eq!(
            params,
            json!({"message": {"kind": "message", "messageId": "m", "role": "user",
                               "parts": [{"kind": "text", "text": "hi"}]},
                   "configuration": {"blocking": false, "historyLength": 2,
                       "pushNotificationConfig": {"url": "https://hook", "authentication": {"schemes": ["Bearer"]}}}})
        );
        send_params(&mut params, To::V10);
        assert_eq!(params["configuration"]["returnImmediately"], true);
        assert_eq!(
            params["configuration"]["taskPushNotificationConfig"]["authentication"],
            json!({"scheme": "Bearer"})
        );
        let mut flat = json!({"taskId": "t", "id": "p", "url": "https://hook"});
        task_push_config(&mut flat, To::V03);
        assert_eq!(
            flat,
            json!({"taskId": "t", "pushNotificationConfig": {"id": "p", "url": "https://hook"}})
        );
        task_push_config(&mut flat, To::V10);
        assert_eq!(
            flat,
            json!({"taskId": "t", "id": "p", "url": "https://hook"})
        );
    }
}
