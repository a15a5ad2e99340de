//! Protocol 0.3 ↔ 1.0 translation on the JSON-RPC binding, for an agent whose card lists one version
//! only: a KAgent (a2a-sdk 0.3) agent and a 1.0 agent call each other through the gateway in both
//! directions. An agent that speaks the caller's version gets the request as it came.
//!
//! What is translated: the method names, the params of every method both versions have, the results,
//! each stream event, and errors (a 0.3 agent's error gets the ErrorInfo `data` a 1.0 caller expects).
//! The card served for such an agent lists both versions (`card`). A 1.0 method 0.3 lacks (`ListTasks`)
//! is answered "method not found", as a 0.3 agent would.

pub mod card;
mod errors;
mod objects;
pub mod rest;

use http::StatusCode;
use serde_json::{Value, json};

use super::agents::{Family, METHODS};
use crate::core::error::Error;
use objects::To;

/// One request's translation to the version the agent speaks, and its answers back.
#[derive(Clone, Debug)]
pub struct Translation {
    pub agent: Family,
    /// The method, by its 0.3 name and by its 1.0 name.
    method03: &'static str,
    method10: &'static str,
    /// The caller used the 1.0 HTTP+JSON binding (`rest`): answers are unwrapped from JSON-RPC.
    http_json: bool,
}

impl Translation {
    /// How to ask an agent speaking `agent_families` for `method` (the caller's method, whose name says
    /// its version): `Ok(None)` when the agent speaks that version.
    pub fn plan(method: &str, agent_families: &[Family]) -> Result<Option<Translation>, Error> {
        let Some(caller) = Family::of_method(method) else {
            return Ok(None);
        };
        if agent_families.is_empty() || agent_families.contains(&caller) {
            return Ok(None);
        }
        let agent = match caller {
            Family::V03 => Family::V10,
            Family::V10 => Family::V03,
        };
        let (method03, method10) = METHODS
            .iter()
            .find(|(v03, v10)| *v03 == method || *v10 == method)
            .copied()
            .ok_or_else(|| {
                Error::MethodNotFound(format!(
                    "{method}: the agent speaks A2A 0.3, which has no such method"
                ))
            })?;
        Ok(Some(Translation {
            agent,
            method03,
            method10,
            http_json: false,
        }))
    }

    /// The caller speaks the 1.0 HTTP+JSON binding (the request was made the JSON-RPC one it stands for).
    pub fn over_http_json(self) -> Translation {
        Translation {
            http_json: true,
            ..self
        }
    }

