//! The one outbound HTTP client: MCP upstreams, A2A agents, JWKS downloads and TokenReviews all get theirs
//! here. Each is a pooled hyper client over a connector that speaks plain http or https (rustls, ring),
//! HTTP/1.1 only.
//!
//! What a client trusts and presents is its [`TlsSettings`]: the system's roots (see [`roots`]) plus a CA
//! bundle of its own, or only that bundle; and optionally a client certificate for upstream mTLS. Clients
//! with the same settings and the same file contents share one client and so one connection pool; a file
//! that changed (a rotated certificate) gives a new client the next time a route is built.

mod roots;
mod tls;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub use tls::ClientError;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Distinct settings kept for sharing. Routes hold their own clients, so an evicted entry keeps working
/// for them; it only stops being shared with routes built later. Each reload with rotated files adds one.
const CACHE_CAPACITY: usize = 64;

/// Which roots verify the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Roots {
    /// The system's roots, plus the certificates of `extra` when given (a private CA next to public ones).
    System { extra: Option<PathBuf> },
    /// Only the certificates in this bundle: for a server whose CA is private and which nobody else should
    /// be able to impersonate (the Kubernetes API server).
    Only(PathBuf),
}

/// A certificate chain and its private key, both PEM, presented when the server asks (upstream mTLS).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientCert {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// How one backend's connections are verified and authenticated. The default trusts the system's roots
/// and presents no certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    pub roots: Roots,
    pub client_cert: Option<ClientCert>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            roots: Roots::System { extra: None },
            client_cert: None,
        }
    }
}

/// The client for `settings`: shared with every other user of the same settings and file contents.
///
/// Reads the files the settings name (build time: when a route is built, or on first use); an unreadable
/// file or one that is not what it should be is an error naming the file.
pub fn client(settings: &TlsSettings) -> Result<HttpClient, ClientError> {
    static CACHE: Mutex<Vec<(tls::Key, HttpClient)>> = Mutex::new(Vec::new());
    let files = tls::Files::read(settings)?;
    let key = files.key(settings);
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, client)) = cache.iter().find(|(k, _)| *k == key) {
        return Ok(client.clone());
    }
    let client = build(tls::config(settings, &files)?);
    if cache.len() >= CACHE_CAPACITY {
        cache.remove(0);
    }
    cache.push((key, client.clone()));
    Ok(client)
}

/// A digest of the files `settings` names, so a caller can tell a rotated certificate from the same one.
pub fn contents_digest(settings: &TlsSettings) -> Result<[u8; 32], ClientError> {
    Ok(tls::Files::read(settings)?.key(settings).contents)
}

fn build(config: rustls::ClientConfig) -> HttpClient {
    let mut http = HttpConnector::new();
    // The https connector below decides the scheme; this one only opens TCP connections.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    // HTTP/1.1 only: no ALPN is offered, and servers that insist on h2 are not what we talk to.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(connector)
}
