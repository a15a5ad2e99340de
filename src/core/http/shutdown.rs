//! Graceful shutdown that drains. The listener registers here what it runs (accept loops, connections,
//! requests in flight, listening streams); [`Drain::drain`] is the one wait a shutdown makes, in this order:
//!
//! 1. Stop accepting: the listening sockets are closed at once, not left to fill their backlog, so a new
//!    connection is refused and its client (or the load balancer) goes to another replica.
//! 2. Ask every connection to finish (hyper's graceful shutdown): a request in flight completes and its
//!    connection closes after the response; an idle keep-alive connection closes now.
//! 3. Once no request is in flight, end the streams that only listen (an MCP session's GET stream,
//!    `subscriptions/listen`, a legacy HTTP+SSE stream): nothing is pending on them and clients reopen
//!    them elsewhere. They wait for the requests because a legacy HTTP+SSE stream carries the replies of
//!    the POSTs still in flight.
//! 4. When the grace period is up, streamed answers still running (an MCP call answered as an event
//!    stream, an A2A stream) end where they are, connections get [`FLUSH`] to write that, and what is
//!    left is closed and counted as cut.
//!
//! A stream "ends" by its body ending between two events: the chunked terminator is written, so the client
//! sees the stream close cleanly, not a reset.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::body::Body;

/// After the grace period, how long connections get to write the end of their streams before they close.
pub const FLUSH: Duration = Duration::from_millis(500);

/// Marks a response whose body is a listening stream ([`super::body::listening`]): ended as soon as no
/// request is in flight, where a streamed answer gets the grace period.
#[derive(Clone, Copy, Debug)]
pub struct Listening;

/// What a gateway's listeners run, and the drain that stops them. Cloning shares it.
#[derive(Clone)]
pub struct Drain(Arc<Inner>);

struct Inner {
    /// Cancelled when the drain begins: accept loops return, connections shut down gracefully.
    closing: CancellationToken,
    /// Cancelled once no request is in flight (or at the cut): listening streams end.
    quiet: CancellationToken,
    /// Cancelled when the grace period is up: every streamed body ends where it is.
    cut: CancellationToken,
    accepting: TaskTracker,
    connections: TaskTracker,
    /// Requests from their arrival until their response body ended (streamed answers included).
    requests: TaskTracker,
    /// Listening streams, counted apart: they hold no request in flight.
    streams: TaskTracker,
}

/// What is open at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InFlight {
    pub connections: usize,
    pub requests: usize,
    pub streams: usize,
}

/// How a drain ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drained {
    /// From the start of the drain until every connection was closed.
    pub took: Duration,
    /// Requests still in flight when the grace period was up: ended unfinished. 0 when all finished.
    pub cut: usize,
    /// Connections still open when the grace period was up, closed by the gateway.
    pub dropped: usize,
}

/// A request's place in the count, from its arrival until its response body ends.
pub struct RequestGuard(TaskTrackerToken);

impl Default for Drain {
    fn default() -> Self {
        Drain::new(CancellationToken::new())
    }
}

impl Drain {
    /// A drain that begins when `closing` is cancelled (by [`Drain::drain`] or by whoever owns the token).
    pub fn new(closing: CancellationToken) -> Drain {
        let cut = CancellationToken::new();
        Drain(Arc::new(Inner {
            closing,
            // The cut ends listening streams too, if no quiet moment came before it.
            quiet: cut.child_token(),
            cut,
            accepting: TaskTracker::new(),
            connections: TaskTracker::new(),
            requests: TaskTracker::new(),
            streams: TaskTracker::new(),
        }))
    }

    /// Cancelled when the drain begins: accept loops return (dropping their socket), connections are asked
    /// to finish.
    pub fn closing(&self) -> &CancellationToken {
        &self.0.closing
    }

    /// Runs an accept loop, which must return once [`Drain::closing`] is cancelled.
    pub fn spawn_accept_loop(&self, accept_loop: impl Future<Output = ()> + Send + 'static) {
        self.0.accepting.spawn(accept_loop);
    }

