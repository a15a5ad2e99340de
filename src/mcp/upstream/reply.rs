//! An upstream's JSON-RPC reply as it arrived: the relay answers the caller with the upstream's own bytes
//! for `result` (or `error`) and reads only the members the gateway owns, so nothing it does not know is
//! lost and nothing it does not need is parsed into a tree and serialized again.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// One whole JSON-RPC message, read once: its envelope (whether it has a `method`, where its `result` or
/// `error` is, the error's code) is found in one pass; the values themselves stay unparsed text.
#[derive(Debug, Clone)]
pub struct Reply {
    text: String,
    method: bool,
    id: Option<Range<usize>>,
    result: Option<Range<usize>>,
    error: Option<Range<usize>>,
    error_code: Option<i64>,
}

/// The members of a message the relay reads, borrowed from its text.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
struct ErrorCode {
    code: Option<i64>,
}

impl Reply {
    /// Reads a message's text; an error when it is not one JSON object.
    pub fn parse(text: String) -> Result<Reply, serde_json::Error> {
        let envelope: Envelope<'_> = serde_json::from_str(&text)?;
        let range = |raw: &RawValue| {
            let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            start..start + raw.get().len()
        };
        let error_code = envelope
            .error
            .and_then(|e| serde_json::from_str::<ErrorCode>(e.get()).ok())
            .and_then(|e| e.code);
        let (method, id, result, error) = (
            envelope.method.is_some(),
            envelope.id.map(range),
            envelope.result.map(range),
            envelope.error.map(range),
        );
        Ok(Reply {
            text,
            method,
            id,
            result,
            error,
            error_code,
        })
    }

    pub fn from_value(value: &Value) -> Reply {
        Reply::parse(value.to_string()).expect("a JSON object reads back")
    }

    /// The whole message parsed, for the gateway's own calls (discovery, lifecycle).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this is a request or notification (it names a method) rather than a reply.
    pub fn has_method(&self) -> bool {
        self.method
    }

    /// Whether this answers the request with id `request`: its id is that one, or it is an error with a
    /// null id (the peer could not read the request's id; one request per POST makes it this one's).
    pub fn answers(&self, request: &Value) -> bool {
        let id = self
            .id
            .clone()
            .and_then(|r| serde_json::from_str::<Value>(&self.text[r]).ok())
            .unwrap_or(Value::Null);
        id == *request || (id.is_null() && self.error.is_some())
    }

    /// The text of `result`, as the upstream sent it.
    pub fn result(&self) -> Option<&str> {
        self.result.clone().map(|r| &self.text[r])
    }

    /// The text of `error`, as the upstream sent it.
    pub fn error(&self) -> Option<&str> {
        self.error.clone().map(|r| &self.text[r])
    }

    /// The code of an error reply.
    pub fn error_code(&self) -> Option<i64> {
        self.error_code
    }
}

/// The members of a JSON object in their order, each value borrowed unparsed.
#[derive(Default)]
pub struct Members<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Members<'a> {
    /// The members of the object `text`; empty when it is not an object.
    pub fn of(text: &'a str) -> Members<'a> {
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_map(MembersVisitor).unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Whether member `key` is the JSON string or literal `value` (`"complete"`, `true`).
    pub fn is(&self, key: &str, value: &str) -> bool {
        self.get(key).is_some_and(|v| v.get().trim() == value)
    }

    /// The object again, without `key`.
    pub fn without(&self, key: &str) -> String {
        let mut out = String::from("{");
        for (k, v) in self.0.iter().filter(|(k, _)| k != key) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(k.as_ref()).expect("a string serializes"));
            out.push(':');
            out.push_str(v.get());
        }
        out.push('}');
        out
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some((k, v)) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
            members.push((k, v));
        }
        Ok(Members(members))
    }
}

/// `object` with `"key":value` as its first member; `object` must be a JSON object's text.
pub fn with_first(object: &str, key: &str, value: &str) -> String {
    let inner = object.trim().strip_prefix('{').unwrap_or("}");
    let member = format!(
        "{}:{value}",
        serde_json::to_string(key).expect("a string serializes")
    );
    if inner.trim_start().starts_with('}') {
        format!("{{{member}}}")
    } else {
        format!("{{{member},{inner}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_members_it_owns_and_keeps_the_rest_as_sent() {
        let reply = Reply::parse(
            r#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"a"}],"x-extra":{"k":[1,2]},"isError":false}}"#.into(),
        )
        .unwrap();
        assert!(!reply.has_method());
        let members = Members::of(reply.result().unwrap());
        assert!(members.is("isError", "false"));
        assert_eq!(members.get("x-extra").unwrap().get(), r#"{"k":[1,2]}"#);
        assert_eq!(reply.error_code(), None);
        let error = Reply::parse(
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#.into(),
        )
        .unwrap();
        assert_eq!(error.error_code(), Some(-32601));
        assert!(Reply::parse("{not json".into()).is_err());
        let note = Reply::parse(
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#.into(),
        )
        .unwrap();
        assert!(note.has_method() && note.result().is_none());
    }

    #[test]
    fn result_type_is_added_or_removed_without_touching_other_members() {
        let members_text = r#"{ "resultType" : "complete", "a\"b": 1, "c": [true] }"#;
        let raw: Box<RawValue> = serde_json::from_str(members_text).unwrap();
        let members = Members::of(raw.get());
        assert!(members.is("resultType", "\"complete\""));
        assert_eq!(members.without("resultType"), r#"{"a\"b":1,"c":[true]}"#);
        assert_eq!(
            with_first(r#" {"a":1}"#, "resultType", "\"complete\""),
            r#"{"resultType":"complete","a":1}"#
        );
        assert_eq!(
            with_first("{ }", "resultType", "\"complete\""),
            r#"{"resultType":"complete"}"#
        );
    }
}
