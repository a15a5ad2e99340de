//! HTTP(S) calls to an issuer or the Kubernetes API: JWKS downloads and TokenReviews.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

type TlsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A JWKS is a few KB; a TokenReview answer less. Anything near this is not what we asked for.
const MAX_BODY: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

/// The pod's service-account credentials, used only toward the Kubernetes API server.
#[derive(Debug, Clone)]
pub struct Kube {
    pub token_path: PathBuf,
    pub ca_path: PathBuf,
}

pub struct Fetcher {
    kube: Option<Kube>,
    /// Built on first use: the CA bundle may be mounted after the route is built, and a missing one should show as
    /// a failed fetch (with its reason), not as a gateway that will not start.
    tls: tokio::sync::OnceCell<TlsClient>,
}

impl Fetcher {
    pub fn new(kube: Option<Kube>) -> Fetcher {
        Fetcher {
            kube,
            tls: tokio::sync::OnceCell::new(),
        }
    }

    pub async fn get(&self, uri: &str) -> Result<Bytes, String> {
        let (status, body) = self.send(Method::GET, uri, None).await?;
        if status != StatusCode::OK {
            return Err(format!("GET {uri} answered {status}{}", excerpt(&body)));
        }
        Ok(body)
    }

    pub async fn post_json(&self, uri: &str, body: Vec<u8>) -> Result<(StatusCode, Bytes), String> {
        self.send(Method::POST, uri, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), String> {
        let parsed: Uri = uri.parse().map_err(|e| format!("bad URL {uri}: {e}"))?;
        let https = match parsed.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{uri} is not an http(s) URL")),
        };
        let mut req = Request::builder()
            .method(method)
            .uri(parsed)
            .header(ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        if let Some(kube) = &self.kube {
            // A service-account token is a credential for the whole cluster: never send it in clear text.
            if !https {
                return Err(format!(
                    "{uri}: the Kubernetes API is only called over https"
                ));
            }
            // Read at every call: the kubelet rotates projected tokens in place.
            let token = tokio::fs::read_to_string(&kube.token_path)
                .await
                .map_err(|e| {
                    format!(
                        "cannot read the service-account token {}: {e}",
                        kube.token_path.display()
                    )
                })?;
            req = req.header(AUTHORIZATION, format!("Bearer {}", token.trim()));
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("bad request to {uri}: {e}"))?;
        let call = async {
            let resp = if https {
                self.tls_client().await?.request(req).await
            } else {
                crate::core::http::client::http_client().request(req).await
            }
            .map_err(|e| format!("{uri}: {}", error_chain(&e)))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| format!("{uri}: reading the answer: {e}"))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(TIMEOUT, call)
            .await
            .map_err(|_| format!("{uri}: no answer within {TIMEOUT:?}"))?
    }

    async fn tls_client(&self) -> Result<&TlsClient, String> {
        self.tls
            .get_or_try_init(|| async { tls_client(self.kube.as_ref()) })
            .await
    }
}

/// In-cluster, only the cluster's CA is trusted (the API server's certificate is private); elsewhere the
/// public web roots, compiled in so a distroless image needs no CA files. The crypto provider is named
/// explicitly so that another part of the gateway choosing a different process default cannot break this.
fn tls_client(kube: Option<&Kube>) -> Result<TlsClient, String> {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?;
    let config = match kube {
        None => builder.with_webpki_roots().with_no_client_auth(),
        Some(kube) => {
            let path = &kube.ca_path;
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA bundle {}: {e}", path.display()))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("no certificate in {}", path.display()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// hyper's top-level error says "client error (Connect)"; the cause (refused, certificate unknown) is below.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", text.trim())
    }
}
