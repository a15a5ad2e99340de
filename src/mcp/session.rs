//! Downstream sessions (session era). Nothing is stored: the `Mcp-Session-Id` the client holds is the
//! session, sealed, so any replica with the key serves it and no replica needs sticky routing.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::upstream::UpstreamSessionClaim;
use crate::seal::{SealError, Sealer};

const PURPOSE: &str = "mcp-session";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionClaims {
    /// Random handle: keys replica-local state (upstream session cache, relayed requests, revocation).
    pub h: String,
    /// The principal the session is bound to ("" for an unauthenticated route).
    pub sub: String,
    /// Route name: a session of one route is not valid on another.
    pub r: String,
    /// Negotiated protocol version.
    pub v: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Upstream sessions opened for this session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub up: Vec<UpstreamSessionClaim>,
    /// The client's capabilities from `initialize`, told to stateless upstreams on its behalf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<serde_json::Value>,
}

#[derive(Debug, PartialEq)]
pub enum SessionRejection {
    /// Not sealed by us, tampered with, or sealed with another key.
    Invalid,
    Expired,
    /// Valid, but for another principal or route: answered exactly like an unknown id.
    Foreign,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn seal(sealer: &Sealer, claims: &SessionClaims) -> String {
    sealer.seal(PURPOSE, claims)
}

pub fn open(
    sealer: &Sealer,
    token: &str,
    route: &str,
    principal: &str,
) -> Result<SessionClaims, SessionRejection> {
    let claims: SessionClaims = sealer
        .open(PURPOSE, token)
        .map_err(|SealError::Invalid| SessionRejection::Invalid)?;
    if claims.exp <= now() {
        return Err(SessionRejection::Expired);
    }
    if claims.r != route || claims.sub != principal {
        return Err(SessionRejection::Foreign);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> SessionClaims {
        SessionClaims {
            h: "h1".into(),
            sub: "alice".into(),
            r: "mcp".into(),
            v: "2025-11-25".into(),
            exp,
            up: vec![],
            caps: None,
        }
    }

    #[test]
    fn binds_to_principal_and_route_and_expires() {
        let sealer = Sealer::generate();
        let token = seal(&sealer, &claims(now() + 60));
        assert_eq!(open(&sealer, &token, "mcp", "alice").unwrap().h, "h1");
        assert_eq!(
            open(&sealer, &token, "mcp", "mallory"),
            Err(SessionRejection::Foreign)
        );
        assert_eq!(
            open(&sealer, &token, "other", "alice"),
            Err(SessionRejection::Foreign)
        );
        let old = seal(&sealer, &claims(now() - 1));
        assert_eq!(
            open(&sealer, &old, "mcp", "alice"),
            Err(SessionRejection::Expired)
        );
        assert_eq!(
            open(&sealer, "garbage", "mcp", "alice"),
            Err(SessionRejection::Invalid)
        );
    }
}
