//! A session holds a bounded number of notification streams.

use std::time::Duration;

use serde_json::Value;

use crate::common;
use crate::common::mcp::SAMPLE;

#[tokio::test]
async fn a_session_opens_at_most_four_notification_streams() {
    let gw = common::gateway(&common::route_yaml(SAMPLE)).await;
    let url = gw.url("/mcp");
    let session = common::initialize(&url).await;
    let open = || {
        reqwest::Client::new()
            .get(&url)
            .header("mcp-session-id", &session)
            .header("accept", "text/event-stream")
            .send()
    };
    let mut streams = Vec::new();
    for _ in 0..4 {
        let stream = open().await.unwrap();
        assert_eq!(stream.status(), 200);
        streams.push(stream);
    }
    let refused = open().await.unwrap();
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4 notification streams open"),
        "{body}"
    );
    // Closing one gives its place back.
    drop(streams.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let again = open().await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
