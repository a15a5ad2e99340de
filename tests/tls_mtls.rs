//! `security.mtls`: handshakes in STRICT and PERMISSIVE mode, client identity, and certificate reload.
//!
//! Every certificate is made here with rcgen, so nothing expires in the repository.

mod common;

use common::pki::{Ca, Leaf, client_leaf, new_ca, server_leaf, sign};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agent_gateway::config::Mtls;
use agent_gateway::core::http::tls::{PeerIdentity, TlsListener};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

// ---- certificates ----

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The three files of `security.mtls` in a temporary directory.
struct Files {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn new(ca: &Ca, server: &Leaf) -> Files {
        let dir = tempfile::tempdir().unwrap();
        let files = Files {
            ca: dir.path().join("ca.pem"),
            cert: dir.path().join("server.pem"),
            key: dir.path().join("server.key"),
            _dir: dir,
        };
        std::fs::write(&files.ca, &ca.pem).unwrap();
        files.write_server(server);
        files
    }

    fn write_server(&self, server: &Leaf) {
        std::fs::write(&self.cert, &server.cert).unwrap();
        std::fs::write(&self.key, &server.key).unwrap();
    }

    fn config(&self, mode: &str) -> Mtls {
        let text = |p: &Path| p.to_str().unwrap().to_string();
        Mtls {
            enabled: true,
            mode: mode.to_string(),
            certificate_authority: text(&self.ca),
            server_cert: text(&self.cert),
            server_key: text(&self.key),
        }
    }
}

// ---- a tiny HTTPS server that answers with the caller's principal ----

type Accepted = Result<Option<PeerIdentity>, String>;