    /// The `A2A-Version` header the agent is sent (`None`: no header, 0.3's default).
    pub fn agent_version(&self) -> Option<&'static str> {
        (self.agent == Family::V10).then_some("1.0")
    }

    /// The agent's version, which requests are turned into.
    fn to_agent(&self) -> To {
        match self.agent {
            Family::V10 => To::V10,
            Family::V03 => To::V03,
        }
    }

    /// Rewrites a JSON-RPC request (ids already opened) into the agent's version.
    pub fn request(&self, message: &mut Value) {
        let to = self.to_agent();
        message["method"] = Value::from(match to {
            To::V10 => self.method10,
            To::V03 => self.method03,
        });
        let Some(params) = message.get_mut("params") else {
            return;
        };
        match self.method03 {
            "message/send" | "message/stream" => objects::send_params(params, to),
            "tasks/get" | "tasks/cancel" | "tasks/resubscribe" => {
                if let Some(map) = params.as_object_mut() {
                    map.remove("tenant");
                    if to == To::V10 && self.method03 != "tasks/cancel" {
                        map.remove("metadata");
                    }
                    // 0.3 reads a history length of 0 as "all"; 1.0 as none.
                    if to == To::V10 && map.get("historyLength").is_some_and(|h| h == 0) {
                        map.remove("historyLength");
                    }
                }
            }
            "tasks/pushNotificationConfig/set" => objects::task_push_config(params, to),
            "agent/getAuthenticatedExtendedCard" => *params = json!({}),
            // get, list and delete name the task and the config: `{id, pushNotificationConfigId}` in
            // 0.3, `{taskId, id}` in 1.0.
            _ => {
                let [(task_from, task_to), (config_from, config_to)] = match to {
                    To::V10 => [("id", "taskId"), ("pushNotificationConfigId", "id")],
                    To::V03 => [("taskId", "id"), ("id", "pushNotificationConfigId")],
                };
                let (task, config) = (
                    params.get(task_from).cloned(),
                    params.get(config_from).cloned(),
                );
                *params = json!({});
                if let Some(task) = task {
                    params[task_to] = task;
                }
                if let Some(config) = config {
                    params[config_to] = config;
                }
            }
        }
    }

    /// Rewrites one JSON-RPC response or stream event from the agent into the caller's version (and
    /// binding); `Some(status)` when the HTTP status must change with it (an HTTP+JSON error).
    pub fn reply(&self, message: &mut Value) -> Option<StatusCode> {
        self.reshape(message);
        if !self.http_json {
            return None;
        }
        if let Some(error) = message.get("error") {
            let (status, body) = errors::http_answer(error);
            *message = body;
            return Some(status);
        }
        *message = message
            .get_mut("result")
            .map(Value::take)
            .unwrap_or_default();
        None
    }

    fn reshape(&self, message: &mut Value) {
        let to = match self.to_agent() {
            To::V10 => To::V03,
            To::V03 => To::V10,
        };
        if let Some(error) = message.get_mut("error") {
            match to {
                To::V10 => errors::add_error_info(error),
                // 0.3 has no ErrorInfo; its errors are told apart by code.
                To::V03 if error.get("data").is_some_and(Value::is_array) => {
                    error.as_object_mut().map(|e| e.remove("data"));
                }
                To::V03 => {}
            }
            return;
        }
        let Some(result) = message.get_mut("result") else {
            return;
        };
        match self.method03 {
            "message/send" | "message/stream" | "tasks/resubscribe" => objects::event(result, to),
            "tasks/get" | "tasks/cancel" => objects::task(result, to),
            "tasks/pushNotificationConfig/set" | "tasks/pushNotificationConfig/get" => {
                objects::task_push_config(result, to)
            }
            // 0.3 answers a list, 1.0 `{configs: [...]}`.
            "tasks/pushNotificationConfig/list" => {
                let list = match to {
                    To::V10 => result.take(),
                    To::V03 => result
                        .get_mut("configs")
                        .map(Value::take)
                        .unwrap_or_default(),
                };
                let mut configs = match list {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                };
                configs
                    .iter_mut()
                    .for_each(|c| objects::task_push_config(c, to));
                *result = match to {
                    To::V10 => json!({"configs": configs}),
                    To::V03 => Value::Array(configs),
                };
            }
            // Delete answers nothing; the extended card is made bilingual with every card served.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_only_when_the_agent_lacks_the_callers_version() {
        let both = [Family::V10, Family::V03];
        assert!(Translation::plan("message/send", &both).unwrap().is_none());
        assert!(
            Translation::plan("SendMessage", &[Family::V10])
                .unwrap()
                .is_none()
        );
        let t = Translation::plan("message/send", &[Family::V10])
            .unwrap()
            .unwrap();
        assert_eq!(t.agent_version(), Some("1.0"));
        let t = Translation::plan("GetTask", &[Family::V03])
            .unwrap()
            .unwrap();
        assert_eq!(t.agent_version(), None);
        let err = Translation::plan("ListTasks", &[Family::V03]).unwrap_err();
        assert!(matches!(err, Error::MethodNotFound(_)), "{err:?}");
        assert!(
            Translation::plan("tasks/list", &[Family::V10])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn push_config_methods_move_the_task_and_config_ids() {
        let t = Translation::plan("GetTaskPushNotificationConfig", &[Family::V03])
            .unwrap()
            .unwrap();
        let mut request = json!({"jsonrpc": "2.0", "id": 1, "method": "GetTaskPushNotificationConfig",
                                 "params": {"taskId": "t", "id": "p"}});
        t.request(&mut request);
        assert_eq!(request["method"], "tasks/pushNotificationConfig/get");
        assert_eq!(
            request["params"],
            json!({"id": "t", "pushNotificationConfigId": "p"})
        );
        let mut reply = json!({"jsonrpc": "2.0", "id": 1, "result":
            {"taskId": "t", "pushNotificationConfig": {"id": "p", "url": "https://hook"}}});
        t.reply(&mut reply);
        assert_eq!(
            reply["result"],
            json!({"taskId": "t", "id": "p", "url": "https://hook"})
        );
        let mut error =
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": "no"}});
        t.reply(&mut error);
        assert_eq!(error["error"]["data"][0]["reason"], "TASK_NOT_FOUND");
        let list = Translation::plan("tasks/pushNotificationConfig/list", &[Family::V10])
            .unwrap()
            .unwrap();
        let mut reply = json!({"jsonrpc": "2.0", "id": 1, "result": {"configs": [
            {"taskId": "t", "id": "p", "url": "https://hook"}]}});
        list.reply(&mut reply);
        assert_eq!(
            reply["result"],
            json!([{"taskId": "t", "pushNotificationConfig": {"id": "p", "url": "https://hook"}}])
        );
    }

    #[test]
    fn a_send_is_asked_and_answered_in_each_callers_version() {
        let t = Translation::plan("message/send", &[Family::V10])
            .unwrap()
            .unwrap();
        let mut request = json!({"jsonrpc": "2.0", "id": "r", "method": "message/send", "params": {
            "message": {"kind": "message", "messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "hi"}]},
            "configuration": {"blocking": true}}});
        t.request(&mut request);
        assert_eq!(
            request,
            json!({"jsonrpc": "2.0", "id": "r", "method": "SendMessage", "params": {
                "message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
                "configuration": {"returnImmediately": false}}})
        );
        let mut reply = json!({"jsonrpc": "2.0", "id": "r", "result": {"message":
            {"messageId": "a", "role": "ROLE_AGENT", "parts": [{"text": "hello"}]}}});
        t.reply(&mut reply);
        assert_eq!(
            reply["result"],
            json!({"kind": "message", "messageId": "a", "role": "agent", "parts": [{"kind": "text", "text": "hello"}]})
        );
    }
}
