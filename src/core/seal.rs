//! Sealed identifiers: state a client carries for us (session ids, cursors), encrypted and authenticated so
//! that any replica holding the same key can read it and nobody else can read or forge it.
//!
//! Format: base64url(version ‖ 24-byte nonce ‖ XChaCha20-Poly1305 ciphertext of compact JSON). The purpose
//! ("mcp-session", "cursor", …) is bound in as associated data, so a token sealed for one use is refused
//! for another.
//!
//! Two ways to seal, one way to open:
//! - [`Sealer::seal`] draws a random nonce: every call gives a new token (MCP sessions, where a new session
//!   must be a new id).
//! - [`Sealer::seal_deterministic`] derives the nonce from the purpose and the claims with a keyed PRF
//!   (HMAC-SHA256 under a key derived from the session key), as synthetic-IV schemes do: the same claims
//!   always give the same token (A2A task and context ids, which clients compare), different claims give
//!   unrelated nonces, and the token shows nothing but whether two tokens are equal.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// Longest token accepted before any decoding work, so junk headers cost nothing.
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Label of the key the deterministic nonces are derived under: never the encryption key itself.
const NONCE_KEY_LABEL: &[u8] = b"agent-gateway seal: synthetic nonce key v1";

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    nonce_key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SealError {
    /// Not ours, tampered with, sealed with another key or for another purpose.
    Invalid,
}

impl Sealer {
    /// From a 32-byte key given as standard or URL-safe base64.
    pub fn from_base64(key: &str) -> Result<Sealer, String> {
        let key = key.trim();
        let bytes = STANDARD
            .decode(key)
            .or_else(|_| URL_SAFE_NO_PAD.decode(key.trim_end_matches('=')))
            .map_err(|e| format!("session key is not base64: {e}"))?;
        if bytes.len() != 32 {
            return Err(format!(
                "session key must be 32 bytes, got {} (generate one with `openssl rand -base64 32`)",
                bytes.len()
            ));
        }
        Ok(Sealer::from_key(&bytes))
    }

