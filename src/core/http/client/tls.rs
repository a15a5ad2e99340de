//! The rustls side of an outbound client: reading the files its settings name, and the `ClientConfig`
//! they make. Every error names the file and what was wrong with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use sha2::{Digest, Sha256};

use super::{Roots, TlsSettings, roots};
use crate::core::http::pem::{self, PemError};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{what} {}: cannot read the file: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {}: {source}", path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        source: PemError,
    },
    #[error("CA bundle {}: not a usable CA certificate: {source}", path.display())]
    BadCa {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error(
        "client key {} does not match the client certificate in {}: they are not a key pair",
        key.display(), cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("client certificate {} with key {}: {source}", cert.display(), key.display())]
    ClientCert {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
}

const CA: &str = "CA bundle";
const CERT: &str = "client certificate";
const KEY: &str = "client key";

/// The contents of the files a [`TlsSettings`] names, read once per client request.
pub struct Files {
    ca: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
}

/// What makes two clients the same: their settings and the contents of their files (by digest, so the
/// cache holds no second copy of a private key).
#[derive(PartialEq, Eq)]
pub struct Key {
    settings: TlsSettings,
    pub contents: [u8; 32],
}

impl Files {
    pub fn read(settings: &TlsSettings) -> Result<Files, ClientError> {
        let ca = match &settings.roots {
            Roots::System { extra } => extra.as_deref(),
            Roots::Only(path) => Some(path.as_path()),
        };
        let cert = settings.client_cert.as_ref();
        Ok(Files {
            ca: ca.map(|p| read(CA, p)).transpose()?,
            cert: cert.map(|c| read(CERT, &c.cert_file)).transpose()?,
            key: cert.map(|c| read(KEY, &c.key_file)).transpose()?,
        })
    }

    pub fn key(&self, settings: &TlsSettings) -> Key {
        let mut digest = Sha256::new();
        for part in [&self.ca, &self.cert, &self.key] {
            // Length-prefixed, so that moving bytes from one file to the next is a different key.
            let bytes = part.as_deref().unwrap_or_default();
            digest.update((bytes.len() as u64).to_be_bytes());
            digest.update(bytes);
        }
        Key {
            settings: settings.clone(),
            contents: digest.finalize().into(),
        }
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// The rustls config: roots, then the client certificate. The crypto provider is named rather than taken
/// from the process default, so nothing else in the process can change what this client accepts.
pub fn config(settings: &TlsSettings, files: &Files) -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (mut roots, ca_path) = match &settings.roots {
        Roots::System { extra } => (RootCertStore::clone(&roots::system()), extra.as_deref()),
        Roots::Only(path) => (RootCertStore::empty(), Some(path.as_path())),
    };
    if let (Some(path), Some(bytes)) = (ca_path, &files.ca) {
        let pem_error = |source| ClientError::Pem {
            what: CA,
            path: path.to_path_buf(),
            source,
        };
        for cert in pem::certificates(bytes).map_err(pem_error)? {
            roots.add(cert).map_err(|source| ClientError::BadCa {
                path: path.to_path_buf(),
                source,
            })?;
        }
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ClientError::Setup)?
        .with_root_certificates(roots);
    let (Some(cert), Some(cert_pem), Some(key_pem)) =
        (&settings.client_cert, &files.cert, &files.key)
    else {
        return Ok(builder.with_no_client_auth());
    };
    let pem_error = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| ClientError::Pem { what, path, source }
    };
    let chain = pem::certificates(cert_pem).map_err(pem_error(CERT, &cert.cert_file))?;
    let key = pem::private_key(key_pem).map_err(pem_error(KEY, &cert.key_file))?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|source| match source {
            rustls::Error::InconsistentKeys(_) => ClientError::KeyMismatch {
                cert: cert.cert_file.clone(),
                key: cert.key_file.clone(),
            },
            source => ClientError::ClientCert {
                cert: cert.cert_file.clone(),
                key: cert.key_file.clone(),
                source,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::super::{ClientCert, client};
    use super::*;

    fn ca_pem() -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
            .pem()
    }

    #[test]
    fn bad_files_are_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let text = dir.path().join("text.pem");
        std::fs::write(&text, "hello").unwrap();
        let only = |p: &Path| TlsSettings {
            roots: Roots::Only(p.to_path_buf()),
            client_cert: None,
        };
        let e = client(&only(&missing)).err().unwrap().to_string();
        assert!(
            e.starts_with(&format!("CA bundle {}: cannot read", missing.display())),
            "{e}"
        );
        let e = client(&only(&text)).err().unwrap().to_string();
        assert!(e.contains("no certificate found"), "{e}");

        // A key that is not the certificate's.
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem()).unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(&key, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
        let with_cert = |cert: &Path, key: &Path| TlsSettings {
            roots: Roots::Only(ca.clone()),
            client_cert: Some(ClientCert {
                cert_file: cert.to_path_buf(),
                key_file: key.to_path_buf(),
            }),
        };
        let e = client(&with_cert(&ca, &key)).err().unwrap().to_string();
        assert!(e.contains("not a key pair"), "{e}");
        let e = client(&with_cert(&ca, &ca)).err().unwrap().to_string();
        assert!(
            e.starts_with(&format!("client key {}: no private key", ca.display())),
            "{e}"
        );
    }

    #[test]
    fn the_same_settings_and_contents_share_a_client_and_changed_contents_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem()).unwrap();
        let settings = TlsSettings {
            roots: Roots::Only(ca.clone()),
            client_cert: None,
        };
        let files = Files::read(&settings).unwrap();
        assert!(files.key(&settings) == Files::read(&settings).unwrap().key(&settings));
        std::fs::write(&ca, ca_pem()).unwrap();
        assert!(files.key(&settings) != Files::read(&settings).unwrap().key(&settings));
        let system = TlsSettings {
            roots: Roots::System {
                extra: Some(ca.clone()),
            },
            client_cert: None,
        };
        assert!(Files::read(&system).unwrap().key(&system) != files.key(&settings));
    }
}
