//! Listeners: bind every address first (so a port conflict fails start-up), then accept connections and
//! serve HTTP/1.1 on each, plain or TLS, until the drain of a shutdown closes them (`super::shutdown`).
//! Each bind serves at most `limits.maxConnections` at once, and a connection must deliver each request
//! head (its TLS handshake first) within `limits.headerReadTimeout`, which also ends idle keep-alive
//! connections. What a request means is the [`Service`]'s business.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::body::Body;
use super::shutdown::Drain;
use super::tls::TlsListener;

/// What a listener serves: swapped whole when the config reloads (see [`Slot`]).
pub trait Service: Send + Sync + 'static {
    /// The address to listen on.
    fn address(&self) -> SocketAddr;
    /// TLS with client certificates (`security.mtls`), when on.
    fn tls(&self) -> Option<Arc<TlsListener>>;
    /// Read at each accept, so a reload applies to the connections that follow.
    fn connection_limits(&self) -> ConnectionLimits;
    /// Answers one request that came over a connection from `peer`.
    fn call(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer: Peer,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// What the connection says about who sent a request, known once per connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub address: SocketAddr,
    /// The verified client certificate's identity (`security.mtls`).
    pub principal: Option<String>,
}

/// Bounds on the connections of one bind (`limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// A listener's current service: read once per request, so a request never sees half a config and
/// in-flight requests finish on the service they started with.
pub type Slot<S> = Arc<arc_swap::ArcSwap<S>>;

/// Binds every slot's address, then serves each until `drain` closes it (see [`super::shutdown`]). Returns the
/// bound addresses.
pub async fn serve<S: Service>(
    slots: Vec<Slot<S>>,
    drain: Drain,
) -> std::io::Result<Vec<SocketAddr>> {
    let mut listeners = Vec::new();
    for slot in slots {
        let address = slot.load().address();
        let listener = TcpListener::bind(address).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {address}: {e}"))
        })?;
        listeners.push((listener, slot));
    }
    let mut addresses = Vec::new();
    for (listener, slot) in listeners {
        addresses.push(listener.local_addr()?);
        drain.spawn_accept_loop(accept_loop(listener, slot, drain.clone()));
    }
    Ok(addresses)
}

/// Connections open on one bind; a closing one wakes an accept loop waiting at the cap.
#[derive(Default)]
struct Open {
    count: AtomicUsize,
    closed: Notify,
}

/// Counts one connection until dropped.
struct Counted(Arc<Open>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
        self.0.closed.notify_one();
    }
}

async fn accept_loop<S: Service>(listener: TcpListener, slot: Slot<S>, drain: Drain) {
    let open = Arc::new(Open::default());
    let mut failures = AcceptFailures::default();
    loop {
        let limits = slot.load().connection_limits();
        // At the cap, wait for a connection to close; new ones queue in the kernel meanwhile.
        while open.count.load(Ordering::Acquire) >= limits.max_connections {
            tokio::select! {
                _ = drain.closing().cancelled() => return,
                _ = open.closed.notified() => {}
            }
        }
        let (stream, peer) = tokio::select! {
            // First, so that a stream of new connections cannot keep the socket open. Returning drops it: from
            // then on a new connection is refused, not queued in a backlog nobody reads.
            biased;
            _ = drain.closing().cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tokio::time::sleep(failures.failed(&e)).await;
                    continue;
                }
            },
        };
        failures = AcceptFailures::default();
        open.count.fetch_add(1, Ordering::AcqRel);
        let counted = Counted(open.clone());
        let _ = stream.set_nodelay(true);
        let slot = slot.clone();
        let connection_drain = drain.clone();
        drain.spawn_connection(async move {
            let _counted = counted;
            let drain = connection_drain;
            let tls = slot.load().tls();
            match tls {
                None => serve_connection(stream, slot, None, drain, peer, limits).await,
                Some(tls) => {
                    let handshake = tokio::select! {
                        handshake = tokio::time::timeout(limits.header_read_timeout, tls.accept(stream)) => handshake,
                        // No request on it yet: nothing to finish.
                        _ = drain.closing().cancelled() => return,
                    };
                    match handshake {
                        Ok(Ok((stream, identity))) => {
                            let principal = identity.map(|i| i.principal);
                            serve_connection(stream, slot, principal, drain, peer, limits).await
                        }
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
                        Err(_) => tracing::info!(%peer, "TLS handshake not finished within limits.headerReadTimeout; connection closed"),
                    }
                }
            }
        });
    }
}

/// Accept errors in a row (e.g. EMFILE, out of file descriptors): logged once a second at most, and
/// waited out with a growing pause (50 ms to 1 s) rather than retried in a tight loop.
#[derive(Default)]
struct AcceptFailures {
    count: u32,
    last_log: Option<tokio::time::Instant>,
}

impl AcceptFailures {
    /// Records a failure; how long to wait before accepting again.
    fn failed(&mut self, error: &std::io::Error) -> Duration {
        self.count += 1;
        if self
            .last_log
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(error = %error, failures_in_a_row = self.count, "accept failed");
            self.last_log = Some(tokio::time::Instant::now());
        }
        Duration::from_millis(50 << self.count.min(5).saturating_sub(1)).min(Duration::from_secs(1))
    }
}

/// Serves HTTP/1.1 on one accepted connection (plain or TLS) until it closes or the drain closes it. Each
/// request is counted by the drain until its response body has ended.
async fn serve_connection<S, I>(
    stream: I,
    slot: Slot<S>,
    peer_principal: Option<String>,
    drain: Drain,
    peer: SocketAddr,
    limits: ConnectionLimits,
) where
    S: Service,
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service_drain = drain.clone();
    let from = Peer {
        address: peer,
        principal: peer_principal,
    };
    let service = service_fn(move |request: Request<Incoming>| {
        let counted = service_drain.request();
        let service = slot.load_full();
        let from = from.clone();
        let drain = service_drain.clone();
        async move {
            let response = service.call(request, from).await;
            Ok::<_, std::convert::Infallible>(drain.respond(response, counted))
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            return;
        }
        _ = drain.closing().cancelled() => {}
    }
    // A request in flight completes and the connection closes after its response; an idle one closes now.
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = drain.flushed() => {}
    }
}
