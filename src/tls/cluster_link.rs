//! Mutual TLS for the cluster links (`[cluster.tls]`): the acceptor the
//! cluster port uses, requiring a client certificate from the cluster CA, and
//! the connector nodes dial seeds with, presenting their own.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::certificates::{TlsError, read_chain, read_key};
use crate::config::ClusterTlsConfig;

/// Both ends of a node's encrypted links.
#[derive(Clone)]
pub(crate) struct ClusterLinkTls {
    /// For links peers open to this node.
    pub(crate) acceptor: TlsAcceptor,
    /// For links this node opens.
    pub(crate) connector: TlsConnector,
}

impl std::fmt::Debug for ClusterLinkTls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ClusterLinkTls")
    }
}

impl ClusterLinkTls {
    /// Reads the CA, the node's chain and key that `tls` names.
    pub(crate) fn load(tls: &ClusterTlsConfig) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in read_chain(&tls.ca_file)? {
            roots
                .add(certificate)
                .map_err(|error| TlsError::Refused(format!("cluster CA: {error}")))?;
        }
        let roots = Arc::new(roots);
        let chain = read_chain(&tls.certificate_chain_file)?;
        let key = read_key(&tls.private_key_file)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let refused = |error: rustls::Error| TlsError::Refused(error.to_string());

        let client_verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::clone(&roots),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|error| TlsError::Refused(error.to_string()))?;
        let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(refused)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(refused)?;
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(refused)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(refused)?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
        })
    }
}

/// The name a seed's certificate must carry: the host of `host:port`.
pub(crate) fn seed_server_name(seed: &str) -> Option<ServerName<'static>> {
    let host = seed.rsplit_once(':').map_or(seed, |(host, _port)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_named_by_their_host() {
        assert_eq!(
            seed_server_name("heyblue-0.heyblue-cluster:7100"),
            ServerName::try_from("heyblue-0.heyblue-cluster").ok()
        );
        assert_eq!(
            seed_server_name("127.0.0.2:7100"),
            ServerName::try_from("127.0.0.2").ok()
        );
        assert_eq!(
            seed_server_name("[::1]:7100"),
            ServerName::try_from("::1").ok()
        );
    }
}
