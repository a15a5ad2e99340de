//! Downstream sessions (session era). Nothing is stored: the `Mcp-Session-Id` the client holds is the
//! session, sealed, so any replica with the key serves it and no replica needs sticky routing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

/// Entries per generation of [`OpenedSessions`]; at most twice this many are held.
const OPENED_GENERATION: usize = 1024;

/// Sessions recently opened on this replica, by their whole sealed id. Each request of a session would
/// otherwise decrypt and parse its id again, about 7% of a relayed call's instructions. Only ids that
/// opened are kept, so a hit gives exactly what opening again would; expiry and binding are checked on
/// every use all the same. Two generations bound the memory: when the current one fills it becomes the
/// previous one (the older is dropped), and a hit in the previous one moves back to the current one.
#[derive(Default)]
pub struct OpenedSessions {
    generations: Mutex<[HashMap<String, Arc<SessionClaims>>; 2]>,
}

impl OpenedSessions {
    pub fn open(
        &self,
        sealer: &Sealer,
        token: &str,
        route: &str,
        principal: &str,
    ) -> Result<Arc<SessionClaims>, SessionRejection> {
        let claims = match self.cached(token) {
            Some(claims) => claims,
            None => {
                let claims: Arc<SessionClaims> = Arc::new(
                    sealer
                        .open(PURPOSE, token)
                        .map_err(|SealError::Invalid| SessionRejection::Invalid)?,
                );
                self.keep(token, claims.clone());
                claims
            }
        };
        check(&claims, route, principal)?;
        Ok(claims)
    }

    fn cached(&self, token: &str) -> Option<Arc<SessionClaims>> {
        let mut generations = self.generations.lock().unwrap();
        if let Some(claims) = generations[0].get(token) {
            return Some(claims.clone());
        }
        let claims = generations[1].remove(token)?;
        drop(generations);
        self.keep(token, claims.clone());
        Some(claims)
    }

    fn keep(&self, token: &str, claims: Arc<SessionClaims>) {
        let mut generations = self.generations.lock().unwrap();
        if generations[0].len() >= OPENED_GENERATION {
            let current = std::mem::take(&mut generations[0]);
            generations[1] = current;
        }
        generations[0].insert(token.to_string(), claims);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let generations = self.generations.lock().unwrap();
        generations[0].len() + generations[1].len()
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
        // Bounded: a flood of sessions keeps at most two generations, and a live one survives by use.
        for _ in 0..3 * OPENED_GENERATION {
            let other = seal(&sealer, &claims(now() + 60));
            opened.open(&sealer, &other, "mcp", "alice").unwrap();
            opened.open(&sealer, &token, "mcp", "alice").unwrap();
        }
        assert!(opened.len() <= 2 * OPENED_GENERATION);
        assert!(opened.cached(&token).is_some());
    }
}
