//! Why a request was not authenticated: the client's answer (RFC 6750 / RFC 9728) and the operator's log line.

use std::fmt;

use http::StatusCode;

/// The realm named in every `WWW-Authenticate` challenge.
pub const REALM: &str = "agent-gateway";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <token>`, not three base64url parts, or JSON that does not parse.
    Malformed(String),
    /// `alg` is `none`, an HMAC algorithm or one we do not verify. HMAC is refused outright: with a JWKS the only
    /// "secret" an attacker could have used is our public key (the classic key-confusion attack).
    AlgorithmNotAllowed {
        alg: String,
    },
    /// The key named by `kid` cannot verify `alg` (RSA key with ES256, P-384 key with ES256, JWK `alg` differs).
    KeyAlgorithmMismatch {
        kid: Option<String>,
        alg: String,
    },
    /// No key in the issuer's JWKS has this `kid`, even after a refresh.
    UnknownKey {
        kid: Option<String>,
    },
    BadSignature,
    Expired {
        exp: i64,
    },
    NotYetValid {
        nbf: i64,
    },
    IssuedInFuture {
        iat: i64,
    },
    MissingClaim(&'static str),
    WrongIssuer {
        found: String,
    },
    WrongAudience {
        found: Vec<String>,
    },
    /// The JWKS could not be fetched and no earlier key set is at hand.
    KeysUnavailable(String),
    /// The Kubernetes API server answered `status.authenticated: false`; `reason` is its `status.error`.
    Rejected {
        reason: String,
    },
    /// The TokenReview call itself failed (network, TLS, 401/403 for our service account).
    ReviewUnavailable(String),
}

impl AuthError {
    /// 401 when the token is at fault, 503 when the gateway could not check it: a client should retry the
    /// latter, not fetch a new token.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::KeysUnavailable(_) | AuthError::ReviewUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// RFC 6750 section 3 challenge with the RFC 9728 `resource_metadata` parameter. A request without
    /// credentials gets no `error` code, as section 3.1 asks.
    pub fn www_authenticate(&self, resource_metadata_url: &str) -> String {
        let metadata = quote(resource_metadata_url);
        if *self == AuthError::Missing {
            return format!("Bearer realm=\"{REALM}\", resource_metadata=\"{metadata}\"");
        }
        format!(
            "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\", resource_metadata=\"{metadata}\"",
            quote(&self.to_string())
        )
    }

    /// One log line that tells an operator what to fix.
    pub fn operator_hint(&self) -> String {
        match self {
            AuthError::WrongAudience { found } => format!(
                "token audience {found:?} does not include the policy's audiences; a Kubernetes service-account \
                 token must be minted for the gateway: mint it with `kubectl create token <sa> --audience agent-gateway` \
                 (or a projected token volume with `audience: agent-gateway`)"
            ),
            AuthError::WrongIssuer { found } => format!(
                "token issuer \"{found}\" is not the policy's issuer; set jwt.issuer to the token's `iss` exactly. \
                 on EKS the issuer is the cluster's OIDC URL (kubectl get --raw /.well-known/openid-configuration), \
                 not https://kubernetes.default.svc"
            ),
            AuthError::Rejected { reason } if reason.contains("audience") => format!(
                "the Kubernetes API server rejected the token: {reason}; mint it with \
                 `kubectl create token <sa> --audience agent-gateway`"
            ),
            AuthError::Rejected { reason } => {
                format!("the Kubernetes API server rejected the token (TokenReview): {reason}")
            }
            AuthError::ReviewUnavailable(why) => format!(
                "TokenReview failed: {why}; the gateway's service account needs `create` on \
                 tokenreviews.authentication.k8s.io (ClusterRole system:auth-delegator)"
            ),
            AuthError::KeysUnavailable(why) => format!(
                "no signing keys: {why}; check jwt.jwksUri is reachable from the gateway (in-cluster: the service \
                 account token and CA bundle are mounted)"
            ),
            AuthError::UnknownKey { kid } => format!(
                "no key with kid {kid:?} in the issuer's JWKS, even after a refresh; the token was signed by \
                 another issuer or the JWKS URI is not the issuer's"
            ),
            AuthError::Expired { .. }
            | AuthError::NotYetValid { .. }
            | AuthError::IssuedInFuture { .. } => format!(
                "{self}; the client must renew its token (or clocks differ by more than jwt.leeway)"
            ),
            AuthError::AlgorithmNotAllowed { .. } | AuthError::KeyAlgorithmMismatch { .. } => {
                format!("{self}; a forged or misconfigured token")
            }
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Missing => write!(f, "no bearer token"),
            AuthError::Malformed(why) => write!(f, "malformed token: {why}"),
            AuthError::AlgorithmNotAllowed { alg } => {
                write!(f, "algorithm \"{alg}\" is not accepted")
            }
            AuthError::KeyAlgorithmMismatch { kid, alg } => {
                write!(f, "key {kid:?} cannot verify algorithm \"{alg}\"")
            }
            AuthError::UnknownKey { kid } => write!(f, "unknown signing key {kid:?}"),
            AuthError::BadSignature => write!(f, "signature does not verify"),
            AuthError::Expired { exp } => write!(f, "token expired (exp {exp})"),
            AuthError::NotYetValid { nbf } => write!(f, "token not valid yet (nbf {nbf})"),
            AuthError::IssuedInFuture { iat } => {
                write!(f, "token issued in the future (iat {iat})")
            }
            AuthError::MissingClaim(c) => write!(f, "token has no \"{c}\" claim"),
            AuthError::WrongIssuer { found } => {
                write!(f, "token issuer \"{found}\" is not accepted")
            }
            AuthError::WrongAudience { found } => {
                write!(f, "token audience {found:?} is not accepted")
            }
            AuthError::KeysUnavailable(_) => write!(f, "signing keys are unavailable"),
            AuthError::Rejected { .. } => write!(f, "token rejected by the issuer"),
            AuthError::ReviewUnavailable(_) => write!(f, "token could not be reviewed"),
        }
    }
}

impl std::error::Error for AuthError {}

/// A `quoted-string` body: RFC 6750 allows neither `"` nor `\` in these values, nor control characters.
fn quote(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if (' '..='~').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_credentials_get_no_error_code() {
        assert_eq!(
            AuthError::Missing
                .www_authenticate("https://gw/.well-known/oauth-protected-resource/mcp"),
            "Bearer realm=\"agent-gateway\", resource_metadata=\"https://gw/.well-known/oauth-protected-resource/mcp\""
        );
    }

    #[test]
    fn descriptions_stay_inside_the_quoted_string() {
        let e = AuthError::WrongAudience {
            found: vec!["https://kubernetes.default.svc".into()],
        };
        let h = e.www_authenticate("u");
        assert_eq!(
            h,
            "Bearer realm=\"agent-gateway\", error=\"invalid_token\", error_description=\"token audience ['https://kubernetes.default.svc'] is not accepted\", resource_metadata=\"u\""
        );
    }

    #[test]
    fn the_guides_two_traps_name_their_fix() {
        let aud = AuthError::WrongAudience { found: vec![] }.operator_hint();
        assert!(
            aud.contains("kubectl create token <sa> --audience agent-gateway"),
            "{aud}"
        );
        let iss = AuthError::WrongIssuer {
            found: "https://oidc.eks.us-west-2.amazonaws.com/id/X".into(),
        }
        .operator_hint();
        assert!(
            iss.contains("kubectl get --raw /.well-known/openid-configuration"),
            "{iss}"
        );
        assert!(iss.contains("not https://kubernetes.default.svc"), "{iss}");
    }
}
