//! Task ownership without replica-local state: every task id and context id the client sees is sealed with
//! the caller's principal and the agent's name (`Sealer`, purposes `a2a-task` and `a2a-context`), and opened
//! on the way in, by any replica holding the key.
//!
//! An id the gateway cannot open for this caller (sealed for another principal or agent, forged, or an
//! agent's raw id learnt elsewhere) never reaches the agent as it came: it is forwarded namespaced to the
//! caller (`<hash of principal>~<id>`), a string no other caller can produce. The agent then answers as it
//! answers any id it does not know (TaskNotFound, or whatever it checks first: push notifications not
//! supported, bad parameters), so the caller gets the agent's own answer and learns nothing about whose
//! the id was.
//!
//! What is rewritten, in both protocol versions and in requests, responses and stream events alike:
//! - `taskId`, `contextId` and `referenceTaskIds[]` wherever they appear (messages, status and artifact
//!   updates, push-notification configs), and their snake_case spellings (`task_id`, `context_id`,
//!   `reference_task_ids`), which protobuf-based SDKs accept as well: an id field in either spelling
//!   is never passed through raw;
//! - `id` of a Task object (an object with `id` and `status`, plus `contextId` or `kind: "task"`);
//! - `params.id` of the methods whose `id` is a task id (`tasks/get`, `GetTask`, …, see `TASK_ID_METHODS`).
//!   The 1.0 push-config methods use `taskId` for the task and `id` for the config, which is left alone.
//!
//! `metadata` and data parts (`data`) are never touched: they belong to the agent and the client.
//!
//! A `contextId` the client chose itself is namespaced the same way, so it starts a new conversation and
//! two principals choosing the same string never share an agent-side context. This is also what makes
//! `ListTasks` by `contextId` safe: contexts are never shared between principals.
//!
//! Sealing is deterministic (`Sealer::seal_deterministic`): one raw id, for one principal at one agent,
//! is always the same token, in every response, stream and replica, so clients that compare or group ids
//! (by `contextId`, say) see one task as one task. Another principal or agent gets an unrelated token.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::seal::Sealer;

pub const TASK: &str = "a2a-task";
pub const CONTEXT: &str = "a2a-context";

/// Methods (both versions) whose `params.id` is a task id.
const TASK_ID_METHODS: &[&str] = &[
    "tasks/get",
    "tasks/cancel",
    "tasks/resubscribe",
    "tasks/pushNotificationConfig/get",
    "tasks/pushNotificationConfig/list",
    "tasks/pushNotificationConfig/delete",
    "GetTask",
    "CancelTask",
    "SubscribeToTask",
];

pub fn method_has_task_id(method: &str) -> bool {
    TASK_ID_METHODS.contains(&method)
}

#[derive(Serialize, Deserialize)]
struct Claim {
    /// Principal ("" for an anonymous caller).
    p: String,
    /// Agent name.
    a: String,
    id: String,
}

pub struct IdMap {
    sealer: Arc<Sealer>,
    principal: String,
    agent: String,
}

impl IdMap {
    pub fn new(sealer: Arc<Sealer>, principal: Option<&str>, agent: &str) -> IdMap {
        IdMap {
            sealer,
            principal: principal.unwrap_or_default().to_string(),
            agent: agent.to_string(),
        }
    }

    /// A task id from the client: the agent's id when it is one of the caller's tokens, else namespaced.
    pub fn open_task(&self, token: &str) -> String {
        self.open(TASK, token)
            .unwrap_or_else(|| self.namespaced(token))
    }

    /// A context id from the client: the agent's id when it is one of the caller's tokens, else (chosen
    /// by the client, or not the caller's) namespaced.
    pub fn open_context(&self, token: &str) -> String {
        self.open(CONTEXT, token)
            .unwrap_or_else(|| self.namespaced(token))
    }

