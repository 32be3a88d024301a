//! Reading a certificate chain and its key into a rustls server configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

/// Why the certificate files could not be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is missing, unreadable, or not PEM of the expected kind.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("the certificate and key cannot be served: {0}")]
    Refused(String),
}

/// What the listener speaks after the handshake: HTTP/1.1 (WebSocket
/// upgrades included).
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// A server configuration serving the chain and key `tls` names.
pub(super) fn server_config(tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = read_chain(&tls.certificate_chain_file)?;
    let key = read_key(&tls.private_key_file)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Refused(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| TlsError::Refused(error.to_string()))?;
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// The certificates of the PEM file at `path` (at least one).
pub(super) fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|error| file_error(path, &error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| file_error(path, &error.to_string()))?;
    if chain.is_empty() {
        return Err(file_error(path, "holds no certificate"));
    }
    Ok(chain)
}

/// The private key of the PEM file at `path`.
pub(super) fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| file_error(path, &error.to_string()))
}

fn file_error(path: &Path, problem: &str) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        problem: problem.to_owned(),
    }
}