    /// A fresh random key; ids it seals die with the process.
    pub fn generate() -> Sealer {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).expect("operating system random source");
        Sealer::from_key(&key)
    }

    fn from_key(key: &[u8]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new_from_slice(key).expect("32-byte key"),
            nonce_key: hmac_sha256(key, &[NONCE_KEY_LABEL]),
        }
    }

    /// A new token on every call (random nonce).
    pub fn seal<T: Serialize>(&self, purpose: &str, claims: &T) -> String {
        let plain = serde_json::to_vec(claims).expect("claims serialize");
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).expect("operating system random source");
        self.seal_with(nonce, purpose, &plain)
    }

    /// The same token for the same purpose and claims, every time and on every replica with the key; opened
    /// by [`Sealer::open`] like any other. The nonce is HMAC-SHA256(nonce key, purpose ‖ claims), so two
    /// tokens share a nonce only when they seal the same plaintext for the same purpose.
    pub fn seal_deterministic<T: Serialize>(&self, purpose: &str, claims: &T) -> String {
        let plain = serde_json::to_vec(claims).expect("claims serialize");
        // Length-prefixed, so no (purpose, claims) pair reads as another.
        let len = (purpose.len() as u64).to_be_bytes();
        let mac = hmac_sha256(&self.nonce_key, &[&len, purpose.as_bytes(), &plain]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&mac[..NONCE_LEN]);
        self.seal_with(nonce, purpose, &plain)
    }

    fn seal_with(&self, nonce: [u8; NONCE_LEN], purpose: &str, plain: &[u8]) -> String {
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("encryption of an in-memory buffer");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    pub fn open<T: DeserializeOwned>(&self, purpose: &str, token: &str) -> Result<T, SealError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(SealError::Invalid);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| SealError::Invalid)?;
        if bytes.len() < 1 + NONCE_LEN + 16 || bytes[0] != VERSION {
            return Err(SealError::Invalid);
        }
        let (nonce, sealed) = bytes[1..].split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Invalid)?;
        serde_json::from_slice(&plain).map_err(|_| SealError::Invalid)
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`, for keys of at most one block (64 bytes).
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    assert!(key.len() <= 64, "HMAC keys here are at most one block");
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// 16 random bytes as hex: a unique handle for replica-local caches keyed by a sealed object.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("operating system random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One fuzz case: no text opens as a sealed id but one this key sealed.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    static SEALER: std::sync::OnceLock<Sealer> = std::sync::OnceLock::new();
    let sealer = SEALER.get_or_init(Sealer::generate);
    let text = String::from_utf8_lossy(data);
    assert!(sealer.open::<serde_json::Value>("fuzz", &text).is_err());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Claims {
        sub: String,
        n: u32,
    }

    fn key() -> String {
        STANDARD.encode([7u8; 32])
    }

    #[test]
    fn round_trips_and_any_holder_of_the_key_can_open() {
        let a = Sealer::from_base64(&key()).unwrap();
        let b = Sealer::from_base64(&key()).unwrap();
        let token = a.seal(
            "mcp-session",
            &Claims {
                sub: "alice".into(),
                n: 3,
            },
        );
        assert!(
            token.bytes().all(|c| (0x21..=0x7e).contains(&c)),
            "session ids must be visible ASCII"
        );
        assert_eq!(
            b.open::<Claims>("mcp-session", &token).unwrap(),
            Claims {
                sub: "alice".into(),
                n: 3
            }
        );
    }

    #[test]
    fn refuses_tampering_other_keys_and_other_purposes() {
        let a = Sealer::from_base64(&key()).unwrap();
        let token = a.seal(
            "mcp-session",
            &Claims {
                sub: "alice".into(),
                n: 3,
            },
        );
        assert_eq!(a.open::<Claims>("cursor", &token), Err(SealError::Invalid));
        assert_eq!(
            Sealer::generate().open::<Claims>("mcp-session", &token),
            Err(SealError::Invalid)
        );
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in [0, 5, raw.len() - 1] {
            raw[i] ^= 1;
            assert_eq!(
                a.open::<Claims>("mcp-session", &URL_SAFE_NO_PAD.encode(&raw)),
                Err(SealError::Invalid)
            );
            raw[i] ^= 1;
        }
        for junk in ["", "abc", "!!!!", &"A".repeat(10_000)] {
            assert_eq!(
                a.open::<Claims>("mcp-session", junk),
                Err(SealError::Invalid)
            );
        }
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let hex = |b: [u8; 32]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(hmac_sha256(&[0x0b; 20], &[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn deterministic_sealing_gives_one_token_per_claim_and_random_sealing_a_new_one() {
        let a = Sealer::from_base64(&key()).unwrap();
        let b = Sealer::from_base64(&key()).unwrap();
        let alice = Claims {
            sub: "alice".into(),
            n: 3,
        };
        let token = a.seal_deterministic("a2a-task", &alice);
        // Every replica holding the key seals the same claims to the same token, and opens it.
        assert_eq!(b.seal_deterministic("a2a-task", &alice), token);
        assert_eq!(b.open::<Claims>("a2a-task", &token).unwrap(), alice);
        // Anything else gives another token: other claims, purpose or key.
        let bob = Claims {
            sub: "bob".into(),
            n: 3,
        };
        assert_ne!(a.seal_deterministic("a2a-task", &bob), token);
        assert_ne!(a.seal_deterministic("a2a-context", &alice), token);
        assert_ne!(
            Sealer::generate().seal_deterministic("a2a-task", &alice),
            token
        );
        // Still bound to its purpose, and still unforgeable.
        assert_eq!(
            a.open::<Claims>("a2a-context", &token),
            Err(SealError::Invalid)
        );
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(
            a.open::<Claims>("a2a-task", &URL_SAFE_NO_PAD.encode(&raw)),
            Err(SealError::Invalid)
        );
        // The randomized operation is unchanged: a new token every time.
        assert_ne!(a.seal("mcp-session", &alice), a.seal("mcp-session", &alice));
    }

    #[test]
    fn rejects_keys_of_the_wrong_size() {
        assert!(
            Sealer::from_base64(&STANDARD.encode([1u8; 16]))
                .unwrap_err()
                .contains("32 bytes")
        );
        assert!(Sealer::from_base64("not base64 at all!").is_err());
    }
}
