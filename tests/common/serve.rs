//! Serves a hyper service on a listener the test bound (port 0), in plain HTTP/1.1 or behind TLS
//! (tokio-rustls), until `stop`: test upstreams and agents, so https is tested through a real handshake.

use std::error::Error;
use std::sync::Arc;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn Error + Send + Sync>;

/// Ends the connection a request arrived on, without an answer. [`serve`] puts one in the extensions of
/// every request, so a service can stage a connection dropped after the request was read.
#[derive(Clone)]
pub struct Hangup(CancellationToken);

impl Hangup {
    pub fn now(&self) {
        self.0.cancel();
    }
}

/// Serves until `stop`. The accept loop's task is returned: once `stop` is cancelled and it has ended, the
/// listener is closed and the port refuses connections. Without `keep_alive` every answer says
/// `Connection: close`, so each request of a client comes on a connection of its own.
pub fn serve<S, B>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    keep_alive: bool,
    service: S,
    stop: CancellationToken,
) -> JoinHandle<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted { Ok((s, _)) => s, Err(_) => continue },
                _ = stop.cancelled() => return,
            };
            let (service, stop, acceptor) = (service.clone(), stop.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    None => connection(TokioIo::new(stream), keep_alive, service, stop).await,
                    // A refused handshake (the client does not trust us, or we it) ends only this connection.
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            connection(TokioIo::new(tls), keep_alive, service, stop).await
                        }
                    }
                }
            });
        }
    })
}

async fn connection<I, S, B>(io: I, keep_alive: bool, service: S, stop: CancellationToken)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let hangup = CancellationToken::new();
    let handle = Hangup(hangup.clone());
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        service.call(request)
    });
    let conn = http1::Builder::new()
        .keep_alive(keep_alive)
        .serve_connection(io, service);
    // Dropping the connection closes its socket.
    tokio::select! { _ = conn => {}, _ = stop.cancelled() => {}, _ = hangup.cancelled() => {} }
}
