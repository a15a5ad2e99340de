//! PEM files of certificates and private keys, read the same way for the listener (`security.mtls`) and
//! for upstream TLS (`backends[].tls`), with messages that say what was expected.

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What is wrong with a PEM file's contents; the caller adds which file it is.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("not a valid PEM certificate file: {0}")]
    Certificates(pem::Error),
    #[error("no certificate found (expected a PEM block `-----BEGIN CERTIFICATE-----`)")]
    NoCertificate,
    #[error("no private key found (expected a PEM block such as `-----BEGIN PRIVATE KEY-----`)")]
    NoKey,
    #[error("not a valid PEM private key: {0}")]
    Key(pem::Error),
}

/// Every certificate in a PEM file; at least one, and no malformed blocks.
pub fn certificates(pem_bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = CertificateDer::pem_slice_iter(pem_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(PemError::Certificates)?;
    if certs.is_empty() {
        return Err(PemError::NoCertificate);
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(pem_bytes: &[u8]) -> Result<PrivateKeyDer<'static>, PemError> {
    PrivateKeyDer::from_pem_slice(pem_bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => PemError::NoKey,
        e => PemError::Key(e),
    })
}
