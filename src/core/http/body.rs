//! Response bodies and the small builders every handler uses.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::mpsc;

pub type Body = BoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = status;
    response
}

pub fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(full(serde_json::to_vec(value).expect("JSON serializes")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// An event stream fed by a channel of already-encoded SSE events; it ends when the sender is dropped.
pub fn sse(events: mpsc::Receiver<String>) -> Response<Body> {
    let stream = futures_util::stream::unfold(events, |mut events| async move {
        let event = events.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(event))), events))
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    response
}

/// An event stream that only listens (nothing is pending on it: a notification stream): a shutdown ends it
/// as soon as no request is in flight, where a streamed answer gets the grace period (`super::shutdown`).
pub fn listening(events: mpsc::Receiver<String>) -> Response<Body> {
    let mut response = sse(events);
    response.extensions_mut().insert(super::shutdown::Listening);
    response
}

/// A JSON body that is already serialized.
pub fn json_bytes(status: StatusCode, bytes: Bytes) -> Response<Body> {
    let mut response = Response::new(full(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
