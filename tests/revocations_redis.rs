//! A DELETEd session stays dead on every replica: replicas that share the session key and a Redis
//! (`rateLimitStore`) share revocations, whether they were running at the DELETE or started after it.
//! A real `redis-server` (`common::redis`) and in-process gateways.

mod common;

use std::time::{Duration, Instant};

use common::redis::RedisServer;
use serde_json::json;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

async fn replica(redis: &str) -> common::Gateway {
    let yaml = format!(
        "{}security: {{sessionKey: {KEY}}}\nrateLimitStore: {{redis: '{redis}'}}\n",
        common::route_yaml("- name: sample\n  type: sample\n")
    );
    common::gateway(&yaml).await
}

async fn ping(gw: &common::Gateway, session: &str) -> u16 {
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    common::post_json(&gw.url("/mcp"), &[("mcp-session-id", session)], &ping)
        .await
        .status
}

/// Waits (at most 5 s) until `gw` refuses `session`.
async fn until_refused(gw: &common::Gateway, session: &str, which: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while ping(gw, session).await != 404 {
        assert!(
            Instant::now() < deadline,
            "{which} still accepts the DELETEd session"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_deleted_session_is_refused_by_every_replica() {
    let redis = RedisServer::start();
    let (a, b) = (replica(&redis.url()).await, replica(&redis.url()).await);
    let (gone, kept) = (
        common::initialize(&a.url("/mcp")).await,
        common::initialize(&a.url("/mcp")).await,
    );
    assert_eq!(
        ping(&b, &gone).await,
        200,
        "the session moves between replicas"
    );

    let deleted = reqwest::Client::new()
        .delete(a.url("/mcp"))
        .header("mcp-session-id", &gone)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(ping(&a, &gone).await, 404);
    until_refused(&b, &gone, "the replica running at the DELETE").await;

    let late = replica(&redis.url()).await;
    until_refused(&late, &gone, "a replica started after the DELETE").await;
    for gw in [&a, &b, &late] {
        assert_eq!(
            ping(gw, &kept).await,
            200,
            "another session was caught up in it"
        );
    }
}
