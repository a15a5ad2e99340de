//! The system's trusted roots, loaded once per process.
//!
//! `rustls-native-certs` reads the platform's store (on Linux the distribution's bundle, e.g.
//! `/etc/ssl/certs/ca-certificates.crt`). When `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, the certificates
//! there are used **instead of** the platform's, as OpenSSL, curl, Python and Go tools do: a setting that
//! only added roots could never take a public CA away, and these tools' users expect the same variable to
//! mean the same thing here. A backend's own `tls.caFile` adds to whichever of the two is in force.
//!
//! Read once: the environment and the system bundle do not change under a running process, and the bundle
//! is a few hundred certificates to parse.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;

pub fn system() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS.get_or_init(|| Arc::new(load())).clone()
}

fn load() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    // A file that cannot be read (SSL_CERT_FILE naming a missing file, say) is logged rather than fatal:
    // plain-http backends do not need roots, and an https one will report the certificate it could not
    // verify, next to this line in the log.
    for error in &found.errors {
        tracing::error!(%error, "cannot load trusted root certificates (SSL_CERT_FILE, SSL_CERT_DIR or the system store)");
    }
    let mut roots = RootCertStore::empty();
    let (_, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "some trusted root certificates could not be used and were left out"
        );
    }
    if roots.is_empty() {
        tracing::warn!(
            "no trusted root certificates found: https backends verify only against their own tls.caFile; install the system CA bundle or set SSL_CERT_FILE"
        );
    } else {
        tracing::debug!(
            roots = roots.len(),
            ssl_cert_file = std::env::var("SSL_CERT_FILE").ok(),
            "trusted root certificates loaded"
        );
    }
    roots
}
