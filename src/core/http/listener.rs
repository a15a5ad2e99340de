//! Listeners: bind every address first (so a port conflict fails start-up), then accept connections and
//! serve HTTP/1.1 on each, plain or TLS, until shutdown. What a request means is the [`Service`]'s business.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::body::Body;
use super::tls::TlsListener;

/// What a listener serves: swapped whole when the config reloads (see [`Slot`]).
pub trait Service: Send + Sync + 'static {
    /// The address to listen on.
    fn address(&self) -> SocketAddr;
    /// TLS with client certificates (`security.mtls`), when on.
    fn tls(&self) -> Option<Arc<TlsListener>>;
    /// Answers one request; `peer_principal` is the verified client certificate's identity.
    fn call(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer_principal: Option<String>,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// A listener's current service: read once per request, so a request never sees half a config and
/// in-flight requests finish on the service they started with.
pub type Slot<S> = Arc<arc_swap::ArcSwap<S>>;

/// Binds every slot's address, then serves each until `shutdown`. Returns the bound addresses.
pub async fn serve<S: Service>(
    slots: Vec<Slot<S>>,
    shutdown: CancellationToken,
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
        tokio::spawn(accept_loop(listener, slot, shutdown.clone()));
    }
    Ok(addresses)
}

async fn accept_loop<S: Service>(
    listener: TcpListener,
    slot: Slot<S>,
    shutdown: CancellationToken,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => return,
        };
        let _ = stream.set_nodelay(true);
        let slot = slot.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let tls = slot.load().tls();
            match tls {
                None => serve_connection(stream, slot, None, shutdown, peer).await,
                Some(tls) => match tls.accept(stream).await {
                    Ok((stream, identity)) => {
                        let principal = identity.map(|i| i.principal);
                        serve_connection(stream, slot, principal, shutdown, peer).await
                    }
                    Err(e) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
                },
            }
        });
    }
}

/// Serves HTTP/1.1 on one accepted connection (plain or TLS) until it closes or the gateway stops.
async fn serve_connection<S, I>(
    stream: I,
    slot: Slot<S>,
    peer_principal: Option<String>,
    shutdown: CancellationToken,
    peer: SocketAddr,
) where
    S: Service,
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let service = slot.load_full();
        let peer_principal = peer_principal.clone();
        async move { Ok::<_, std::convert::Infallible>(service.call(request, peer_principal).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => if let Err(e) = result { tracing::debug!(%peer, error = %e, "connection ended with an error") },
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), connection).await;
        }
    }
}
