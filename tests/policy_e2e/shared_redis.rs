//! Two gateway processes sharing one real `redis-server` hold one global rate limit between them.

use serde_json::json;

use crate::common::redis::RedisServer;
use crate::{common, structured};

fn limited_config(redis_port: u16) -> String {
    format!(
        "rateLimitStore: {{redis: redis://127.0.0.1:{redis_port}, failMode: failClosed}}
binds:
  - port: 0
    address: 127.0.0.1
    listeners:
      - name: mcp-listener
        routes:
          - name: agent-to-mcp-tools
            match:
              path:
                prefix: /mcp
            policies:
              - type: rate-limit
                rateLimit:
                  descriptors:
                    - key: tool-name
                      value: get_weather_data
                      rateLimit:
                        requestsPerMinute: 6
            backends:
              - name: sample
                type: sample
"
    )
}

#[tokio::test]
async fn two_gateway_processes_sharing_one_redis_enforce_one_limit() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut gateways = Vec::new();
    let mut urls = Vec::new();
    for name in ["a", "b"] {
        let config = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&config, limited_config(redis.port)).unwrap();
        let (gateway, addr) = common::gateway_process(&config, &[], &[]).await;
        gateways.push(gateway);
        urls.push(format!("http://{addr}"));
    }

    let mut outcomes = Vec::new();
    for i in 0..14 {
        let url = format!("{}/mcp", urls[i % 2]);
        let call = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                          "params": {"name": "get_weather_data", "arguments": {"city": "Tampa, FL"}}});
        let reply = common::post_json(&url, &[], &call).await;
        match reply.status {
            200 => {
                structured(&reply, &format!("call {i} on gateway {}", i % 2));
            }
            429 => {
                assert!(
                    reply.headers.contains_key("retry-after"),
                    "{:?}",
                    reply.headers
                );
                assert_eq!(reply.json()["error"]["code"], -32029, "{}", reply.text);
            }
            other => panic!(
                "call {i} on gateway {}: HTTP {other}: {}",
                i % 2,
                reply.text
            ),
        }
        outcomes.push(reply.status);
    }
    let allowed = outcomes.iter().filter(|s| **s == 200).count();
    assert_eq!(
        allowed, 6,
        "six calls in all across both gateways, not six each: {outcomes:?}"
    );
    assert_eq!(
        outcomes,
        [[200; 6].as_slice(), [429; 8].as_slice()].concat(),
        "the first six pass (three on each gateway), every later one is refused"
    );
    drop(gateways);
}
