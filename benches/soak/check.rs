//! What an answer was: ok (our id and our unique text), a clear error (a JSON-RPC error under our id, or
//! under a null id with an HTTP error status), wrong (any other answer) or unanswered.

use serde_json::Value;

/// An answer as received: status, content type, `Mcp-Session-Id`, body.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub session: Option<String>,
    pub body: String,
}

pub enum Outcome {
    Ok,
    Error {
        code: i64,
        status: u16,
        message: String,
    },
    Wrong(String),
    Unanswered(String),
}

/// What a correct result holds.
pub enum Expect {
    /// An MCP tool result with a text content item equal to this, and `isError` not true.
    ToolText(String),
    /// An A2A `SendMessage` result: a Message with a text part equal to this.
    AgentText(String),
    /// An `initialize` result: a `protocolVersion`, and a session id in the headers.
    Initialized,
}

impl Expect {
    fn met_by(&self, result: &Value, reply: &Reply) -> bool {
        let has_text = |items: &Value, want: &str| {
            items
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i["text"].as_str() == Some(want)))
        };
        match self {
            Expect::ToolText(want) => {
                result["isError"] != Value::Bool(true) && has_text(&result["content"], want)
            }
            Expect::AgentText(want) => has_text(&result["message"]["parts"], want),
            Expect::Initialized => result["protocolVersion"].is_string() && reply.session.is_some(),
        }
    }
}

/// Classifies the answer to the request with JSON-RPC id `id`.
pub fn classify(id: u64, expect: &Expect, reply: &Reply) -> Outcome {
    let message = match answer(id, reply) {
        Ok(m) => m,
        Err(why) => return Outcome::Wrong(why),
    };
    let ours = message["id"].as_u64() == Some(id);
    if let Some(error) = message.get("error") {
        let Some(code) = error["code"].as_i64() else {
            return Outcome::Wrong("an error without an integer code".into());
        };
        if !(ours || (reply.status >= 400 && message["id"].is_null())) {
            return Outcome::Wrong(format!("an error under id {}", message["id"]));
        }
        return Outcome::Error {
            code,
            status: reply.status,
            message: describe(error),
        };
    }
    if !ours {
        return Outcome::Wrong(format!("an answer under id {}", message["id"]));
    }
    match message.get("result") {
        Some(result) if expect.met_by(result, reply) => Outcome::Ok,
        Some(_) => Outcome::Wrong("a result without our text".into()),
        None => Outcome::Wrong("neither result nor error".into()),
    }
}

/// The answer to a notification: 2xx with no error, or a clear error.
pub fn classify_notification(reply: &Reply) -> Outcome {
    if (200..300).contains(&reply.status) {
        return Outcome::Ok;
    }
    let error = serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_i64().map(|c| (c, v)));
    match error {
        Some((code, v)) if reply.status >= 400 => Outcome::Error {
            code,
            status: reply.status,
            message: describe(&v["error"]),
        },
        _ => Outcome::Wrong(format!("HTTP {} to a notification", reply.status)),
    }
}

/// An error's message and, when it gives one, its reason (`data.reason`, or A2A's `data[0].reason`).
fn describe(error: &Value) -> String {
    let message = error["message"].as_str().unwrap_or_default();
    let data = &error["data"];
    match data["reason"].as_str().or(data[0]["reason"].as_str()) {
        Some(reason) => format!("{message} ({reason})"),
        None => message.to_string(),
    }
}

/// The JSON-RPC message that answers `id`: the body, or in an event stream the event under `id` (else
/// an error under a null id).
fn answer(id: u64, reply: &Reply) -> Result<Value, String> {
    if !reply.content_type.starts_with("text/event-stream") {
        return match serde_json::from_str::<Value>(&reply.body) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err("a body that is not one JSON object".into()),
            Err(e) => Err(format!("an unparseable body ({e})")),
        };
    }
    let messages: Vec<Value> = events(&reply.body)
        .iter()
        .filter_map(|data| serde_json::from_str(data).ok())
        .collect();
    let under_null = |m: &&Value| m["id"].is_null() && m.get("error").is_some();
    messages
        .iter()
        .find(|m| {
            m["id"].as_u64() == Some(id) && (m.get("result").is_some() || m.get("error").is_some())
        })
        .or_else(|| messages.iter().find(under_null))
        .cloned()
        .ok_or_else(|| format!("an event stream without an answer to id {id}"))
}

/// The data of each event of an SSE body (its `data:` lines joined by newlines).
fn events(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut data: Option<String> = None;
    for line in body.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            out.extend(data.take());
        } else if let Some(d) = line.strip_prefix("data:") {
            let d = d.strip_prefix(' ').unwrap_or(d);
            match &mut data {
                Some(text) => {
                    text.push('\n');
                    text.push_str(d);
                }
                None => data = Some(d.to_string()),
            }
        }
    }
    out
}
