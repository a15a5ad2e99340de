//! The `rateLimitStore` section through the public config API, as `agent-gateway validate` and startup see it.

use agent_gateway::config::*;
use agent_gateway::core::ratelimit::{FailMode, Limiter};

const BINDS: &str = "binds:\n- port: 8080\n  listeners:\n  - name: l\n    routes:\n    - name: r\n      match: {path: {prefix: /mcp}}\n      backends: [{name: s, type: sample}]\n";

fn with(section: &str) -> String {
    format!("{BINDS}{section}")
}

fn rejected(text: &str) -> Vec<String> {
    match load_str(text, "t.yaml") {
        Ok(loaded) => panic!("accepted, with {:?}", loaded.diagnostics),
        Err(diags) => diags
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect(),
    }
}

#[test]
fn redis_store_maps_with_its_fail_mode() {
    let text = with("rateLimitStore: {redis: 'redis://127.0.0.1:6379', failMode: failClosed}\n");
    let loaded = load_str(&text, "t.yaml").expect("valid");
    let store = loaded.config.rate_limit_store.as_ref().expect("set");
    assert_eq!(
        (store.redis_url.as_str(), store.fail_mode),
        ("redis://127.0.0.1:6379", RateLimitFailMode::Closed)
    );
    assert_eq!(FailMode::from(store.fail_mode), FailMode::Closed);
    assert_eq!(
        (store.location.line, store.location.path.as_str()),
        (9, "rateLimitStore")
    );
}

#[test]
fn fail_mode_defaults_to_open_and_the_section_is_optional() {
    let loaded = load_str(
        &with("rateLimitStore:\n  redis: redis://redis:6379/1\n"),
        "t.yaml",
    )
    .unwrap();
    let store = loaded.config.rate_limit_store.unwrap();
    assert_eq!(store.fail_mode, RateLimitFailMode::Open);
    assert!(
        load_str(BINDS, "t.yaml")
            .unwrap()
            .config
            .rate_limit_store
            .is_none()
    );
}

#[test]
fn mistakes_are_reported_with_place_and_hint() {
    assert_eq!(
        rejected(&with(
            "rateLimitStore: {redis: 'redis://r:6379', failMode: failclosed}\n"
        )),
        [
            "t.yaml:9:53: rateLimitStore.failMode: unknown value \"failclosed\"; did you mean \"failClosed\"?"
        ]
    );
    assert_eq!(
        rejected(&with("rateLimitStore: {redis_url: 'redis://r:6379'}\n")),
        [
            "t.yaml:9:17: rateLimitStore.redis: missing required field \"redis\"",
            "t.yaml:9:18: rateLimitStore.redis_url: unknown field \"redis_url\"; did you mean \"redis\"?",
        ]
    );
    assert_eq!(
        rejected(&with("rateLimitStore: {redis: 'rediss://r:6379'}\n")),
        [
            "t.yaml:9:25: rateLimitStore.redis: TLS to Redis (rediss://) is not supported by this build; use redis:// on a private network or through a TLS sidecar"
        ]
    );
    assert_eq!(
        rejected(&with("rateLimitStor: {redis: 'redis://r'}\n")),
        [
            "t.yaml:9:1: rateLimitStor: unknown field \"rateLimitStor\"; did you mean \"rateLimitStore\"?"
        ]
    );
}

#[tokio::test]
async fn the_limiter_follows_the_config() {
    // No store: a local limiter, which never counts store errors.
    let local = Limiter::from_config(None).await.unwrap();
    assert!(local.store_up());
    // A store whose Redis is not there yet still builds (the fail mode covers the gap).
    let text = with("rateLimitStore: {redis: 'redis://127.0.0.1:1', failMode: failClosed}\n");
    let config = load_str(&text, "t.yaml").unwrap().config;
    let global = Limiter::from_config(config.rate_limit_store.as_ref())
        .await
        .unwrap();
    assert!(!global.store_up());
}
