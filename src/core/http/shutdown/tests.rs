//! The drain's order and deadlines in paused time: connections, requests, listening streams and streamed
//! answers registered as the listener registers them, without sockets.

use std::time::Duration;

use http_body_util::BodyExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep};

use super::*;
use crate::core::http::body;

const GRACE: Duration = Duration::from_secs(25);

/// A connection as the listener runs it: done when its work is, or closed once the drain is flushed.
fn connection(drain: &Drain, work: impl Future<Output = ()> + Send + 'static) {
    let d = drain.clone();
    drain.spawn_connection(async move {
        tokio::select! {
            _ = work => {}
            _ = d.flushed() => {}
        }
    });
}

/// A request that takes `time` to answer, on a connection of its own.
fn slow_request(drain: &Drain, time: Duration) {
    let request = drain.request();
    connection(drain, async move {
        sleep(time).await;
        drop(request);
    });
}

/// A streamed response whose producer never ends it, read on a connection of its own. Reports the data it
/// read and when the body ended.
fn open_stream(drain: &Drain, listening: bool) -> oneshot::Receiver<(String, Instant)> {
    let (tx, rx) = mpsc::channel(4);
    tx.try_send("data: first\n\n".to_string()).unwrap();
    let response = if listening {
        body::listening(rx)
    } else {
        body::sse(rx)
    };
    let mut response = drain.respond(response, drain.request());
    let (report, reported) = oneshot::channel();
    connection(drain, async move {
        let _producer = tx;
        let mut read = String::new();
        while let Some(frame) = response.body_mut().frame().await {
            let frame = frame.unwrap();
            read.push_str(std::str::from_utf8(frame.data_ref().unwrap()).unwrap());
        }
        let _ = report.send((read, Instant::now()));
    });
    reported
}

#[tokio::test(start_paused = true)]
async fn a_drain_waits_for_the_requests_in_flight_and_no_longer() {
    let drain = Drain::default();
    slow_request(&drain, Duration::from_secs(2));
    slow_request(&drain, Duration::from_secs(1));
    let drained = drain.drain(GRACE).await;
    assert_eq!(
        drained,
        Drained {
            took: Duration::from_secs(2),
            cut: 0,
            dropped: 0
        }
    );
    assert_eq!(drain.in_flight(), InFlight::default());
}

#[tokio::test(start_paused = true)]
async fn past_the_grace_period_requests_are_cut_and_their_connections_closed() {
    let drain = Drain::default();
    slow_request(&drain, Duration::from_secs(60));
    slow_request(&drain, Duration::from_secs(1));
    let drained = drain.drain(Duration::from_secs(5)).await;
    // The request that could not finish holds its connection until the flush is over.
    assert_eq!(
        drained,
        Drained {
            took: Duration::from_secs(5) + FLUSH,
            cut: 1,
            dropped: 1
        }
    );
    assert_eq!(drain.in_flight(), InFlight::default());
}

#[tokio::test(start_paused = true)]
async fn a_listening_stream_ends_cleanly_once_no_request_is_in_flight() {
    let drain = Drain::default();
    let start = Instant::now();
    slow_request(&drain, Duration::from_secs(3));
    let stream = open_stream(&drain, true);
    assert_eq!(
        drain.in_flight(),
        InFlight {
            connections: 2,
            requests: 1,
            streams: 1
        }
    );
    let drained = drain.drain(GRACE).await;
    let (read, ended) = stream.await.expect("the stream's body ended");
    assert_eq!(read, "data: first\n\n");
    assert_eq!(ended - start, Duration::from_secs(3));
    assert_eq!((drained.took, drained.cut), (Duration::from_secs(3), 0));
}

#[tokio::test(start_paused = true)]
async fn with_nothing_in_flight_a_listening_stream_ends_at_once() {
    let drain = Drain::default();
    let start = Instant::now();
    let stream = open_stream(&drain, true);
    let drained = drain.drain(GRACE).await;
    assert_eq!(stream.await.unwrap().1, start);
    assert_eq!(drained.took, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_streamed_answer_gets_the_grace_period_then_ends_cleanly() {
    let drain = Drain::default();
    let start = Instant::now();
    let answer = open_stream(&drain, false);
    let drained = drain.drain(Duration::from_secs(5)).await;
    let (read, ended) = answer.await.expect("the answer's body ended");
    assert_eq!(read, "data: first\n\n");
    // Ended at the cut, so its connection closed without waiting for the flush.
    assert_eq!(ended - start, Duration::from_secs(5));
    assert_eq!(
        drained,
        Drained {
            took: Duration::from_secs(5),
            cut: 1,
            dropped: 1
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_stream_ends_after_the_events_already_queued() {
    let drain = Drain::default();
    let (tx, rx) = mpsc::channel(4);
    tx.try_send("data: reply 1\n\n".to_string()).unwrap();
    tx.try_send("data: reply 2\n\n".to_string()).unwrap();
    let response = drain.respond(body::listening(rx), drain.request());
    drain.abort();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b"data: reply 1\n\ndata: reply 2\n\n");
    drop(tx);
}

#[tokio::test(start_paused = true)]
async fn a_body_of_known_length_is_never_cut_short() {
    let drain = Drain::default();
    let response = body::json(http::StatusCode::OK, &serde_json::json!({"ok": true}));
    let response = drain.respond(response, drain.request());
    drain.abort();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], br#"{"ok":true}"#);
}

#[tokio::test(start_paused = true)]
async fn stopping_accepting_returns_once_every_accept_loop_returned() {
    let drain = Drain::default();
    let (closed, mut is_closed) = tokio::sync::watch::channel(false);
    let d = drain.clone();
    drain.spawn_accept_loop(async move {
        d.closing().cancelled().await;
        // Closing a socket takes a moment; the caller must not see it open after `stop_accepting`.
        sleep(Duration::from_millis(10)).await;
        closed.send_replace(true);
    });
    drain.stop_accepting().await;
    assert!(*is_closed.borrow_and_update());
}

#[tokio::test(start_paused = true)]
async fn abort_ends_every_stream_without_a_grace_period() {
    let drain = Drain::default();
    let start = Instant::now();
    let listening = open_stream(&drain, true);
    let answer = open_stream(&drain, false);
    slow_request(&drain, Duration::from_secs(60));
    drain.abort();
    assert_eq!(listening.await.unwrap().1, start);
    assert_eq!(answer.await.unwrap().1, start);
}
