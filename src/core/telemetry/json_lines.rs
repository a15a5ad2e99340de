//! The JSON log format: one object per event with `timestamp`, `level`, the event's fields (`message`
//! among them) and `target`, the shape of tracing-subscriber's flattened JSON. Each line is written
//! straight into one buffer; tracing-subscriber's own JSON formatter goes through serde maps and cost
//! about 9% of a relayed call's instructions, since every request writes an access-log line.

use std::fmt;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::registry::LookupSpan;

pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut head = String::with_capacity(256);
        head.push_str("{\"timestamp\":\"");
        SystemTime.format_time(&mut Writer::new(&mut head))?;
        head.push_str("\",\"level\":\"");
        head.push_str(event.metadata().level().as_str());
        head.push('"');
        let mut line = head.into_bytes();
        event.record(&mut Fields { line: &mut line });
        line.extend_from_slice(b",\"target\":");
        push_str(&mut line, event.metadata().target());
        line.extend_from_slice(b"}\n");
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}

struct Fields<'a> {
    line: &'a mut Vec<u8>,
}

impl Fields<'_> {
    fn key(&mut self, field: &Field) {
        self.line.push(b',');
        push_str(self.line, field.name());
        self.line.push(b':');
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_str(self.line, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.line, "{value}");
        } else {
            self.line.extend_from_slice(b"null");
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        push_str(self.line, &format!("{value:?}"));
    }
}

/// `value` as a JSON string literal, escaped by serde_json (writing to a Vec cannot fail).
fn push_str(line: &mut Vec<u8>, value: &str) {
    let _ = serde_json::to_writer(&mut *line, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_event_is_one_json_object_with_every_field() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                target: "access",
                route = "mcp",
                status = 200u16,
                error_code = -32602i64,
                duration_ms = 0.25,
                ok = true,
                missing = None::<&str>,
                detail = ?vec!["a\"b"],
                "request \"quoted\"\n\u{1}"
            );
            tracing::warn!(nan = f64::NAN, "second");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["target"], "access");
        assert_eq!(first["message"], "request \"quoted\"\n\u{1}");
        assert_eq!(first["route"], "mcp");
        assert_eq!(first["status"], 200);
        assert_eq!(first["error_code"], -32602);
        assert_eq!(first["duration_ms"], 0.25);
        assert_eq!(first["ok"], true);
        assert!(first.get("missing").is_none(), "{first}");
        assert_eq!(first["detail"], "[\"a\\\"b\"]");
        let timestamp = first["timestamp"].as_str().unwrap();
        assert!(
            timestamp.len() >= 20 && timestamp.ends_with('Z') && timestamp.contains('T'),
            "{timestamp}"
        );
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["nan"], Value::Null);
    }
}
