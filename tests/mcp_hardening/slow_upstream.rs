//! A slow upstream does not hold up other routes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::common;
use crate::common::mcp::{SAMPLE, call};
use crate::common::rmcp_upstream;

#[tokio::test]
async fn slow_upstream_does_not_hold_up_another_route() {
    // The rmcp upstream, each call of which takes 2 s.
    let slow = rmcp_upstream::start_slow(Duration::from_secs(2)).await;
    let yaml = format!(
        "binds:\n  - port: 0\n    address: 127.0.0.1\n    listeners:\n      - name: test\n        routes:\n          - name: slow\n            match: {{path: {{prefix: /a}}}}\n            backends:\n{}          - name: fast\n            match: {{path: {{prefix: /b}}}}\n            backends:\n{}",
        common::indent(&rmcp_upstream::backend_yaml("slow", slow.addr), 14),
        common::indent(SAMPLE, 14)
    );
    let gw = common::gateway(&yaml).await;
    let order = Arc::new(AtomicUsize::new(0));

    let slow_call = {
        let (url, order) = (gw.url("/a"), order.clone());
        tokio::spawn(async move {
            let reply = common::post_json(
                &url,
                &[],
                &call("slow-1", "echo", json!({"text": "finally"})),
            )
            .await;
            let done = order.fetch_add(1, Ordering::SeqCst);
            (done, reply)
        })
    };
    slow.wait_for_calls(1).await;
    assert!(!slow_call.is_finished(), "the slow call is in flight");

    let fast_calls = (0..20).map(|i| {
        let (url, order) = (gw.url("/b"), order.clone());
        async move {
            let reply = common::post_json(
                &url,
                &[],
                &call(
                    format!("fast-{i}"),
                    "get_weather_data",
                    json!({"city": "Tampa, FL", "days": 1}),
                ),
            )
            .await;
            let done = order.fetch_add(1, Ordering::SeqCst);
            (done, reply)
        }
    });
    let fast = futures_util::future::join_all(fast_calls).await;
    assert!(
        !slow_call.is_finished(),
        "the slow call is still in flight after all 20 calls on /b"
    );
    let (slow_done, slow_reply) = slow_call.await.unwrap();

    for (i, (done, reply)) in fast.iter().enumerate() {
        let body = reply.json();
        assert_eq!(body["id"], format!("fast-{i}"), "{body}");
        assert!(
            body["result"]["content"].is_array() && body["result"]["isError"] != true,
            "call {i} on /b: {} {}",
            reply.status,
            reply.text
        );
        assert!(
            *done < slow_done,
            "call {i} on /b finished at position {done}, after the slow call ({slow_done})"
        );
    }
    assert_eq!(slow_done, 20, "the slow call finished last");
    let body = slow_reply.json();
    assert_eq!(body["id"], "slow-1");
    assert_eq!(body["result"]["content"][0]["text"], "finally", "{body}");
}
