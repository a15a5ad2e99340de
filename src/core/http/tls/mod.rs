//! HTTPS listeners with client-certificate (mutual TLS) identity, for the guide's `security.mtls`.
//!
//! The accept loop hands each TCP connection to [`TlsListener::accept`], which completes the handshake
//! and reports who the client is. The rustls config sits behind an `ArcSwap` so a reload changes the
//! certificates for new connections while established ones keep the config they started with.

mod load;
mod peer;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

pub use load::Mode;
pub use peer::{PeerIdentity, identity_of};

/// How long a client may take to complete the handshake. Without a limit, idle half-open connections
/// would each hold a task and a socket for as long as the client likes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the reloader re-reads the files by default. Secret mounts update within about a minute,
/// so a few seconds is plenty and costs three small reads.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

pub struct TlsListener {
    config: ArcSwap<ServerConfig>,
    files: load::Files,
    mode: Mode,
    /// The file contents the current config was built from, so a poll that finds them unchanged does
    /// nothing.
    loaded: std::sync::Mutex<load::Contents>,
    poll_interval: Duration,
}

impl TlsListener {
    /// Reads and checks the CA, server certificate and key. The caller decides whether TLS is on
    /// (`enabled`); this only needs the files and the mode.
    pub fn new(cfg: &crate::config::Mtls) -> Result<TlsListener, String> {
        let mode = Mode::parse(&cfg.mode)?;
        let files = load::Files {
            certificate_authority: cfg.certificate_authority.clone(),
            server_cert: cfg.server_cert.clone(),
            server_key: cfg.server_key.clone(),
        };
        let contents = files.read()?;
        let config = load::server_config(&files, &contents, mode)?;
        Ok(TlsListener {
            config: ArcSwap::from_pointee(config),
            files,
            mode,
            loaded: std::sync::Mutex::new(contents),
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }

    /// Sets how often [`spawn_reloader`](Self::spawn_reloader) looks at the files (tests use a short one).
    pub fn with_poll_interval(mut self, every: Duration) -> TlsListener {
        self.poll_interval = every;
        self
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Completes the handshake; returns the stream and the client's identity, if it presented a certificate.
    ///
    /// Errors are the handshake's own (an unknown CA, a missing certificate in STRICT mode), a timeout,
    /// or `InvalidData` when a verified certificate names no usable principal.
    pub async fn accept(
        &self,
        tcp: TcpStream,
    ) -> std::io::Result<(TlsStream<TcpStream>, Option<PeerIdentity>)> {
        let acceptor = TlsAcceptor::from(self.config.load_full());
        let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the TLS handshake did not complete in time",
                )
            })??;
        // rustls only exposes peer certificates that the verifier accepted, so this is a verified leaf.
        let identity = match stream.get_ref().1.peer_certificates() {
            Some([leaf, ..]) => Some(
                identity_of(leaf)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?,
            ),
            _ => None,
        };
        Ok((stream, identity))
    }

    /// Re-reads the files every poll interval; when they changed and form a valid config, new
    /// connections use it. Invalid files keep the old config and log why, once per distinct content.
    ///
    /// Polling file contents (not mtimes) needs no inotify, works on Kubernetes Secret mounts that swap
    /// a symlink, and does not miss a rewrite within the same mtime tick.
    pub fn spawn_reloader(self: &Arc<Self>, stop: CancellationToken) {
        let listener = self.clone();
        tokio::spawn(async move {
            // The contents of the last attempt, good or bad, so a broken file is reported once.
            let mut attempted = listener.loaded.lock().map(|c| c.clone()).ok();
            let mut tick = tokio::time::interval(listener.poll_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => return,
                }
                let files = listener.files.clone();
                // File reads block; keep them off the async workers.
                let read = tokio::task::spawn_blocking(move || files.read()).await;
                let contents = match read {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => {
                        // A file missing for a moment (mid-rotation) is usual; say so once at most.
                        if attempted.take().is_some() {
                            tracing::warn!(error = %e, "mTLS files unreadable; keeping the current certificates");
                        }
                        continue;
                    }
                    Err(_) => continue,
                };
                if attempted.as_ref() == Some(&contents) {
                    continue;
                }
                attempted = Some(contents.clone());
                listener.try_reload(contents);
            }
        });
    }

    /// Builds a config from `contents` and swaps it in, or logs why not and keeps the current one.
    fn try_reload(&self, contents: load::Contents) {
        if self.loaded.lock().is_ok_and(|c| *c == contents) {
            return;
        }
        match load::server_config(&self.files, &contents, self.mode) {
            Ok(config) => {
                self.config.store(Arc::new(config));
                if let Ok(mut loaded) = self.loaded.lock() {
                    *loaded = contents;
                }
                tracing::info!(
                    cert = %self.files.server_cert,
                    "mTLS certificates reloaded; new connections use them"
                );
            }
            // Often a rotation caught half-written (new cert, old key): finishing it changes the files
            // again, and the poll that sees that change tries again.
            Err(e) => {
                tracing::warn!(error = %e, "mTLS files changed but are not valid; keeping the current certificates")
            }
        }
    }
}