    /// Runs one connection, which must end by [`Drain::flushed`] at the latest.
    pub fn spawn_connection(&self, connection: impl Future<Output = ()> + Send + 'static) {
        self.0.connections.spawn(connection);
    }

    /// Counts a request that just arrived.
    pub fn request(&self) -> RequestGuard {
        RequestGuard(self.0.requests.token())
    }

    /// The response as it goes out: counted until its body ends, and ended early when the drain says so.
    /// A body of known length is never cut short (its Content-Length would be a lie); it only ever waits
    /// for its connection to write it.
    pub fn respond(&self, response: Response<Body>, request: RequestGuard) -> Response<Tracked> {
        let listening = response.extensions().get::<Listening>().is_some();
        let streamed = response.body().size_hint().exact().is_none();
        let (counted, end) = if listening {
            // A listening stream holds no request in flight: counted apart, it does not delay the quiet.
            let counted = self.0.streams.token();
            drop(request);
            (counted, Some(&self.0.quiet))
        } else {
            (request.0, streamed.then_some(&self.0.cut))
        };
        response.map(|body| Tracked {
            body,
            end: end.map(|token| Box::pin(token.clone().cancelled_owned())),
            ended: false,
            _counted: counted,
        })
    }

    pub fn in_flight(&self) -> InFlight {
        InFlight {
            connections: self.0.connections.len(),
            requests: self.0.requests.len(),
            streams: self.0.streams.len(),
        }
    }

    /// Stops accepting: when this returns every listening socket is closed. Asks connections to finish.
    /// Returns what is still open.
    pub async fn stop_accepting(&self) -> InFlight {
        self.0.closing.cancel();
        self.0.accepting.close();
        self.0.accepting.wait().await;
        self.in_flight()
    }

    /// Stops accepting, waits for what is in flight for up to `grace`, then ends what is left (see the
    /// module header). Returns once every connection is closed.
    pub async fn drain(&self, grace: Duration) -> Drained {
        let started = Instant::now();
        let deadline = started + grace;
        self.stop_accepting().await;
        // Closed trackers still count what comes; `wait` returns once they are empty.
        self.0.requests.close();
        self.0.connections.close();
        let _ = tokio::time::timeout_at(deadline, self.0.requests.wait()).await;
        self.0.quiet.cancel();
        if tokio::time::timeout_at(deadline, self.0.connections.wait())
            .await
            .is_ok()
        {
            let took = started.elapsed();
            return Drained {
                took,
                cut: 0,
                dropped: 0,
            };
        }
        let (cut, dropped) = (self.0.requests.len(), self.0.connections.len());
        self.0.cut.cancel();
        // Every connection ends by `flushed`; the bound only guards against one that does not.
        let _ = tokio::time::timeout(FLUSH * 2, self.0.connections.wait()).await;
        Drained {
            took: started.elapsed(),
            cut,
            dropped,
        }
    }

    /// Ends everything without a grace period: a gateway dropped without a drain.
    pub fn abort(&self) {
        self.0.closing.cancel();
        self.0.cut.cancel();
    }

    /// Resolves [`FLUSH`] after the grace period is up: when a connection still open is closed.
    pub async fn flushed(&self) {
        self.0.cut.cancelled().await;
        tokio::time::sleep(FLUSH).await;
    }
}

/// A response body as it goes out: holds its place in the drain's count until it ends, and ends between two
/// frames, once nothing is queued, when the drain says so.
pub struct Tracked {
    body: Body,
    /// `None` for a body of known length.
    end: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    ended: bool,
    _counted: TaskTrackerToken,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Pending => {}
            ready => return ready,
        }
        // Only between events, and only once what was already queued went out: the last replies on a
        // legacy HTTP+SSE stream are written before it ends.
        if let Some(end) = this.end.as_mut()
            && end.as_mut().poll(cx).is_ready()
        {
            this.ended = true;
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests;
