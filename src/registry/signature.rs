//! A signed lock. `lock.json.sig`, beside `lock.json`, holds the Ed25519 signature (base64) of the lock's
//! exact bytes. With `registry.publicKey` set, the gateway refuses a lock whose signature is missing or
//! does not verify, at start and at every reload (the old config stays), so a lock edited where the
//! config is deployed (a ConfigMap) without the signing key is never used. `registry keygen` makes a key
//! pair, `registry sign` signs the lock after `lock` or `approve` rewrote it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use super::lock;

pub const FILE: &str = "lock.json.sig";

pub fn path(registry: &Path) -> PathBuf {
    registry.join(FILE)
}

/// A new key pair: the private key (PKCS#8, base64) to keep secret, and the public key (base64) for
/// `registry.publicKey`.
pub fn keygen() -> (String, String) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("the system's random source");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a key just generated");
    (
        STANDARD.encode(pkcs8.as_ref()),
        STANDARD.encode(pair.public_key().as_ref()),
    )
}

/// Signs `registry`'s lock with `private_key` (the PKCS#8 base64 of `keygen`); the public key to
/// configure.
pub fn sign(registry: &Path, private_key: &str) -> Result<String, String> {
    let der = STANDARD
        .decode(private_key.trim())
        .map_err(|e| format!("the signing key is not base64: {e}"))?;
    let pair = Ed25519KeyPair::from_pkcs8(&der)
        .map_err(|e| format!("the signing key is not an Ed25519 PKCS#8 key: {e}"))?;
    let file = lock::path(registry);
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let signature = STANDARD.encode(pair.sign(&bytes).as_ref());
    let out = path(registry);
    std::fs::write(&out, format!("{signature}\n"))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(STANDARD.encode(pair.public_key().as_ref()))
}

/// Whether `registry`'s lock carries a valid signature by `public_key` (32 bytes).
pub fn verify(registry: &Path, public_key: &[u8]) -> Result<(), String> {
    let (file, sig_file) = (lock::path(registry), path(registry));
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let signature = match std::fs::read_to_string(&sig_file) {
        Ok(text) => STANDARD
            .decode(text.trim())
            .map_err(|e| format!("{}: not base64: {e}", sig_file.display()))?,
        Err(e) => {
            return Err(format!(
                "{}: {e}; registry.publicKey requires a signed lock (agent-gateway registry sign --config FILE --key KEYFILE)",
                sig_file.display()
            ));
        }
    };
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&bytes, &signature)
        .map_err(|_| {
            format!(
                "{}: the signature in {} does not verify with registry.publicKey: the lock was changed after it was signed, or signed with another key",
                file.display(),
                sig_file.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_lock_verifies_and_any_change_or_other_key_does_not() {
        let dir = std::env::temp_dir().join(format!("agw-sig-{}", crate::core::seal::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(lock::path(&dir), "{\"servers\": {}}\n").unwrap();
        let (private, public) = keygen();
        let public = STANDARD.decode(public).unwrap();
        let unsigned = verify(&dir, &public).unwrap_err();
        assert!(unsigned.contains("requires a signed lock"), "{unsigned}");
        sign(&dir, &private).unwrap();
        verify(&dir, &public).unwrap();
        let (_, other) = keygen();
        assert!(verify(&dir, &STANDARD.decode(other).unwrap()).is_err());
        std::fs::write(lock::path(&dir), "{\"servers\": {\"x\": {}}}\n").unwrap();
        let changed = verify(&dir, &public).unwrap_err();
        assert!(changed.contains("does not verify"), "{changed}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
