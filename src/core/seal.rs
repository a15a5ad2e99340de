//! Sealed identifiers: state a client carries for us (session ids, cursors), encrypted and authenticated so
//! that any replica holding the same key can read it and nobody else can read or forge it.
//!
//! Format: base64url(version ‖ 24-byte random nonce ‖ XChaCha20-Poly1305 ciphertext of compact JSON). The
//! purpose ("mcp-session", "cursor", …) is bound in as associated data, so a token sealed for one use is
//! refused for another.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::Serialize;
use serde::de::DeserializeOwned;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// Longest token accepted before any decoding work, so junk headers cost nothing.
const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
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
        Ok(Sealer {
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).expect("32-byte key"),
        })
    }

    /// A fresh random key; ids it seals die with the process.
    pub fn generate() -> Sealer {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).expect("operating system random source");
        Sealer {
            cipher: XChaCha20Poly1305::new_from_slice(&key).expect("32-byte key"),
        }
    }

    pub fn seal<T: Serialize>(&self, purpose: &str, claims: &T) -> String {
        let plain = serde_json::to_vec(claims).expect("claims serialize");
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).expect("operating system random source");
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
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
    fn rejects_keys_of_the_wrong_size() {
        assert!(
            Sealer::from_base64(&STANDARD.encode([1u8; 16]))
                .unwrap_err()
                .contains("32 bytes")
        );
        assert!(Sealer::from_base64("not base64 at all!").is_err());
    }
}
