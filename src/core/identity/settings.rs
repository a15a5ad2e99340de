//! The defaults and derived values of a `jwt-authn` policy: what the YAML leaves out, decided in one place.

use std::path::PathBuf;
use std::time::Duration;

use http::Uri;

use super::fetch::Kube;
use crate::config::{JwtAuthn, JwtMode};

pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);
pub const DEFAULT_MIN_REFRESH: Duration = Duration::from_secs(10);
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Host names that reach the API server from inside a pod.
const CLUSTER_HOSTS: &[&str] = &[
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "kubernetes.default",
    "kubernetes",
];

pub struct Settings {
    pub leeway: i64,
    pub refresh: Duration,
    pub min_refresh: Duration,
    pub kube: Option<Kube>,
    /// Where TokenReviews go: `apiServer`, else the origin of `jwksUri`.
    pub api_server: String,
}

impl Settings {
    pub fn of(cfg: &JwtAuthn) -> Result<Settings, String> {
        let jwks: Uri = cfg
            .jwks_uri
            .parse()
            .map_err(|e| format!("jwksUri {}: {e}", cfg.jwks_uri))?;
        let api_server = match &cfg.api_server {
            Some(s) => s.trim_end_matches('/').to_string(),
            None => origin(&jwks).ok_or_else(|| format!("jwksUri {} has no host", cfg.jwks_uri))?,
        };
        // A TokenReview always goes to the API server; a JWKS fetch only when its URL points there (or the
        // operator says so). The service-account token is never sent anywhere else.
        let in_cluster = cfg.mode == JwtMode::TokenReview
            || cfg
                .kubernetes
                .unwrap_or_else(|| jwks.host().is_some_and(is_cluster_host));
        let dir = PathBuf::from(SERVICE_ACCOUNT_DIR);
        let kube = in_cluster.then(|| Kube {
            token_path: cfg
                .service_account_token_path
                .as_ref()
                .map_or_else(|| dir.join("token"), PathBuf::from),
            ca_path: cfg
                .ca_path
                .as_ref()
                .map_or_else(|| dir.join("ca.crt"), PathBuf::from),
        });
        let leeway = cfg.leeway.unwrap_or(DEFAULT_LEEWAY).as_secs();
        Ok(Settings {
            leeway: i64::try_from(leeway).map_err(|_| "leeway is too long".to_string())?,
            refresh: cfg.jwks_refresh_interval.unwrap_or(DEFAULT_REFRESH),
            min_refresh: cfg.jwks_min_refresh_interval.unwrap_or(DEFAULT_MIN_REFRESH),
            kube,
            api_server,
        })
    }
}

pub fn is_cluster_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    CLUSTER_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host))
}

fn origin(uri: &Uri) -> Option<String> {
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(uri: &str) -> JwtAuthn {
        JwtAuthn {
            issuer: "https://kubernetes.default.svc".into(),
            audiences: vec!["agent-gateway".into()],
            jwks_uri: uri.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_guides_jwks_uri_is_in_cluster_with_the_default_paths() {
        let s = Settings::of(&cfg("https://kubernetes.default.svc/openid/v1/jwks")).unwrap();
        let kube = s.kube.unwrap();
        assert_eq!(
            kube.token_path,
            PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/token")
        );
        assert_eq!(
            kube.ca_path,
            PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
        );
        assert_eq!(s.api_server, "https://kubernetes.default.svc");
        assert_eq!((s.leeway, s.refresh), (30, DEFAULT_REFRESH));
    }

    #[test]
    fn an_outside_issuer_never_gets_the_service_account_token() {
        let s = Settings::of(&cfg("https://oidc.eks.us-west-2.amazonaws.com/id/X/keys")).unwrap();
        assert!(s.kube.is_none());
        let mut c = cfg("https://kubernetes.default.svc/openid/v1/jwks");
        c.kubernetes = Some(false);
        assert!(Settings::of(&c).unwrap().kube.is_none());
        let mut c = cfg("https://oidc.example/keys");
        c.mode = JwtMode::TokenReview;
        c.api_server = Some("https://10.0.0.1:443/".into());
        let s = Settings::of(&c).unwrap();
        assert!(s.kube.is_some());
        assert_eq!(s.api_server, "https://10.0.0.1:443");
    }
}
