//! The rate limiter against a real Redis: each test starts its own `redis-server` (`common::redis`) and
//! kills it at the end.
//!
//! Limits are small (5 a minute) and bursts quick; GCRA's Retry-After is asserted directly instead of waiting
//! for a minute to pass.

mod common;

use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

use agent_gateway::core::ratelimit::{Decision, FailMode, Limiter};
use common::redis::RedisServer;

async fn redis(url: &str, fail: FailMode) -> Limiter {
    Limiter::redis(url, fail).await.expect("a valid URL")
}

/// Runs `n` checks of `key` and returns how many were allowed and the last refusal.
async fn burst(limiter: &Limiter, key: &str, n: usize) -> (usize, Option<Duration>) {
    let (mut allowed, mut last) = (0, None);
    for _ in 0..n {
        match limiter.check(key, 5).await {
            Decision::Allowed => allowed += 1,
            Decision::Limited { retry_after } => last = Some(retry_after),
        }
    }
    (allowed, last)
}

/// Five a minute is one every 12 s: right after a burst, the next call is about 12 s away.
fn assert_about_one_interval(retry_after: Option<Duration>) {
    let r = retry_after.expect("the sixth call is limited");
    assert!(
        (Duration::from_secs(11)..=Duration::from_secs(12)).contains(&r),
        "Retry-After {r:?}"
    );
}

/// Polls with a key of its own until the limiter is answered by Redis again.
async fn wait_until_up(limiter: &Limiter) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        limiter.check("probe", 1_000_000).await;
        if limiter.store_up() {
            return;
        }
        assert!(Instant::now() < deadline, "Redis never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn local_and_redis_allow_exactly_the_limit_per_key() {
    let server = RedisServer::start();
    let limiters = [
        Limiter::local(),
        redis(&server.url(), FailMode::Closed).await,
    ];
    for limiter in &limiters {
        let (allowed, retry_after) = burst(limiter, "r/tool:execute_code", 8).await;
        assert_eq!(allowed, 5);
        assert_about_one_interval(retry_after);
        let decision = limiter.check("r/tool:execute_code", 5).await;
        assert_eq!(decision.retry_after_secs(), Some(12), "rounded up");
        // Other keys, including ones that only share a prefix, have their own budget.
        assert_eq!(burst(limiter, "r/principal:alice", 5).await.0, 5);
        assert_eq!(burst(limiter, "r/tool:execute_code2", 5).await.0, 5);
        assert_eq!(limiter.redis_errors(), 0);
    }
}

#[tokio::test]
async fn two_replicas_share_one_limit() {
    let server = RedisServer::start();
    let a = redis(&server.url(), FailMode::Closed).await;
    let b = redis(&server.url(), FailMode::Closed).await;
    let mut allowed = 0;
    for _ in 0..5 {
        for replica in [&a, &b] {
            allowed += usize::from(replica.check("r/tool:x", 5).await == Decision::Allowed);
        }
    }
    assert_eq!(allowed, 5, "five in all, not five each");
    assert_about_one_interval(burst(&b, "r/tool:x", 1).await.1);
}

#[test]
fn gateways_on_their_own_runtimes_share_one_limit_under_concurrency() {
    // Each thread stands for a gateway process: its own Tokio runtime, its own connection, no shared memory.
    let server = RedisServer::start();
    let (gateways, calls_each) = (4, 10);
    let start = Arc::new(Barrier::new(gateways));
    let threads: Vec<_> = (0..gateways)
        .map(|_| {
            let (url, start) = (server.url(), start.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let limiter = redis(&url, FailMode::Closed).await;
                    start.wait();
                    let checks = (0..calls_each).map(|_| limiter.check("r/principal:bob", 5));
                    futures_util::future::join_all(checks)
                        .await
                        .into_iter()
                        .filter(|d| *d == Decision::Allowed)
                        .count()
                })
            })
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        allowed,
        5,
        "{} calls, one limit of 5",
        gateways * calls_each
    );
}

/// Everything this test binary logs. One global subscriber rather than a per-test one: tracing-core can
/// cache "no interest" for a callsite first reached on a thread without a subscriber (tokio-rs/tracing#3611),
/// which would hide a per-thread capture's lines. Tests tell their lines apart by the store's port.
fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        log
    })
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    /// Lines that contain both `text` and `store=127.0.0.1:{port}`.
    fn count(&self, text: &str, port: u16) -> usize {
        let store = format!("store=127.0.0.1:{port}");
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(text) && l.contains(&store))
            .count()
    }
}

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn redis_down_follows_the_fail_mode_and_limiting_resumes_when_it_is_back() {
    let log = log();
    let mut server = RedisServer::start();
    let open = redis(&server.url(), FailMode::Open).await;
    let closed = redis(&server.url(), FailMode::Closed).await;
    assert_eq!(burst(&open, "r/tool:a", 6).await.0, 5);

    server.stop();
    for _ in 0..20 {
        assert_eq!(open.check("r/tool:a", 5).await, Decision::Allowed);
        assert_eq!(
            closed.check("r/tool:b", 5).await,
            Decision::Limited {
                retry_after: Duration::from_secs(1)
            }
        );
    }
    assert!(!open.store_up() && !closed.store_up());
    assert_eq!(
        (open.redis_errors(), closed.redis_errors()),
        (20, 20),
        "every check Redis did not answer is counted"
    );

    // Same port, empty data: limits start afresh, but they are limits again.
    let _server = RedisServer::start_on(server.port);
    for (limiter, key) in [(&open, "r/tool:a"), (&closed, "r/tool:b")] {
        wait_until_up(limiter).await;
        let (allowed, retry_after) = burst(limiter, key, 7).await;
        assert_eq!(allowed, 5);
        assert_about_one_interval(retry_after);
    }
    let errors = open.redis_errors();
    open.check("r/tool:c", 5).await;
    assert_eq!(open.redis_errors(), errors, "no errors once it is back");
    // One line per limiter per change of state, however many checks failed in between.
    let port = server.port;
    assert_eq!(log.count("unreachable; failing open", port), 1);
    assert_eq!(log.count("unreachable; failing closed", port), 1);
    assert_eq!(log.count("reachable again", port), 2);
}

#[tokio::test]
async fn a_redis_absent_at_start_is_waited_for_not_fatal() {
    // Nothing listens there yet; the server comes later, on that port.
    let port = common::free_port();
    let closed = redis(&format!("redis://127.0.0.1:{port}"), FailMode::Closed).await;
    assert!(!closed.store_up());
    assert!(matches!(
        closed.check("r/tool:x", 5).await,
        Decision::Limited { .. }
    ));
    let _server = RedisServer::start_on(port);
    wait_until_up(&closed).await;
    assert_eq!(burst(&closed, "r/tool:x", 6).await.0, 5);
}

#[tokio::test]
async fn a_url_that_cannot_work_is_an_error() {
    for url in [
        "not a url",
        "http://127.0.0.1:6379",
        "rediss://127.0.0.1:6379",
    ] {
        assert!(Limiter::redis(url, FailMode::Open).await.is_err(), "{url}");
    }
}
