//! The TLS acceptor new connections use, replaced when the certificate files
//! change (checked every `reload_check_seconds`) or on SIGHUP. A pair that
//! fails to load is logged and counted, and the previous one stays in use:
//! a renewal written half way never takes the listener down.

use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::certificates::{TlsError, server_config};
use crate::config::TlsConfig;

/// When each file was last changed, and its length: a renewal changes both.
type FileStamp = Option<(SystemTime, u64)>;

/// The server configuration new connections get, and where it came from.
#[derive(Debug)]
pub(crate) struct ReloadingAcceptor {
    /// The files and how often to look at them.
    settings: TlsConfig,
    /// What new handshakes use.
    current: RwLock<Arc<rustls::ServerConfig>>,
    /// The files' stamps when `current` was read.
    loaded_from: RwLock<(FileStamp, FileStamp)>,
}

impl ReloadingAcceptor {
    /// Reads the pair `settings` names; an error here stops the server from
    /// starting.
    pub(crate) fn load(settings: &TlsConfig) -> Result<Arc<Self>, TlsError> {
        let stamps = stamps_of(settings);
        let config = server_config(settings)?;
        Ok(Arc::new(Self {
            settings: settings.clone(),
            current: RwLock::new(config),
            loaded_from: RwLock::new(stamps),
        }))
    }

    /// An acceptor with the current certificate.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        let config = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        TlsAcceptor::from(config)
    }

    /// Reads the pair again; on failure the current one stays.
    fn reload(&self, why: &'static str) {
        let stamps = stamps_of(&self.settings);
        match server_config(&self.settings) {
            Ok(config) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = config;
                *self
                    .loaded_from
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = stamps;
                crate::metrics::tls_certificate_reloaded(true);
                tracing::info!(why, "TLS certificate reloaded");
            }
            Err(error) => {
                // Not retried until the files change again (or SIGHUP).
                *self
                    .loaded_from
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = stamps;
                crate::metrics::tls_certificate_reloaded(false);
                tracing::error!(why, %error, "TLS certificate not reloaded; the previous one stays");
            }
        }
    }

    /// Reloads when either file changed since it was last read.
    fn reload_if_changed(&self) {
        let stamps = stamps_of(&self.settings);
        let changed = *self
            .loaded_from
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            != stamps;
        if changed {
            self.reload("the certificate files changed");
        }
    }
}

fn stamps_of(settings: &TlsConfig) -> (FileStamp, FileStamp) {
    (
        stamp_of(&settings.certificate_chain_file),
        stamp_of(&settings.private_key_file),
    )
}

fn stamp_of(path: &Path) -> FileStamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// Keeps `acceptor` in step with its files until `stop` is cancelled.
pub(crate) async fn watch_certificate_files(
    acceptor: Arc<ReloadingAcceptor>,
    stop: CancellationToken,
) {
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(hangups) => Some(hangups),
        Err(error) => {
            tracing::warn!(%error, "SIGHUP cannot be watched; TLS certificates reload on file changes only");
            None
        }
    };
    let check_every = acceptor.settings.reload_check_seconds;
    let mut checks = tokio::time::interval(Duration::from_secs(check_every.max(1)));
    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            Some(()) = async {
                match hangups.as_mut() {
                    Some(hangups) => hangups.recv().await,
                    None => std::future::pending().await,
                }
            } => acceptor.reload("SIGHUP"),
            _ = checks.tick(), if check_every > 0 => acceptor.reload_if_changed(),
        }
    }
}
