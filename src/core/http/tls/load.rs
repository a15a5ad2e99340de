//! Turns the PEM files named by `security.mtls` into a rustls `ServerConfig`.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;

use crate::core::http::pem;

/// Whether a client must present a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No certificate, or one the CA did not sign, fails the handshake.
    Strict,
    /// A certificate is optional, but one that is presented must verify.
    Permissive,
}

impl Mode {
    pub fn parse(mode: &str) -> Result<Mode, String> {
        match mode {
            // The decoder defaults an absent `mode` to STRICT; an empty string here means the same.
            "STRICT" | "" => Ok(Mode::Strict),
            "PERMISSIVE" => Ok(Mode::Permissive),
            other => Err(format!(
                "security.mtls.mode: {other:?} is not STRICT or PERMISSIVE"
            )),
        }
    }
}

/// The file paths, as configured.
#[derive(Debug, Clone)]
pub struct Files {
    pub certificate_authority: String,
    pub server_cert: String,
    pub server_key: String,
}

/// The raw bytes of the three files, read together so a reload compares and builds one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    pub certificate_authority: Vec<u8>,
    pub server_cert: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl Files {
    pub fn read(&self) -> Result<Contents, String> {
        let read = |field: &str, path: &str| {
            if path.is_empty() {
                return Err(format!("security.mtls.{field}: no file is configured"));
            }
            std::fs::read(path)
                .map_err(|e| format!("security.mtls.{field} {path}: cannot read the file: {e}"))
        };
        Ok(Contents {
            certificate_authority: read("certificateAuthority", &self.certificate_authority)?,
            server_cert: read("serverCert", &self.server_cert)?,
            server_key: read("serverKey", &self.server_key)?,
        })
    }
}

/// Builds the server config; every error names the setting, the file and what is wrong with it.
pub fn server_config(
    files: &Files,
    contents: &Contents,
    mode: Mode,
) -> Result<ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let ca_what = format!(
        "security.mtls.certificateAuthority {}",
        files.certificate_authority
    );
    let mut roots = RootCertStore::empty();
    for cert in
        pem::certificates(&contents.certificate_authority).map_err(|e| format!("{ca_what}: {e}"))?
    {
        roots
            .add(cert)
            .map_err(|e| format!("{ca_what}: not a usable CA certificate: {e}"))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let verifier = match mode {
        Mode::Strict => verifier,
        Mode::Permissive => verifier.allow_unauthenticated(),
    }
    .build()
    .map_err(|e| format!("{ca_what}: {e}"))?;

    let cert_what = format!("security.mtls.serverCert {}", files.server_cert);
    let chain =
        pem::certificates(&contents.server_cert).map_err(|e| format!("{cert_what}: {e}"))?;
    let key_what = format!("security.mtls.serverKey {}", files.server_key);
    let key = pem::private_key(&contents.server_key).map_err(|e| format!("{key_what}: {e}"))?;

    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("security.mtls: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "{key_what} does not match the certificate in {}: they are not a key pair",
                files.server_cert
            ),
            e => format!("{key_what}: cannot be used with {}: {e}", files.server_cert),
        })?;
    // The listener speaks HTTP/1.1 only; advertising it lets ALPN-checking clients (and proxies) agree.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
