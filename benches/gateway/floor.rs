//! The floor: a bare HTTP/1.1 reverse proxy on the gateway's own stack (tokio's default multi-thread
//! runtime, hyper's server, hyper-util's pooled client with TCP_NODELAY), run as its own process. It
//! forwards each request's bytes and headers and returns the reply's, parsing nothing. What it adds
//! over a direct call is what any proxy on this machine pays for two more loopback hops and one more
//! process; the gateway's rows are read against it.
//!
//! Started by the bench as `<bench binary> --floor-proxy PORT SESSION_UPSTREAM STATELESS_UPSTREAM`;
//! `/session` goes to the first upstream, anything else to the second, both at `/mcp`.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

type Pool = Client<HttpConnector, Full<Bytes>>;

pub fn main(args: &[String]) -> ! {
    let [port, session, stateless] = args else {
        eprintln!("usage: --floor-proxy PORT SESSION_UPSTREAM STATELESS_UPSTREAM");
        std::process::exit(2)
    };
    let port: u16 = port.parse().expect("PORT");
    let upstreams: [SocketAddr; 2] = [
        session.parse().expect("SESSION_UPSTREAM"),
        stateless.parse().expect("STATELESS_UPSTREAM"),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(serve(port, upstreams));
    std::process::exit(0)
}

async fn serve(port: u16, upstreams: [SocketAddr; 2]) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let pool: Pool = Client::builder(TokioExecutor::new()).build(connector);
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let pool = pool.clone();
        let service = service_fn(move |req| forward(pool.clone(), upstreams, req));
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}

async fn forward(
    pool: Pool,
    upstreams: [SocketAddr; 2],
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let upstream = if req.uri().path().starts_with("/session") {
        upstreams[0]
    } else {
        upstreams[1]
    };
    let (mut parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    parts.uri = Uri::try_from(format!("http://{upstream}/mcp")).unwrap();
    parts.headers.remove(http::header::HOST);
    let reply = match pool
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(reply) => reply,
        Err(_) => {
            return Ok(Response::builder()
                .status(502)
                .body(Full::new(Bytes::new()))
                .unwrap());
        }
    };
    let (parts, body) = reply.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Ok(Response::from_parts(parts, Full::new(body)))
}
