//! TLS on the public listener (`[http.tls]`), with certificates made by the
//! test: a client trusting the test CA signs in over HTTPS and opens a secure
//! WebSocket; a client that does not trust it, or speaks plain HTTP, gets
//! nothing; a renewed certificate written over the files is served to new
//! connections without a restart; the redirect listener sends plain HTTP to
//! HTTPS.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use futures::StreamExt;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A certificate authority made for one test.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes a certificate for `localhost` signed by this CA, and its key.
    fn issue_into(&self, chain_file: &Path, key_file: &Path) {
        let key = KeyPair::generate().expect("server key");
        let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server params");
        let certificate = params
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        std::fs::write(chain_file, certificate.pem()).expect("write chain");
        std::fs::write(key_file, key.serialize_pem()).expect("write key");
    }

    /// An HTTPS client trusting only this CA.
    fn client(&self) -> reqwest::Client {
        let certificate = reqwest::Certificate::from_pem(self.pem().as_bytes()).expect("CA pem");
        reqwest::Client::builder()
            .tls_certs_only([certificate])
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    }

    /// A rustls client configuration trusting only this CA.
    fn rustls_client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.issuer.der().clone()).expect("CA root");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

struct Files {
    chain: PathBuf,
    key: PathBuf,
}

fn tls_section(files: &Files, extra: &str) -> String {
    format!(
        "[http.tls]\ncertificate_chain_file = \"{}\"\nprivate_key_file = \"{}\"\nreload_check_seconds = 1\n{extra}",
        files.chain.display(),
        files.key.display()
    )
}

/// Starts a TLS server with a certificate of `ca`; its `http` client trusts `ca`.
async fn start_tls_server(root: &Path, ca: &TestCa, extra: &str) -> (TestServer, Files) {
    let files = Files {
        chain: root.join("fullchain.pem"),
        key: root.join("privkey.pem"),
    };
    ca.issue_into(&files.chain, &files.key);
    let mut server = TestServer::launch(root, &tls_section(&files, extra)).await;
    server.base_url = server
        .base_url
        .replace("http://127.0.0.1", "https://localhost");
    server.http = ca.client();
    server.wait_ready().await;
    (server, files)
}

fn port_of(server: &TestServer) -> u16 {
    server
        .base_url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("port in base url")
}

#[tokio::test]
async fn a_client_trusting_the_ca_signs_in_and_opens_a_secure_websocket() {
    let root = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Hey Blue! test CA");
    let (server, _files) = start_tls_server(root.path(), &ca, "").await;

    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000",
        "HSTS on every answer over TLS"
    );
    let session = server.sign_in("+12125550142").await;
    let token = session["access_token"].as_str().expect("token");

    let port = port_of(&server);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(ca.rustls_client());
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let mut request = format!("wss://localhost:{port}/v1/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::client_async(request, tls)
        .await
        .expect("secure WebSocket upgrade");
    let first = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a frame in time")
        .expect("a frame")
        .expect("a readable frame");
    let Message::Text(text) = first else {
        panic!("expected a JSON welcome, got {first:?}");
    };
    let welcome: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(welcome["t"], "welcome", "{welcome}");
    server.stop().await;
}

#[tokio::test]
async fn clients_that_do_not_trust_the_ca_or_speak_plain_http_get_nothing() {
    let root = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Hey Blue! test CA");
    let (server, _files) = start_tls_server(root.path(), &ca, "").await;

    let stranger = TestCa::new("Another CA").client();
    let refused = stranger.get(server.url("/healthz")).send().await;
    assert!(
        refused.is_err(),
        "a client not trusting the CA must fail: {refused:?}"
    );

    let plain_url = server.url("/healthz").replace("https://", "http://");
    let plain = reqwest::Client::new().get(plain_url).send().await;
    assert!(
        plain.is_err(),
        "plain HTTP on the TLS port must fail: {plain:?}"
    );

    let metrics = server.scrape_metrics().await;
    assert!(
        metrics.lines().any(|line| line
            .starts_with("heyblue_http_connections_closed_total{reason=\"tls_handshake_failed\"}")),
        "failed handshakes are counted:\n{metrics}"
    );
    assert_eq!(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the trusted client still gets in"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_renewed_certificate_is_served_to_new_connections_without_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let first_ca = TestCa::new("First CA");
    let (server, files) = start_tls_server(root.path(), &first_ca, "").await;
    let renewed_ca = TestCa::new("Renewed CA");

    // A half-written renewal (a key without its certificate) is refused and
    // the served certificate stays.
    std::fs::write(&files.chain, "not a certificate").unwrap();
    let served_on = |client: reqwest::Client, url: String| async move {
        // A fresh connection per try: open ones keep their certificate.
        client
            .get(url)
            .send()
            .await
            .map(|response| response.status().as_u16())
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = server.scrape_metrics().await;
        if metrics.contains("heyblue_tls_certificate_reloads_total{outcome=\"error\"}") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broken renewal was never read"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        served_on(first_ca.client(), server.url("/healthz"))
            .await
            .ok(),
        Some(200),
        "the previous certificate stays after a failed reload"
    );

    renewed_ca.issue_into(&files.chain, &files.key);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if served_on(renewed_ca.client(), server.url("/healthz"))
            .await
            .ok()
            == Some(200)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renewed certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served_on(first_ca.client(), server.url("/healthz"))
            .await
            .is_err(),
        "new connections no longer get the old certificate"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_redirect_listener_sends_plain_http_to_https() {
    let root = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Hey Blue! test CA");
    // A free port for the redirect listener.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let redirect: SocketAddr = probe.local_addr().unwrap();
    drop(probe);
    let (server, _files) = start_tls_server(
        root.path(),
        &ca,
        &format!("redirect_listen = \"{redirect}\"\n"),
    )
    .await;
    let port = port_of(&server);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = client
        .get(format!(
            "http://localhost:{}/v1/route?zip=10001",
            redirect.port()
        ))
        .send()
        .await
        .expect("the redirect listener answers");
    assert_eq!(answer.status(), 308);
    assert_eq!(
        answer.headers()["location"],
        format!("https://localhost:{port}/v1/route?zip=10001").as_str()
    );
    server.stop().await;
}
