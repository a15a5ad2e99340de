//! Serves a hyper service on a listener the test bound (port 0), in plain HTTP/1.1 or behind TLS
//! (tokio-rustls), until `stop`: test upstreams and agents, so https is tested through a real handshake.

use std::error::Error;
use std::sync::Arc;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn Error + Send + Sync>;

pub fn serve<S, B>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: S,
    stop: CancellationToken,
) where
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
                    None => connection(TokioIo::new(stream), service, stop).await,
                    // A refused handshake (the client does not trust us, or we it) ends only this connection.
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            connection(TokioIo::new(tls), service, stop).await
                        }
                    }
                }
            });
        }
    });
}

async fn connection<I, S, B>(io: I, service: S, stop: CancellationToken)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let conn = http1::Builder::new().serve_connection(io, service);
    tokio::select! { _ = conn => {}, _ = stop.cancelled() => {} }
}
