//! The load: workers that send, back to back, a fixed rotation of session-era and 2026-07-28 MCP
//! `tools/call echo` to both MCP upstreams and A2A `SendMessage` to the agent, each with a text no other
//! request carries, and check every answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agent_gateway::core::error::error_chain;
use serde_json::{Value, json};

use crate::check::{Expect, Outcome, Reply, classify, classify_notification};
use crate::tally::Tally;

/// How long a request may go without a complete answer before it counts as unanswered. The gateway's
/// route timeouts (5-6 s) are far shorter.
pub const DEADLINE: Duration = Duration::from_secs(90);

const SESSION_ERA: &str = "2025-11-25";
const STATELESS: &str = "2026-07-28";

pub const INITIALIZE: &str = "initialize (session era)";

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Upstream {
    Py,
    Everything,
}

impl Upstream {
    fn path(self) -> &'static str {
        match self {
            Upstream::Py => "/py",
            Upstream::Everything => "/everything",
        }
    }

    /// `echo`'s arguments and the text its result must hold: py_upstream echoes `text` as it is,
    /// server-everything echoes `message` as `Echo: <message>`.
    fn echo(self, text: &str) -> (Value, String) {
        match self {
            Upstream::Py => (json!({"text": text}), text.to_string()),
            Upstream::Everything => (json!({"message": text}), format!("Echo: {text}")),
        }
    }
}

#[derive(Clone, Copy)]
enum Step {
    Session(Upstream),
    Stateless(Upstream),
    Agent,
}

const ROTATION: [Step; 5] = [
    Step::Session(Upstream::Py),
    Step::Stateless(Upstream::Py),
    Step::Agent,
    Step::Session(Upstream::Everything),
    Step::Stateless(Upstream::Everything),
];

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Session(Upstream::Py) => "tools/call session era -> py",
            Step::Session(Upstream::Everything) => "tools/call session era -> everything",
            Step::Stateless(Upstream::Py) => "tools/call 2026-07-28 -> py",
            Step::Stateless(Upstream::Everything) => "tools/call 2026-07-28 -> everything",
            Step::Agent => "A2A SendMessage (1.0) -> agent",
        }
    }
}

/// Every kind of request, in the order of the report.
pub fn labels() -> Vec<&'static str> {
    let mut all = vec![INITIALIZE];
    all.extend(ROTATION.iter().map(|s| s.label()));
    all
}

/// How long a session-era session may answer nothing but clear errors before the worker gives it up
/// and opens another: longer than any outage the chaos makes (a kill and restart takes ~8 s, a stop
/// 10 s plus the route timeout), so a session is given up only when the gateway cannot use it again.
pub const STUCK: Duration = Duration::from_secs(20);

/// A session-era session on one route, and since when it has answered only clear errors.
struct Session {
    id: String,
    failing_since: Option<Instant>,
}

pub struct Worker {
    pub n: usize,
    pub http: reqwest::Client,
    pub base: String,
    pub tally: Arc<Tally>,
    pub ids: Arc<AtomicU64>,
    pub end: Instant,
}

impl Worker {
    /// Sends until `end`; the request in flight then is still awaited (and counted).
    pub async fn run(self) {
        let mut sessions: HashMap<Upstream, Session> = HashMap::new();
        let mut seq = 0u64;
        while Instant::now() < self.end {
            let step = ROTATION[(self.n + seq as usize) % ROTATION.len()];
            seq += 1;
            let unique = format!("soak-w{}-n{seq}", self.n);
            match step {
                Step::Session(up) => self.session_call(&mut sessions, up, &unique).await,
                Step::Stateless(up) => self.stateless_call(up, &unique).await,
                Step::Agent => self.agent_call(&unique).await,
            }
        }
    }

    /// A session-era `tools/call`, after `initialize` and `notifications/initialized` if this worker has
    /// no session on that route. A 404 means the session is gone: the next call opens a new one. So does
    /// a session that answered only clear errors for [`STUCK`] (counted as `stuck_sessions`).
    async fn session_call(
        &self,
        sessions: &mut HashMap<Upstream, Session>,
        up: Upstream,
        unique: &str,
    ) {
        let Some(session) = sessions.get_mut(&up) else {
            if let Some(id) = self.handshake(up).await {
                let failing_since = None;
                sessions.insert(up, Session { id, failing_since });
            }
            return;
        };
        let headers = [
            ("mcp-session-id", session.id.clone()),
            ("mcp-protocol-version", SESSION_ERA.to_string()),
        ];
        let outcome = self
            .echo(Step::Session(up), up, &headers, None, unique)
            .await;
        match outcome {
            Outcome::Error { status: 404, .. } => {
                sessions.remove(&up);
            }
            Outcome::Error { .. } => {
                let since = *session.failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() > STUCK {
                    sessions.remove(&up);
                    self.tally.stuck_session();
                }
            }
            _ => session.failing_since = None,
        }
    }

