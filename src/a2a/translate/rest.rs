//! The 1.0 HTTP+JSON binding over a 0.3 agent's JSON-RPC: each HTTP+JSON operation is the 1.0 JSON-RPC
//! method it stands for, then translated to 0.3 like any other; the answer goes back as the HTTP+JSON
//! answer (`errors::http_answer` for errors).

use http::Method;
use serde_json::{Value, json};

use super::super::agents::LIST_TASKS;
use crate::core::error::Error;

/// The 1.0 JSON-RPC method and params an HTTP+JSON request stands for. `segments`: the path under the
/// agent, percent-decoded; `query`: the decoded query pairs; `body`: the JSON body (`Null` when empty).
pub fn as_rpc(
    method: &Method,
    segments: &[String],
    query: &[(String, String)],
    body: Value,
) -> Result<(&'static str, Value), Error> {
    let path: Vec<&str> = segments
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    let history = query
        .iter()
        .find(|(k, _)| k == "historyLength" || k == "history_length")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    let with = |mut params: Value, key: &str, value: &str| {
        if !params.is_object() {
            params = json!({});
        }
        params[key] = Value::from(value);
        params
    };
    let verb = |segment: &str, verb: &str| {
        segment
            .strip_suffix(verb)
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    };
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    Ok(match path.as_slice() {
        ["message:send"] if post => ("SendMessage", body),
        ["message:stream"] if post => ("SendStreamingMessage", body),
        ["extendedAgentCard"] if get => ("GetExtendedAgentCard", json!({})),
        ["tasks"] if get => (LIST_TASKS, json!({})),
        ["tasks", task] if post && verb(task, ":cancel").is_some() => {
            let id = verb(task, ":cancel").unwrap_or_default();
            let metadata = body.get("metadata").cloned();
            let mut params = json!({"id": id});
            if let Some(m) = metadata {
                params["metadata"] = m;
            }
            ("CancelTask", params)
        }
        ["tasks", task] if (get || post) && verb(task, ":subscribe").is_some() => {
            let id = verb(task, ":subscribe").unwrap_or_default();
            ("SubscribeToTask", json!({"id": id}))
        }
        ["tasks", id] if get && !id.contains(':') => {
            let mut params = json!({"id": id});
            if let Some(h) = history {
                params["historyLength"] = Value::from(h);
            }
            ("GetTask", params)
        }
        ["tasks", id, "pushNotificationConfigs"] if post => {
            ("CreateTaskPushNotificationConfig", with(body, "taskId", id))
        }
        ["tasks", id, "pushNotificationConfigs"] if get => {
            ("ListTaskPushNotificationConfigs", json!({"taskId": id}))
        }
        ["tasks", id, "pushNotificationConfigs", config] if get => (
            "GetTaskPushNotificationConfig",
            json!({"taskId": id, "id": config}),
        ),
        ["tasks", id, "pushNotificationConfigs", config] if *method == Method::DELETE => (
            "DeleteTaskPushNotificationConfig",
            json!({"taskId": id, "id": config}),
        ),
        _ => {
            return Err(Error::MethodNotFound(format!(
                "{method} /{}: not an A2A 1.0 HTTP+JSON operation",
                path.join("/")
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

    #[test]
    fn every_operation_maps_to_its_json_rpc_method() {
        let none = Value::Null;
        let cases = [
            (Method::POST, "/message:send", "SendMessage", json!(null)),
            (
                Method::GET,
                "/tasks/t1",
                "GetTask",
                json!({"id": "t1", "historyLength": 3}),
            ),
            (
                Method::POST,
                "/tasks/t1:cancel",
                "CancelTask",
                json!({"id": "t1"}),
            ),
            (
                Method::POST,
                "/tasks/t1:subscribe",
                "SubscribeToTask",
                json!({"id": "t1"}),
            ),
            (
                Method::GET,
                "/tasks/t1/pushNotificationConfigs",
                "ListTaskPushNotificationConfigs",
                json!({"taskId": "t1"}),
            ),
            (
                Method::GET,
                "/tasks/t1/pushNotificationConfigs/p",
                "GetTaskPushNotificationConfig",
                json!({"taskId": "t1", "id": "p"}),
            ),
            (
                Method::DELETE,
                "/tasks/t1/pushNotificationConfigs/p",
                "DeleteTaskPushNotificationConfig",
                json!({"taskId": "t1", "id": "p"}),
            ),
            (
                Method::GET,
                "/extendedAgentCard",
                "GetExtendedAgentCard",
                json!({}),
            ),
        ];
        let query = [("historyLength".to_string(), "3".to_string())];
        for (method, p, expected, params) in cases {
            let (m, out) = as_rpc(&method, &path(p), &query, none.clone()).unwrap();
            assert_eq!((m, &out), (expected, &params), "{method} {p}");
        }
        let (m, out) = as_rpc(
            &Method::POST,
            &path("/tasks/t1/pushNotificationConfigs"),
            &[],
            json!({"url": "https://hook"}),
        )
        .unwrap();
        assert_eq!(
            (m, out),
            (
                "CreateTaskPushNotificationConfig",
                json!({"url": "https://hook", "taskId": "t1"})
            )
        );
        let err = as_rpc(&Method::GET, &path("/v2/whatever"), &[], none).unwrap_err();
        assert!(matches!(err, Error::MethodNotFound(_)), "{err:?}");
    }
}