async fn serve(tls: Arc<TlsListener>) -> (SocketAddr, mpsc::UnboundedReceiver<Accepted>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (report, accepted) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (tls, report) = (tls.clone(), report.clone());
            tokio::spawn(async move {
                let (stream, peer) = match tls.accept(tcp).await {
                    Ok(ok) => ok,
                    Err(e) => {
                        let _ = report.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = report.send(Ok(peer.clone()));
                let principal = peer.map_or("anonymous".to_string(), |p| p.principal);
                let service = hyper::service::service_fn(move |_request| {
                    let body = Full::new(Bytes::from(principal.clone()));
                    async move { Ok::<_, std::convert::Infallible>(http::Response::new(body)) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, accepted)
}

async fn next(accepted: &mut mpsc::UnboundedReceiver<Accepted>) -> Accepted {
    tokio::time::timeout(Duration::from_secs(10), accepted.recv())
        .await
        .expect("the server reported no handshake")
        .unwrap()
}

// ---- client ----

struct Answer {
    principal: String,
    server_fingerprint: String,
}

/// One HTTPS GET, trusting `roots_pem`, presenting `client` if given.
async fn get(addr: SocketAddr, roots_pem: &str, client: Option<&Leaf>) -> Result<Answer, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![leaf.der.clone()],
                PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let session = tls.get_ref().1;
    assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    let server_fingerprint = fingerprint(&session.peer_certificates().unwrap()[0]);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("http handshake: {e}"))?;
    tokio::spawn(connection);
    let request = http::Request::get("/")
        .header(http::header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    // In TLS 1.3 the client finishes its handshake before the server has checked the client's
    // certificate, so a refusal can surface here rather than in `connect`.
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(Answer {
        principal: String::from_utf8(body.to_bytes().to_vec()).unwrap(),
        server_fingerprint,
    })
}

// ---- tests ----

#[tokio::test]
async fn strict_refuses_a_client_without_a_certificate() {
    let ca = new_ca("gateway CA");
    let files = Files::new(&ca, &server_leaf(&ca));
    let tls = Arc::new(TlsListener::new(&files.config("STRICT")).unwrap());
    let (addr, mut accepted) = serve(tls).await;

    let err = get(addr, &ca.pem, None).await.err().expect("refused");
    assert!(!err.is_empty());
    let server_side = next(&mut accepted).await.unwrap_err();
    assert!(
        server_side.to_lowercase().contains("certificate"),
        "{server_side}"
    );
}

#[tokio::test]
async fn strict_refuses_certificates_from_another_ca() {
    let ca = new_ca("gateway CA");
    let files = Files::new(&ca, &server_leaf(&ca));
    let tls = Arc::new(TlsListener::new(&files.config("STRICT")).unwrap());
    let (addr, mut accepted) = serve(tls).await;

    let stranger = client_leaf(&new_ca("another CA"), "weather-agent", None);
    assert!(get(addr, &ca.pem, Some(&stranger)).await.is_err());
    let server_side = next(&mut accepted).await.unwrap_err();
    assert!(server_side.contains("UnknownIssuer"), "{server_side}");

    // An impostor CA with the same name: found by name, refused by signature.
    let impostor = client_leaf(&new_ca("gateway CA"), "weather-agent", None);
    assert!(get(addr, &ca.pem, Some(&impostor)).await.is_err());
    let server_side = next(&mut accepted).await.unwrap_err();
    assert!(server_side.contains("BadSignature"), "{server_side}");
}

#[tokio::test]
async fn a_spiffe_uri_san_is_the_principal() {
    let ca = new_ca("gateway CA");
    let files = Files::new(&ca, &server_leaf(&ca));
    let tls = Arc::new(TlsListener::new(&files.config("STRICT")).unwrap());
    let (addr, mut accepted) = serve(tls).await;

    let id = "spiffe://cluster.local/ns/agents/sa/weather-agent";
    let client = client_leaf(&ca, "weather-agent", Some(id));
    let answer = get(addr, &ca.pem, Some(&client)).await.unwrap();
    assert_eq!(answer.principal, id);
    let peer = next(&mut accepted).await.unwrap().unwrap();
    assert_eq!(
        peer,
        PeerIdentity {
            principal: id.to_string(),
            spiffe_id: Some(id.to_string()),
            subject: "CN=weather-agent,O=Agents".to_string(),
        }
    );
}

#[tokio::test]
async fn without_a_spiffe_id_the_subject_cn_is_the_principal() {
    let ca = new_ca("gateway CA");
    let files = Files::new(&ca, &server_leaf(&ca));
    let tls = Arc::new(TlsListener::new(&files.config("STRICT")).unwrap());
    let (addr, mut accepted) = serve(tls).await;

    let client = client_leaf(&ca, "weather-agent", None);
    let answer = get(addr, &ca.pem, Some(&client)).await.unwrap();
    assert_eq!(answer.principal, "weather-agent");
    let peer = next(&mut accepted).await.unwrap().unwrap();
    assert_eq!(peer.spiffe_id, None);
}

#[tokio::test]
async fn a_verified_certificate_that_names_nobody_usable_is_refused() {
    let ca = new_ca("gateway CA");
    let files = Files::new(&ca, &server_leaf(&ca));
    let tls = Arc::new(TlsListener::new(&files.config("PERMISSIVE")).unwrap());
    let (addr, mut accepted) = serve(tls).await;

    // Two SPIFFE IDs: which one is the principal would depend on the issuer's ordering.
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = ["spiffe://td/a", "spiffe://td/b"]
        .map(|u| SanType::URI(u.try_into().unwrap()))
        .to_vec();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let two = sign(&ca, params);
    assert!(get(addr, &ca.pem, Some(&two)).await.is_err());
    let server_side = next(&mut accepted).await.unwrap_err();
    assert!(server_side.contains("exactly one"), "{server_side}");

    // No SPIFFE ID and no CN (only an O).
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Agents");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let nameless = sign(&ca, params);
    assert!(get(addr, &ca.pem, Some(&nameless)).await.is_err());
    let server_side = next(&mut accepted).await.unwrap_err();
    assert!(server_side.contains("neither"), "{server_side}");
}

#[tokio::test]
async fn permissive_accepts_anonymous_clients_but_still_verifies_certificates() {
    let ca = new_ca("gateway CA");
    let files = Files::new(&ca, &server_leaf(&ca));
    let tls = Arc::new(TlsListener::new(&files.config("PERMISSIVE")).unwrap());
    let (addr, mut accepted) = serve(tls).await;

    let answer = get(addr, &ca.pem, None).await.unwrap();
    assert_eq!(answer.principal, "anonymous");
    assert_eq!(next(&mut accepted).await.unwrap(), None);

    let client = client_leaf(&ca, "weather-agent", None);
    assert_eq!(
        get(addr, &ca.pem, Some(&client)).await.unwrap().principal,
        "weather-agent"
    );
    next(&mut accepted).await.unwrap();

    let stranger = client_leaf(&new_ca("another CA"), "weather-agent", None);
    assert!(get(addr, &ca.pem, Some(&stranger)).await.is_err());
    assert!(next(&mut accepted).await.is_err());
}

/// How often the reload test's reloader reads the files.
const POLL: Duration = Duration::from_millis(100);

/// Lets `n` of the reloader's poll intervals pass, in paused time: the reloader ticks and reads the files
/// meanwhile (its blocking read holds the clock until it is done), and nothing else in flight waits on a
/// timer. Real time resumes before the next handshake: a paused clock runs ahead of socket I/O, so a
/// handshake's own timeout could fire early.
async fn polls(n: u32) {
    tokio::time::pause();
    tokio::time::sleep(POLL * n).await;
    tokio::time::resume();
}

#[tokio::test]
async fn changed_files_are_reloaded_and_invalid_ones_are_ignored() {
    let ca = new_ca("gateway CA");
    let first = server_leaf(&ca);
    let files = Files::new(&ca, &first);
    let tls = Arc::new(
        TlsListener::new(&files.config("STRICT"))
            .unwrap()
            .with_poll_interval(POLL),
    );
    let stop = CancellationToken::new();
    tls.spawn_reloader(stop.clone());
    let (addr, _accepted) = serve(tls).await;
    let client = client_leaf(&ca, "weather-agent", None);
    let seen = || async {
        get(addr, &ca.pem, Some(&client))
            .await
            .unwrap()
            .server_fingerprint
    };
    assert_eq!(seen().await, fingerprint(&first.der));

    // A certificate with someone else's key, then an unparseable key: both must leave the first pair
    // in service, however many times the reloader reads them.
    let second = server_leaf(&ca);
    std::fs::write(&files.cert, &second.cert).unwrap();
    polls(5).await;
    assert_eq!(seen().await, fingerprint(&first.der));
    std::fs::write(
        &files.key,
        "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    polls(5).await;
    assert_eq!(seen().await, fingerprint(&first.der));

    // Completing the pair makes it valid; new connections see it without a restart.
    std::fs::write(&files.key, &second.key).unwrap();
    polls(2).await;
    assert_eq!(seen().await, fingerprint(&second.der));

    // After `stop`, further changes are not picked up. The reloader, woken by `stop`, has run to its end
    // before the paused clock moves; then five poll intervals pass over the changed files.
    tokio::time::pause();
    stop.cancel();
    tokio::time::sleep(POLL).await;
    files.write_server(&first);
    tokio::time::sleep(POLL * 5).await;
    tokio::time::resume();
    assert_eq!(seen().await, fingerprint(&second.der));
}

#[test]
fn bad_files_get_errors_naming_the_setting_and_the_file() {
    let ca = new_ca("gateway CA");
    let files = Files::new(&ca, &server_leaf(&ca));
    let error = |edit: &dyn Fn(&mut Mtls)| {
        let mut cfg = files.config("STRICT");
        edit(&mut cfg);
        TlsListener::new(&cfg).err().expect("an error")
    };

    let missing = error(&|c| c.server_cert = "/nonexistent/server.pem".into());
    assert!(
        missing.contains("serverCert") && missing.contains("/nonexistent/server.pem"),
        "{missing}"
    );

    std::fs::write(files.ca.with_extension("txt"), "hello").unwrap();
    let not_pem = error(&|c| {
        c.certificate_authority = files.ca.with_extension("txt").to_str().unwrap().into()
    });
    assert!(
        not_pem.contains("certificateAuthority") && not_pem.contains("no certificate found"),
        "{not_pem}"
    );

    let other_key = KeyPair::generate().unwrap().serialize_pem();
    let key_path = files.key.with_extension("other");
    std::fs::write(&key_path, other_key).unwrap();
    let mismatch = error(&|c| c.server_key = key_path.to_str().unwrap().into());
    assert!(
        mismatch.contains("serverKey") && mismatch.contains("not a key pair"),
        "{mismatch}"
    );

    let no_key = error(&|c| c.server_key = c.server_cert.clone());
    assert!(no_key.contains("no private key found"), "{no_key}");

    let mode = error(&|c| c.mode = "LAX".into());
    assert!(mode.contains("STRICT or PERMISSIVE"), "{mode}");
}