    /// A query parameter's value opened when `key` is an id field (either spelling; a list is
    /// comma-separated), with whether it is a context id; `None` for any other parameter.
    pub fn open_field(&self, key: &str, value: &str) -> Option<(String, bool)> {
        match id_field(key) {
            Field::Task => Some((self.open_task(value), false)),
            Field::Context => Some((self.open_context(value), true)),
            Field::References => {
                let opened: Vec<String> = value.split(',').map(|id| self.open_task(id)).collect();
                Some((opened.join(","), false))
            }
            _ => None,
        }
    }

    /// `id` prefixed with a hash of the principal: never an id the agent gave anyone else.
    fn namespaced(&self, id: &str) -> String {
        let hash = Sha256::digest(self.principal.as_bytes());
        let prefix: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}~{id}")
    }

    fn open(&self, purpose: &'static str, token: &str) -> Option<String> {
        let claim: Claim = self.sealer.open(purpose, token).ok()?;
        (claim.p == self.principal && claim.a == self.agent).then_some(claim.id)
    }

    pub fn seal(&self, purpose: &'static str, raw: &str) -> String {
        self.sealer.seal_deterministic(
            purpose,
            &Claim {
                p: self.principal.clone(),
                a: self.agent.clone(),
                id: raw.to_string(),
            },
        )
    }

    /// Opens every id in a request's `params` (or an HTTP+JSON body).
    pub fn inbound(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    match (id_field(key), &mut *v) {
                        (Field::Opaque, _) => {}
                        (Field::Task, Value::String(s)) => *s = self.open_task(s),
                        (Field::Context, Value::String(s)) => *s = self.open_context(s),
                        (Field::References, Value::Array(ids)) => {
                            for id in ids.iter_mut() {
                                if let Value::String(s) = id {
                                    *s = self.open_task(s);
                                }
                            }
                        }
                        _ => self.inbound(v),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.inbound(v)),
            _ => {}
        }
    }

    /// Seals every id in a response's `result`, a stream event or an HTTP+JSON body.
    pub fn outbound(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                let is_task = map.get("id").is_some_and(Value::is_string)
                    && map.get("status").is_some_and(Value::is_object)
                    && (map.contains_key("contextId")
                        || map.contains_key("context_id")
                        || map.get("kind").and_then(Value::as_str) == Some("task"));
                for (key, v) in map.iter_mut() {
                    match (id_field(key), &mut *v) {
                        (Field::Opaque, _) => {}
                        (Field::Id, Value::String(s)) if is_task => *s = self.seal(TASK, s),
                        (Field::Task, Value::String(s)) => *s = self.seal(TASK, s),
                        (Field::Context, Value::String(s)) => *s = self.seal(CONTEXT, s),
                        (Field::References, Value::Array(ids)) => {
                            for id in ids.iter_mut() {
                                if let Value::String(s) = id {
                                    *s = self.seal(TASK, s);
                                }
                            }
                        }
                        _ => self.outbound(v),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.outbound(v)),
            _ => {}
        }
    }
}

/// What a member of an A2A object is to the id rewriting, in either spelling an SDK accepts.
enum Field {
    /// `metadata` and data parts: the agent's and the client's own, never touched.
    Opaque,
    Id,
    Task,
    Context,
    References,
    Other,
}

