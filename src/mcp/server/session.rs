//! Downstream sessions (session era). Nothing is stored: the `Mcp-Session-Id` the client holds is the
//! session, sealed, so any replica with the key serves it and no replica needs sticky routing.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::core::seal::{SealError, Sealer};
use crate::mcp::upstream::{SessionCache, UpstreamSessionClaim};

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

/// What opening checks besides the seal: expiry, then the route and principal the session is bound to.
fn check(claims: &SessionClaims, route: &str, principal: &str) -> Result<(), SessionRejection> {
    if claims.exp <= now() {
        return Err(SessionRejection::Expired);
    }
    if claims.r != route || claims.sub != principal {
        return Err(SessionRejection::Foreign);
    }
    Ok(())
}

/// Session ids kept by [`OpenedSessions`].
const OPENED_CAPACITY: usize = 2048;

/// Sessions recently opened on this replica, by their whole sealed id. Each request of a session would
/// otherwise decrypt and parse its id again, about 7% of a relayed call's instructions. Only ids that
/// opened are kept, so a hit gives exactly what opening again would; expiry and binding are checked on
/// every use all the same. When full, the least recently used id makes room.
pub struct OpenedSessions {
    cache: SessionCache<Arc<SessionClaims>>,
}

impl Default for OpenedSessions {
    fn default() -> Self {
        OpenedSessions {
            cache: SessionCache::new(OPENED_CAPACITY),
        }
    }
}

impl OpenedSessions {
    pub fn open(
        &self,
        sealer: &Sealer,
        token: &str,
        route: &str,
        principal: &str,
    ) -> Result<Arc<SessionClaims>, SessionRejection> {
        let claims = match self.cache.get(token) {
            Some(claims) => claims,
            None => {
                let claims: Arc<SessionClaims> = Arc::new(
                    sealer
                        .open(PURPOSE, token)
                        .map_err(|SealError::Invalid| SessionRejection::Invalid)?,
                );
                self.cache.insert(token, claims.clone());
                claims
            }
        };
        check(&claims, route, principal)?;
        Ok(claims)
    }
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
    fn opened_sessions_check_binding_and_expiry_on_every_use_and_stay_bounded() {
        let sealer = Sealer::generate();
        let opened = OpenedSessions::default();
        let token = seal(&sealer, &claims(now() + 60));
        assert_eq!(
            opened.open(&sealer, &token, "mcp", "alice").unwrap().h,
            "h1"
        );
        // A cached id is still bound to its principal and route.
        assert_eq!(
            opened.open(&sealer, &token, "mcp", "mallory"),
            Err(SessionRejection::Foreign)
        );
        assert_eq!(
            opened.open(&sealer, &token, "other", "alice"),
            Err(SessionRejection::Foreign)
        );
        assert_eq!(
            opened.open(&sealer, "garbage", "mcp", "alice"),
            Err(SessionRejection::Invalid)
        );
        let old = seal(&sealer, &claims(now() - 1));
        assert_eq!(
            opened.open(&sealer, &old, "mcp", "alice"),
            Err(SessionRejection::Expired)
        );
        // Expired once cached too: the check runs on every use, not only on the first.
        assert_eq!(
            opened.open(&sealer, &old, "mcp", "alice"),
            Err(SessionRejection::Expired)
        );
        // Bounded: a flood of sessions keeps at most the capacity, and a live one survives by use.
        for _ in 0..2 * OPENED_CAPACITY {
            let other = seal(&sealer, &claims(now() + 60));
            opened.open(&sealer, &other, "mcp", "alice").unwrap();
            opened.open(&sealer, &token, "mcp", "alice").unwrap();
        }
        assert!(opened.cache.len() <= OPENED_CAPACITY);
        assert!(opened.cache.get(&token).is_some());
    }
}
