//! `jwt-authn` on the request path: who the caller is, or a 401 that says why (RFC 6750) and points to
//! the route's protected-resource metadata (RFC 9728). Without the policy, a verified client certificate
//! (mTLS) names the caller, else the caller is anonymous.

use std::sync::Arc;

use http::{HeaderMap, header};

use crate::core::error::Error;
use crate::core::http::Caller;
use crate::core::http::forwarded::public_origin;
use crate::core::identity::Authenticator;

/// Where a route's protected-resource metadata is served: this path followed by the route's prefix.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

pub struct Authn {
    authenticator: Arc<Authenticator>,
    /// The token issuer, announced in the protected-resource metadata.
    pub issuer: String,
}

impl Authn {
    pub fn new(authenticator: Authenticator, issuer: String) -> Authn {
        Authn {
            authenticator: Arc::new(authenticator),
            issuer,
        }
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

/// The caller of a request with `headers`; `authn` is the route's policy, `path_prefix` its path.
pub async fn caller(
    authn: Option<&Authn>,
    headers: &HeaderMap,
    path_prefix: &str,
    certificate_principal: Option<String>,
) -> Result<Caller, Error> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(authn) = authn else {
        return Ok(Caller {
            principal: certificate_principal,
            authorization,
            ..Caller::default()
        });
    };
    match authn
        .authenticator
        .authenticate(authorization.as_deref())
        .await
    {
        Ok(identity) => Ok(Caller {
            headers: authn.authenticator.claim_headers(&identity),
            principal: Some(identity.principal),
            authorization,
            trace: None,
        }),
        Err(source) => Err(Error::Unauthenticated {
            source,
            metadata: format!("{}{METADATA_PATH}{path_prefix}", public_origin(headers)),
        }),
    }
}
