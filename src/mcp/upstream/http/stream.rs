//! Long-lived notification streams from an HTTP upstream: `subscriptions/listen` on a 2026-07-28 server,
//! the session's GET stream on a session-era one. Used for list changes (discovery) and resource updates.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Era, HttpUpstream, MAX_REPLY, Session};
use crate::core::error::error_chain;
use crate::core::{http::sse, jsonrpc};
use crate::mcp::upstream::{CallCtx, UpstreamError};

impl HttpUpstream {
    /// Opens a stream of the upstream's notifications for `ctx`'s caller. `filter` is a 2026-07-28
    /// `SubscriptionFilter` (`toolsListChanged`, `resourceSubscriptions`, …); a session-era upstream sends
    /// whatever it sends on the session's GET stream. Messages arrive until the upstream ends the stream or
    /// the receiver is dropped.
    pub async fn notifications(
        &self,
        ctx: &CallCtx,
        filter: Value,
    ) -> Result<mpsc::Receiver<Value>, UpstreamError> {
        let session = self.session_for(ctx).await?;
        let response = if self.era().await? == Era::Stateless {
            let id = json!(format!(
                "listen-{}",
                self.next_id
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            let message = jsonrpc::request(
                &id,
                "subscriptions/listen",
                self.with_meta(&session, ctx, json!({"notifications": filter})),
            );
            self.send(&session, &message, ctx).await?
        } else {
            self.get_stream(&session).await?
        };
        let is_sse = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        if !is_sse {
            return Err(UpstreamError::Protocol(
                "the upstream answered without an event stream".into(),
            ));
        }
        let (tx, rx) = mpsc::channel(64);
        let mut body = response.into_body();
        tokio::spawn(async move {
            let mut parser = sse::Parser::new(MAX_REPLY);
            loop {
                let frame = tokio::select! {
                    frame = body.frame() => frame,
                    _ = tx.closed() => return,
                };
                let Some(Ok(frame)) = frame else { return };
                let Some(data) = frame.data_ref() else {
                    continue;
                };
                let Ok(events) = parser.push(data) else {
                    return;
                };
                for event in events {
                    if let Ok(message) = serde_json::from_str::<Value>(&event.data)
                        && message.get("method").is_some()
                        && tx.send(message).await.is_err()
                    {
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }

    async fn get_stream(
        &self,
        session: &Session,
    ) -> Result<http::Response<hyper::body::Incoming>, UpstreamError> {
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(self.uri.clone())
            .header(http::header::ACCEPT, "text/event-stream")
            .header("mcp-protocol-version", session.version.as_str());
        if let Some(id) = &session.id {
            request = request.header("mcp-session-id", id.as_str());
        }
        let mut request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
        request.headers_mut().extend(self.headers.clone());
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| UpstreamError::Connect(error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(UpstreamError::Status(
                response.status().as_u16(),
                "no GET stream".into(),
            ));
        }
        Ok(response)
    }
}
