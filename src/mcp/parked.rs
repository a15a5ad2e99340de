//! Server-to-client requests for 2026-07-28 callers. A session-era upstream asks its question (sampling,
//! elicitation, roots) in the middle of a call, on the call's stream, and waits there for the answer. A
//! 2026-07-28 caller answers questions only by calling again: it gets an `input_required` result whose
//! `inputRequests` hold the question and whose `requestState` names the waiting call, and retries the
//! request with `inputResponses` and that `requestState`. Meanwhile the upstream call waits here, on the
//! replica holding its stream, for at most [`PARK_TTL`], at most [`MAX_PARKED`] per route.
//!
//! `requestState` is sealed (purpose `mcp-input`) for the caller's principal and the route, so nobody else
//! can resume or answer the call; a state the gateway did not seal is an upstream's own and is relayed
//! untouched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::core::error::Error;
use crate::core::jsonrpc;
use crate::core::seal::{Sealer, random_id};
use crate::mcp::upstream::{Reply, UpstreamEvent};

const PURPOSE: &str = "mcp-input";
/// Calls one route may have waiting for their callers' answers.
pub const MAX_PARKED: usize = 1_000;
/// How long a call waits for its caller to come back with the answer.
pub const PARK_TTL: Duration = Duration::from_secs(600);

/// The upstream side of one relayed call, polled by whoever answers the caller (see `relay`).
pub type Call = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, Error>> + Send>>;

/// A call going on: its upstream side, and what the upstream says meanwhile.
pub type Continuation = (Call, mpsc::Receiver<UpstreamEvent>);

/// A call waiting for its caller's answer to the upstream's question.
struct Parked {
    call: Call,
    events: mpsc::Receiver<UpstreamEvent>,
    principal: String,
    /// The question's id upstream, and where its answer goes.
    upstream_id: Value,
    reply: oneshot::Sender<Value>,
}

#[derive(Serialize, Deserialize)]
struct State {
    /// Principal ("" for an anonymous caller).
    p: String,
    /// Route.
    r: String,
    /// Key of the parked call, which is also the question's key in `inputRequests`.
    k: String,
}

/// The calls of one route waiting for answers (kept across reloads with the route's state).
#[derive(Default)]
pub struct ParkedCalls {
    calls: Mutex<HashMap<String, Parked>>,
}

impl ParkedCalls {
    fn take(&self, key: &str) -> Option<Parked> {
        self.calls.lock().unwrap().remove(key)
    }
}

/// Where a route's calls wait, and what seals their states.
pub struct Parking<'a> {
    pub calls: &'a Arc<ParkedCalls>,
    pub sealer: &'a Sealer,
    pub route: &'a str,
}

impl Parking<'_> {
    /// Parks `call`, whose upstream asked `question` (a JSON-RPC request) and waits on `reply`; the
    /// `input_required` result that tells the caller.
    pub fn park(
        &self,
        principal: Option<&str>,
        (call, events): Continuation,
        mut question: Value,
        reply: oneshot::Sender<Value>,
    ) -> Result<Value, Error> {
        let principal = principal.unwrap_or_default().to_string();
        let key = random_id();
        let request =
            json!({"method": question["method"].take(), "params": question["params"].take()});
        let parked = Parked {
            call,
            events,
            principal: principal.clone(),
            upstream_id: question["id"].take(),
            reply,
        };
        {
            let mut calls = self.calls.calls.lock().unwrap();
            if calls.len() >= MAX_PARKED {
                tracing::warn!(route = %self.route, "{MAX_PARKED} calls already wait for their callers' answers; refusing one more");
                return Err(Error::Busy(
                    "too many calls wait for their callers' answers".into(),
                ));
            }
            calls.insert(key.clone(), parked);
        }
        // Past its time the call is dropped, which ends the upstream request.
        let (calls, expired, route) = (
            Arc::downgrade(self.calls),
            key.clone(),
            self.route.to_string(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(PARK_TTL).await;
            if let Some(calls) = calls.upgrade()
                && calls.take(&expired).is_some()
            {
                tracing::info!(%route, "a call waiting for its caller's answer ended after {PARK_TTL:?} unanswered");
            }
        });
        let state = self.sealer.seal(
            PURPOSE,
            &State {
                p: principal,
                r: self.route.to_string(),
                k: key.clone(),
            },
        );
        Ok(json!({
            "resultType": "input_required",
            "inputRequests": {key: request},
            "requestState": state,
        }))
    }

    /// For a retried request (`params`): the parked call its `requestState` names, with the caller's
    /// answer sent upstream; `None` when the state is not one the gateway sealed (an upstream's own).
    pub fn resume(
        &self,
        principal: Option<&str>,
        params: &Value,
    ) -> Option<Result<Continuation, Error>> {
        let token = params.get("requestState")?.as_str()?;
        let state: State = self.sealer.open(PURPOSE, token).ok()?;
        if state.p != principal.unwrap_or_default() || state.r != self.route {
            return Some(Err(Error::InvalidParams(
                "requestState was issued to another caller or route".into(),
            )));
        }
        let Some(parked) = self.calls.take(&state.k).filter(|p| p.principal == state.p) else {
            return Some(Err(Error::InvalidParams(format!(
                "the call this requestState continues is no longer waiting: it was answered or ended, waited past {}s, or waits on another gateway replica",
                PARK_TTL.as_secs()
            ))));
        };
        let reply = match params.get("inputResponses").and_then(|r| r.get(&state.k)) {
            Some(result) => {
                json!({"jsonrpc": "2.0", "id": parked.upstream_id, "result": result})
            }
            None => jsonrpc::error(
                &parked.upstream_id,
                jsonrpc::INVALID_PARAMS,
                "the caller gave no answer",
            ),
        };
        let _ = parked.reply.send(reply);
        Some(Ok((parked.call, parked.events)))
    }
}
