//! The `[http.tls]` section: HTTPS and secure WebSockets on `listen`, with
//! certificates read from PEM files and reloaded when they change.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// TLS on the public listener.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM: the server's certificate first, then the
    /// intermediates (a `fullchain.pem`).
    pub certificate_chain_file: PathBuf,
    /// The private key of the first certificate, PEM (PKCS#8, PKCS#1 or SEC1).
    pub private_key_file: PathBuf,
    /// Seconds between checks of the two files: when either changed (a
    /// renewal), the pair is read again and new connections get it; open
    /// ones keep theirs. 0: only on SIGHUP, which always reloads.
    #[serde(default = "default_reload_check_seconds")]
    pub reload_check_seconds: u64,
    /// `Strict-Transport-Security: max-age=` on every answer, telling
    /// browsers to use HTTPS only. 0: no header.
    #[serde(default = "default_hsts_max_age_seconds")]
    pub hsts_max_age_seconds: u64,
    /// A plain HTTP listener answering every request with a permanent
    /// redirect (308) to the same path over HTTPS; none by default.
    #[serde(default)]
    pub redirect_listen: Option<SocketAddr>,
}

fn default_reload_check_seconds() -> u64 {
    60
}

fn default_hsts_max_age_seconds() -> u64 {
    // A year: what the HSTS preload list asks for.
    31_536_000
}

impl TlsConfig {
    /// The redirect listener must not take the TLS listener's address.
    pub(super) fn validate(&self, listen: SocketAddr) -> Result<(), ConfigError> {
        if self
            .redirect_listen
            .is_some_and(|redirect| redirect.port() != 0 && redirect == listen)
        {
            return Err(invalid(
                "http.tls.redirect_listen",
                "must differ from `listen`, which serves HTTPS",
            ));
        }
        Ok(())
    }
}