    /// `initialize` then `notifications/initialized`, counted as one exchange; the session id if both
    /// succeeded.
    async fn handshake(&self, up: Upstream) -> Option<String> {
        let params = json!({"protocolVersion": SESSION_ERA, "capabilities": {},
                            "clientInfo": {"name": "soak", "version": "1"}});
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": params});
        self.tally.sent(INITIALIZE);
        let (outcome, reply) = self
            .exchange(up.path(), &[], &body, |r| {
                classify(id, &Expect::Initialized, r)
            })
            .await;
        let session = reply.and_then(|r| r.session);
        let outcome = match (outcome, session.clone()) {
            (Outcome::Ok, Some(sid)) => {
                let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
                let headers = [
                    ("mcp-session-id", sid),
                    ("mcp-protocol-version", SESSION_ERA.to_string()),
                ];
                self.exchange(up.path(), &headers, &note, classify_notification)
                    .await
                    .0
            }
            (outcome, _) => outcome,
        };
        let ok = matches!(outcome, Outcome::Ok);
        self.tally
            .record(INITIALIZE, &outcome, || format!("-> {body}"));
        if ok { session } else { None }
    }

    /// A 2026-07-28 `tools/call`: the version, method and tool name in headers and `_meta`, no session.
    async fn stateless_call(&self, up: Upstream, unique: &str) {
        let meta = json!({"io.modelcontextprotocol/protocolVersion": STATELESS,
                          "io.modelcontextprotocol/clientCapabilities": {}});
        let headers = [
            ("mcp-protocol-version", STATELESS.to_string()),
            ("mcp-method", "tools/call".to_string()),
            ("mcp-name", "echo".to_string()),
        ];
        self.echo(Step::Stateless(up), up, &headers, Some(meta), unique)
            .await;
    }

    /// `tools/call echo` of `unique` on `up`'s route, with `_meta` when given.
    async fn echo(
        &self,
        step: Step,
        up: Upstream,
        headers: &[(&str, String)],
        meta: Option<Value>,
        unique: &str,
    ) -> Outcome {
        let (arguments, want) = up.echo(unique);
        let mut params = json!({"name": "echo", "arguments": arguments});
        if let Some(meta) = meta {
            params["_meta"] = meta;
        }
        let expect = Expect::ToolText(want);
        self.call(
            step.label(),
            up.path(),
            headers,
            "tools/call",
            params,
            expect,
        )
        .await
    }

    /// A2A 1.0 `SendMessage` of "hello <unique>"; the agent answers with the Message
    /// "hello back: hello <unique>".
    async fn agent_call(&self, unique: &str) {
        let text = format!("hello {unique}");
        let message = json!({"messageId": unique, "role": "ROLE_USER", "parts": [{"text": text}]});
        let headers = [("a2a-version", "1.0".to_string())];
        let want = Expect::AgentText(format!("hello back: {text}"));
        let params = json!({ "message": message });
        self.call(
            Step::Agent.label(),
            "/agents/weather",
            &headers,
            "SendMessage",
            params,
            want,
        )
        .await;
    }

    /// One request under a fresh id, counted under `label` with its outcome.
    async fn call(
        &self,
        label: &'static str,
        path: &str,
        headers: &[(&str, String)],
        method: &str,
        params: Value,
        expect: Expect,
    ) -> Outcome {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.tally.sent(label);
        let (outcome, reply) = self
            .exchange(path, headers, &body, |r| classify(id, &expect, r))
            .await;
        self.tally.record(label, &outcome, || {
            let answer = reply.as_ref().map_or(String::new(), |r| {
                format!("<- HTTP {} {}\n{}", r.status, r.content_type, r.body)
            });
            format!("-> POST {path} {headers:?}\n{body}\n{answer}")
        });
        outcome
    }

    /// Posts `body` and waits at most [`DEADLINE`] for the whole answer; no answer (a timeout, or a
    /// connection that failed or closed first) is `Unanswered`.
    async fn exchange(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: &Value,
        judge: impl FnOnce(&Reply) -> Outcome,
    ) -> (Outcome, Option<Reply>) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let sent = Instant::now();
        let answered = tokio::time::timeout(DEADLINE, async {
            let response = request.send().await?;
            let header = |name: &str| {
                let value = response.headers().get(name);
                value.and_then(|v| v.to_str().ok()).map(str::to_string)
            };
            let (content_type, session) = (header("content-type"), header("mcp-session-id"));
            let status = response.status().as_u16();
            let body = response.text().await?;
            Ok::<_, reqwest::Error>(Reply {
                status,
                content_type: content_type.unwrap_or_default(),
                session,
                body,
            })
        })
        .await;
        match answered {
            Ok(Ok(reply)) => (judge(&reply), Some(reply)),
            Ok(Err(e)) => {
                let why = format!("no answer after {:?}: {}", sent.elapsed(), error_chain(&e));
                (Outcome::Unanswered(why), None)
            }
            Err(_) => (
                Outcome::Unanswered(format!("no answer within {DEADLINE:?}")),
                None,
            ),
        }
    }
}
