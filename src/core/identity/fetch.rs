//! HTTP(S) calls to an issuer or the Kubernetes API: JWKS downloads and TokenReviews.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};

use crate::core::error::UpstreamError;
use crate::core::http::client::{self, HttpClient, Roots, TlsSettings};

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
    /// Obtained on first use: the CA bundle may be mounted after the route is built, and a missing one should
    /// show as a failed fetch (with its reason), not as a gateway that will not start.
    client: tokio::sync::OnceCell<HttpClient>,
}

impl Fetcher {
    pub fn new(kube: Option<Kube>) -> Fetcher {
        Fetcher {
            kube,
            client: tokio::sync::OnceCell::new(),
        }
    }

    pub async fn get(&self, uri: &str) -> Result<Bytes, FetchError> {
        let (status, body) = self.send(Method::GET, uri, None).await?;
        if status != StatusCode::OK {
            return Err(FetchError::Status {
                uri: uri.to_string(),
                status,
                excerpt: excerpt(&body),
            });
        }
        Ok(body)
    }

    pub async fn post_json(
        &self,
        uri: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), FetchError> {
        self.send(Method::POST, uri, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), FetchError> {
        let failed = |source| FetchError::Call {
            uri: uri.to_string(),
            source,
        };
        let parsed: Uri = uri
            .parse()
            .map_err(|e| failed(UpstreamError::Connect(format!("bad URL: {e}"))))?;
        let https = match parsed.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(FetchError::NotHttp(uri.to_string())),
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
                return Err(FetchError::PlainKube(uri.to_string()));
            }
            // Read at every call: the kubelet rotates projected tokens in place.
            let token = tokio::fs::read_to_string(&kube.token_path)
                .await
                .map_err(|source| FetchError::Token {
                    path: kube.token_path.clone(),
                    source,
                })?;
            req = req.header(AUTHORIZATION, format!("Bearer {}", token.trim()));
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| failed(UpstreamError::Connect(format!("bad request: {e}"))))?;
        let call = async {
            let resp = self
                .client()
                .await?
                .request(req)
                .await
                // The whole cause chain: hyper's own words are only "client error (Connect)".
                .map_err(|e| failed(UpstreamError::of_request(&e)))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| failed(UpstreamError::Reset(format!("reading the answer: {e}"))))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(TIMEOUT, call)
            .await
            .map_err(|_| failed(UpstreamError::Timeout))?
    }

    /// In-cluster, only the cluster's CA is trusted (the API server's certificate is private, and no
    /// public CA should be able to stand in for it); the service-account token is a header `send` adds.
    /// Elsewhere the system's roots, as for every other outbound call.
    async fn client(&self) -> Result<&HttpClient, FetchError> {
        self.client
            .get_or_try_init(|| async {
                let settings = match &self.kube {
                    Some(kube) => TlsSettings {
                        roots: Roots::Only(kube.ca_path.clone()),
                        client_cert: None,
                    },
                    None => TlsSettings::default(),
                };
                client::client(&settings).map_err(FetchError::Client)
            })
            .await
    }
}

/// Why a JWKS download or a TokenReview did not get an answer to read. The message names the URL and what
/// went wrong; `AuthError` carries it to the operator's log line.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http(s) URL")]
    NotHttp(String),
    /// A service-account token is a credential for the whole cluster: never sent in clear text.
    #[error("{0}: the Kubernetes API is only called over https")]
    PlainKube(String),
    #[error("cannot read the service-account token {}: {source}", path.display())]
    Token {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Client(client::ClientError),
    #[error("{uri}: {source}")]
    Call {
        uri: String,
        #[source]
        source: UpstreamError,
    },
    #[error("GET {uri} answered {status}{excerpt}")]
    Status {
        uri: String,
        status: StatusCode,
        excerpt: String,
    },
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", text.trim())
    }
}
