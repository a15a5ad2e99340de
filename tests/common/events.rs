//! Reading an SSE answer event by event (a caller's GET stream, a call's stream).

use std::time::Duration;

use serde_json::Value;

/// Reads one SSE stream event by event.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    pub async fn open(request: reqwest::RequestBuilder) -> Events {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's `event:` and `data:`, waiting at most 20 s.
    pub async fn next(&mut self) -> (String, String) {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    if block.starts_with(':') {
                        continue;
                    }
                    let field = |name: &str| {
                        block
                            .lines()
                            .filter_map(|l| l.strip_prefix(name))
                            .map(|v| v.trim_start().to_string())
                            .collect::<Vec<_>>()
                            .join("\n")
                    };
                    return (field("event:"), field("data:"));
                }
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .unwrap()
                    .expect("the stream ended");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("an event within 20 s")
    }

    pub async fn next_message(&mut self) -> Value {
        loop {
            let (event, data) = self.next().await;
            if event == "message" || event.is_empty() {
                return serde_json::from_str(&data).unwrap();
            }
        }
    }
}
