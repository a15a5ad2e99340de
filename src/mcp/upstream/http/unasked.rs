//! What an upstream sends on a request's event stream besides the reply, and how much of it the gateway
//! takes: progress only for the token the caller sent, at most [`MAX_REQUESTS`] server-to-client
//! requests (each costs an answer the gateway must send back), and replies with other ids never. What is
//! dropped is counted and logged once when the stream ends, so a hostile upstream cannot flood the log.

use serde_json::Value;

/// Server-to-client requests taken from one request's stream; past it they are dropped unanswered.
pub const MAX_REQUESTS: usize = 64;

pub struct Unasked<'a> {
    upstream: &'a str,
    request: &'a Value,
    requests: usize,
    dropped_requests: usize,
    stray_replies: usize,
    foreign_progress: usize,
}

impl<'a> Unasked<'a> {
    pub fn new(upstream: &'a str, request: &'a Value) -> Self {
        Unasked {
            upstream,
            request,
            requests: 0,
            dropped_requests: 0,
            stray_replies: 0,
            foreign_progress: 0,
        }
    }

    /// Whether a notification goes on to the caller: progress only under the caller's own token (a
    /// caller that sent none gets none).
    pub fn takes_notification(&mut self, message: &Value) -> bool {
        if message["method"] != "notifications/progress" {
            return true;
        }
        let own = self.request["params"]["_meta"]
            .get("progressToken")
            .is_some_and(|token| *token == message["params"]["progressToken"]);
        self.foreign_progress += usize::from(!own);
        own
    }

    /// Whether a server-to-client request goes on to the caller (or gets an answer back).
    pub fn takes_request(&mut self) -> bool {
        self.requests += 1;
        let taken = self.requests <= MAX_REQUESTS;
        self.dropped_requests += usize::from(!taken);
        taken
    }

    /// A reply whose id is not the request's.
    pub fn stray_reply(&mut self) {
        self.stray_replies += 1;
    }
}

impl Drop for Unasked<'_> {
    fn drop(&mut self) {
        if self.stray_replies + self.dropped_requests + self.foreign_progress > 0 {
            tracing::warn!(
                upstream = %self.upstream,
                request = %self.request["id"],
                stray_replies = self.stray_replies,
                dropped_requests = self.dropped_requests,
                foreign_progress = self.foreign_progress,
                "the upstream sent messages on the request's stream that nobody asked for: dropped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn progress_passes_only_under_the_callers_token() {
        let request = json!({"id": 1, "params": {"_meta": {"progressToken": "mine"}}});
        let mut unasked = Unasked::new("up", &request);
        let progress = |token: &str| json!({"method": "notifications/progress", "params": {"progressToken": token}});
        assert!(unasked.takes_notification(&progress("mine")));
        assert!(!unasked.takes_notification(&progress("yours")));
        assert!(unasked.takes_notification(&json!({"method": "notifications/message"})));
        let bare = json!({"id": 2, "params": {}});
        assert!(!Unasked::new("up", &bare).takes_notification(&progress("mine")));
    }

    #[test]
    fn requests_past_the_bound_are_not_taken() {
        let request = json!({"id": 1});
        let mut unasked = Unasked::new("up", &request);
        let taken = (0..MAX_REQUESTS + 10)
            .filter(|_| unasked.takes_request())
            .count();
        assert_eq!((taken, unasked.dropped_requests), (MAX_REQUESTS, 10));
    }
}