fn id_field(key: &str) -> Field {
    match key {
        "metadata" | "data" => Field::Opaque,
        "id" => Field::Id,
        "taskId" | "task_id" => Field::Task,
        "contextId" | "context_id" => Field::Context,
        "referenceTaskIds" | "reference_task_ids" => Field::References,
        _ => Field::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(principal: &str) -> IdMap {
        static KEY: std::sync::OnceLock<Arc<Sealer>> = std::sync::OnceLock::new();
        let sealer = KEY.get_or_init(|| Arc::new(Sealer::generate())).clone();
        IdMap::new(sealer, Some(principal), "weather")
    }

    #[test]
    fn seals_tasks_and_contexts_and_only_the_owner_opens_them() {
        let mut task = json!({"id": "t1", "contextId": "c1", "kind": "task", "status": {"state": "working"},
            "history": [{"messageId": "m", "taskId": "t1", "contextId": "c1", "metadata": {"taskId": "keep"}}]});
        let alice = map("alice");
        alice.outbound(&mut task);
        let sealed_id = task["id"].as_str().unwrap().to_string();
        assert_ne!(sealed_id, "t1");
        assert_eq!(
            task["history"][0]["taskId"],
            sealed_id.as_str(),
            "one token per raw id in an exchange"
        );
        assert_eq!(task["history"][0]["metadata"]["taskId"], "keep");
        assert_eq!(map("alice").open_task(&sealed_id), "t1");
        // Bob, with Alice's token or her raw id, reaches only ids namespaced to himself.
        let bob = map("bob");
        assert_eq!(bob.open_task(&sealed_id), bob.namespaced(&sealed_id));
        assert_eq!(bob.open_task("t1"), bob.namespaced("t1"));
        let ctx = task["contextId"].as_str().unwrap();
        assert_eq!(map("alice").open_context(ctx), "c1");
        assert_eq!(bob.open_context(ctx), bob.namespaced(ctx));
        assert_ne!(bob.namespaced("t1"), map("alice").namespaced("t1"));
    }

    #[test]
    fn snake_case_id_fields_are_opened_and_sealed_like_camel_case_ones() {
        // Bob knows Alice's raw ids and tokens: in either spelling they reach the agent namespaced to Bob.
        let bob = map("bob");
        let token = map("alice").seal(CONTEXT, "c1");
        let mut params = json!({"message": {"context_id": "c1", "task_id": "t1",
            "reference_task_ids": ["t1"], "contextId": token}});
        bob.inbound(&mut params);
        assert_eq!(
            params,
            json!({"message": {"context_id": bob.namespaced("c1"), "task_id": bob.namespaced("t1"),
                "reference_task_ids": [bob.namespaced("t1")], "contextId": bob.namespaced(&token)}})
        );
        // Outbound, an agent's snake_case ids are sealed as well.
        let mut task =
            json!({"id": "t1", "context_id": "c1", "status": {}, "history": [{"task_id": "t1"}]});
        map("alice").outbound(&mut task);
        assert_ne!(task["id"], "t1");
        assert_ne!(task["context_id"], "c1");
        assert_eq!(task["history"][0]["task_id"], task["id"]);
    }

    #[test]
    fn client_chosen_contexts_are_namespaced_per_principal() {
        let a = map("alice").open_context("my-ctx");
        let b = map("bob").open_context("my-ctx");
        assert!(a.ends_with("~my-ctx") && b.ends_with("~my-ctx") && a != b);
    }

    #[test]
    fn one_raw_id_seals_to_one_token_per_principal_and_agent_in_every_exchange() {
        // Two exchanges (two GetTask calls, two streams on one task) show the client the same ids.
        let (first, second) = (map("alice"), map("alice"));
        let mut a = json!({"id": "t1", "contextId": "c1", "status": {}});
        let mut b = json!({"statusUpdate": {"taskId": "t1", "contextId": "c1", "status": {}}});
        first.outbound(&mut a);
        second.outbound(&mut b);
        assert_eq!(a["id"], b["statusUpdate"]["taskId"]);
        assert_eq!(a["contextId"], b["statusUpdate"]["contextId"]);
        // The token a client sends comes back unchanged.
        let mut params = json!({"message": {"taskId": a["id"].clone()}});
        let third = map("alice");
        third.inbound(&mut params);
        let mut echo = json!({"taskId": "t1"});
        third.outbound(&mut echo);
        assert_eq!(echo["taskId"], a["id"]);
        // Another principal, or the same principal at another agent, sees other tokens for the same raw id.
        assert_ne!(map("bob").seal(TASK, "t1"), first.seal(TASK, "t1"));
        let sealer = first.sealer.clone();
        let other_agent = IdMap::new(sealer, Some("alice"), "planning").seal(TASK, "t1");
        assert_ne!(other_agent, first.seal(TASK, "t1"));
        // Task and context ids live apart: the same raw string is two tokens.
        assert_ne!(first.seal(CONTEXT, "t1"), first.seal(TASK, "t1"));
    }

    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        const ID_KEYS: [&str; 6] = [
            "taskId",
            "task_id",
            "contextId",
            "context_id",
            "referenceTaskIds",
            "reference_task_ids",
        ];

        /// A2A-shaped JSON: objects whose members may be id fields in either spelling, nested under
        /// other members, arrays, and `metadata`/`data` members that hold anything (ids included).
        fn a2a_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                "[a-z0-9]{0,8}".prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                Just(Value::Null),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                let id = "[a-z0-9-]{1,8}";
                let member = prop_oneof![
                    (0..ID_KEYS.len(), id, vec(id, 0..3)).prop_map(|(k, raw, refs)| {
                        let key = ID_KEYS[k];
                        let value = if key.starts_with("reference") {
                            json!(refs)
                        } else {
                            json!(raw)
                        };
                        (key.to_string(), value)
                    }),
                    (
                        prop_oneof![
                            Just("message"),
                            Just("parts"),
                            Just("history"),
                            Just("text")
                        ],
                        inner.clone()
                    )
                        .prop_map(|(k, v)| (k.to_string(), v)),
                    (prop_oneof![Just("metadata"), Just("data")], inner.clone())
                        .prop_map(|(k, v)| (k.to_string(), v)),
                ];
                prop_oneof![
                    vec(inner, 0..4).prop_map(Value::Array),
                    vec(member, 0..5)
                        .prop_map(|members| Value::Object(members.into_iter().collect())),
                ]
            })
        }

        /// Every id value outside `metadata`/`data`, in document order: by the key list above, not by
        /// the code under test.
        fn ids(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, v) in map {
                        match (key.as_str(), v) {
                            ("metadata" | "data", _) => {}
                            (k, Value::String(s)) if ID_KEYS.contains(&k) => out.push(s.clone()),
                            (k, Value::Array(items)) if ID_KEYS.contains(&k) => out
                                .extend(items.iter().filter_map(Value::as_str).map(str::to_string)),
                            _ => ids(v, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| ids(v, out)),
                _ => {}
            }
        }

        proptest! {
            /// Sealed for a caller and opened by that caller (another exchange, the same principal), any
            /// document comes back as it was; no raw id is left in the sealed one, whatever its spelling
            /// or depth; `metadata` and `data` are never touched. Nobody else reaches a raw id with it.
            #[test]
            fn ids_round_trip_for_their_owner_only(doc in a2a_json()) {
                let mut sealed = doc.clone();
                map("alice").outbound(&mut sealed);
                let (mut raw, mut tokens) = (Vec::new(), Vec::new());
                ids(&doc, &mut raw);
                ids(&sealed, &mut tokens);
                prop_assert_eq!(raw.len(), tokens.len());
                for (r, t) in raw.iter().zip(&tokens) {
                    prop_assert_ne!(r, t);
                }
                let mut opened = sealed.clone();
                map("alice").inbound(&mut opened);
                prop_assert_eq!(&opened, &doc);
                // Another principal sending Alice's tokens, or her raw ids, reaches none of her ids: every
                // id arrives namespaced to him.
                let bob = map("bob");
                let prefix = bob.namespaced("");
                for sent in [sealed, doc] {
                    let mut opened = sent.clone();
                    bob.inbound(&mut opened);
                    let mut reached = Vec::new();
                    ids(&opened, &mut reached);
                    for id in &reached {
                        prop_assert!(id.starts_with(&prefix) && !raw.contains(id), "{id}");
                    }
                }
            }
        }
    }
}
