//! The live voucher signer that handlers share: the key set loaded from the
//! key file, swapped whole when a background task sees the file changed (a
//! `heyblue keys rotate` here or on another node of a shared mount), so
//! running servers pick up a rotation without a restart. Checking is one
//! `stat` every `rewards.voucher_keys_reload_seconds`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::key_file::{self, FileStamp, KeyFileError};
use super::key_set::{KeySet, VoucherKey};
use super::token::{self, Verification};
use crate::domain::voucher::Voucher;

/// Signs voucher tokens and verifies them with the current key set.
#[derive(Debug, Clone)]
pub(crate) struct VoucherSigner {
    /// Shared by every clone.
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The key file.
    path: PathBuf,
    /// The key set in force; replaced whole on reload, so a reader holds one
    /// consistent set.
    keys: RwLock<Arc<KeySet>>,
    /// Which version of the file `keys` came from.
    stamp: Mutex<FileStamp>,
}

/// A key as published to verifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishedKey {
    /// PASERK `k4.pid`, as in token footers.
    pub(crate) kid: String,
    /// The 32 raw Ed25519 public key bytes.
    pub(crate) public_key: [u8; 32],
    /// Generation time (Unix ms).
    pub(crate) created_at_ms: i64,
    /// Retirement time (Unix ms), once retired.
    pub(crate) retired_at_ms: Option<i64>,
}

impl VoucherSigner {
    /// The signer of the key file at `path`, generated there (0600) if absent.
    pub(crate) fn open(path: &Path, now_ms: i64) -> Result<Self, KeyFileError> {
        let (keys, stamp) = key_file::read_or_generate(path, now_ms)?;
        Ok(Self::from_parts(path.to_owned(), keys, stamp))
    }

    fn from_parts(path: PathBuf, keys: KeySet, stamp: FileStamp) -> Self {
        Self {
            inner: Arc::new(Inner {
                path,
                keys: RwLock::new(Arc::new(keys)),
                stamp: Mutex::new(stamp),
            }),
        }
    }

    /// The key set in force.
    fn keys(&self) -> Arc<KeySet> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The token of `voucher`, signed with the active key.
    pub(crate) fn sign(&self, voucher: &Voucher) -> String {
        token::sign(&self.keys(), voucher)
    }

    /// Checks a token presented at an issuer's counter.
    pub(crate) fn verify(&self, token: &str, now_ms: i64) -> Verification {
        token::verify(&self.keys(), token, now_ms)
    }

    /// The keys that can still verify at `now_ms`, oldest first.
    pub(crate) fn published(&self, now_ms: i64) -> Vec<PublishedKey> {
        self.keys()
            .published(now_ms)
            .map(PublishedKey::of)
            .collect()
    }

    /// Reloads the key file if it changed since it was read; `true` if it did.
    /// On an error the keys in force stay.
    pub(crate) fn reload_if_changed(&self) -> Result<bool, KeyFileError> {
        let now = key_file::stamp(&self.inner.path)?;
        let mut stamp = self
            .inner
            .stamp
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *stamp == now {
            return Ok(false);
        }
        let Some((keys, read_stamp)) = key_file::read(&self.inner.path)? else {
            return Err(KeyFileError::Io {
                path: self.inner.path.display().to_string(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        };
        let active = keys.active().kid.clone();
        *self
            .inner
            .keys
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        *stamp = read_stamp;
        tracing::info!(path = %self.inner.path.display(), active_kid = %active, "voucher keys reloaded");
        Ok(true)
    }
}

impl PublishedKey {
    fn of(key: &VoucherKey) -> Self {
        let mut public_key = [0_u8; 32];
        public_key.copy_from_slice(key.public.as_bytes());
        Self {
            kid: key.kid.clone(),
            public_key,
            created_at_ms: key.created_at_ms,
            retired_at_ms: key.retired_at_ms,
        }
    }
}

/// Reloads the key file whenever it changes, checking every `interval`,
/// until `stop` is cancelled.
pub(crate) async fn watch_key_file(
    signer: VoucherSigner,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = signer.reload_if_changed() {
            tracing::warn!(%error, "voucher keys not reloaded; the keys in force stay");
        }
    }
}
