//! The voucher key set in memory: Ed25519 keys, each named by its PASERK
//! `k4.pid`, exactly one of them active (signing), the others retired and kept
//! only to verify. Pure: times are passed in, nothing is read or written here.

use pasetors::keys::{AsymmetricKeyPair, AsymmetricPublicKey, AsymmetricSecretKey, Generate};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version4::V4;

use crate::domain::catalog::VOUCHER_LIFETIME_MAX_SECONDS;

/// How long a retired key keeps verifying: the longest voucher lifetime. A
/// token is signed while its key is active and expires at most this long after
/// it was signed, so no token a retired key signed outlives this bound.
pub(crate) const RETIRED_KEY_KEPT_MS: i64 = VOUCHER_LIFETIME_MAX_SECONDS as i64 * 1_000;

/// One Ed25519 key of the set.
pub(crate) struct VoucherKey {
    /// Its PASERK id (`k4.pid.…`), written in every token's footer as `kid`:
    /// derived from the public key, so a verifier can check it and any PASETO
    /// library knows the format.
    pub(crate) kid: String,
    /// Signs tokens while the key is active. Never logged: `Debug` hides it.
    pub(crate) secret: AsymmetricSecretKey<V4>,
    /// Verifies tokens; published at `GET /v1/rewards/keys`.
    pub(crate) public: AsymmetricPublicKey<V4>,
    /// When the key was generated (Unix ms).
    pub(crate) created_at_ms: i64,
    /// When a rotation replaced it (Unix ms); `None` for the active key.
    pub(crate) retired_at_ms: Option<i64>,
}

impl std::fmt::Debug for VoucherKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("VoucherKey")
            .field("kid", &self.kid)
            .field("created_at_ms", &self.created_at_ms)
            .field("retired_at_ms", &self.retired_at_ms)
            .finish_non_exhaustive()
    }
}

impl VoucherKey {
    /// A fresh random key, active from `now_ms`.
    pub(crate) fn generate(now_ms: i64) -> Result<Self, KeySetError> {
        let pair = AsymmetricKeyPair::<V4>::generate().map_err(|_| KeySetError::Generate)?;
        Ok(Self::from_parts(pair.secret, pair.public, now_ms, None))
    }

    /// A key from its secret half (PASERK `k4.secret`, which holds the public
    /// half too) and its times.
    pub(crate) fn from_secret(
        secret: AsymmetricSecretKey<V4>,
        created_at_ms: i64,
        retired_at_ms: Option<i64>,
    ) -> Result<Self, KeySetError> {
        let public =
            AsymmetricPublicKey::<V4>::try_from(&secret).map_err(|_| KeySetError::BadSecret)?;
        Ok(Self::from_parts(
            secret,
            public,
            created_at_ms,
            retired_at_ms,
        ))
    }

    fn from_parts(
        secret: AsymmetricSecretKey<V4>,
        public: AsymmetricPublicKey<V4>,
        created_at_ms: i64,
        retired_at_ms: Option<i64>,
    ) -> Self {
        Self {
            kid: paserk_id(&public),
            secret,
            public,
            created_at_ms,
            retired_at_ms,
        }
    }

    /// Whether tokens it signed may still be unexpired at `now_ms`.
    pub(crate) fn verifies_at(&self, now_ms: i64) -> bool {
        self.retired_at_ms
            .is_none_or(|retired_at_ms| now_ms < retired_at_ms.saturating_add(RETIRED_KEY_KEPT_MS))
    }
}

/// The PASERK id (`k4.pid.…`) of a public key.
pub(crate) fn paserk_id(public: &AsymmetricPublicKey<V4>) -> String {
    paserk_text(&Id::from(public))
}

/// A PASERK value as text.
pub(crate) fn paserk_text(value: &impl FormatAsPaserk) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail; base64 of a fixed-size key neither.
    if value.fmt(&mut text).is_err() {
        text.clear();
    }
    text
}

/// Why a key set cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeySetError {
    /// The system random source failed.
    #[error("cannot generate an Ed25519 key")]
    Generate,
    /// A secret key is not a valid PASERK `k4.secret`.
    #[error("a secret key is not a valid k4.secret")]
    BadSecret,
    /// A stored `kid` is not the PASERK id of its key.
    #[error("key {kid} is stored under an id that is not its PASERK k4.pid")]
    WrongKid {
        /// The stored id.
        kid: String,
    },
    /// Two keys share an id.
    #[error("key {kid} is listed twice")]
    DuplicateKid {
        /// The repeated id.
        kid: String,
    },
    /// Not exactly one key is active.
    #[error("{active} keys are active; exactly one must be (retired_at_ms null)")]
    ActiveCount {
        /// How many are.
        active: usize,
    },
}

/// All voucher keys: the active one signs, every one that can still verify
/// verifies.
#[derive(Debug)]
pub(crate) struct KeySet {
    /// Oldest first; exactly one has no `retired_at_ms`.
    keys: Vec<VoucherKey>,
}

/// What a rotation changed, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new active key.
    pub new_kid: String,
    /// The key it replaced, now retired but still verifying.
    pub retired_kid: Option<String>,
    /// Keys retired longer than the longest voucher lifetime, now removed.
    pub dropped_kids: Vec<String>,
}

impl KeySet {
    /// A set of one new active key.
    pub(crate) fn generate(now_ms: i64) -> Result<Self, KeySetError> {
        Ok(Self {
            keys: vec![VoucherKey::generate(now_ms)?],
        })
    }

    /// A set of these keys, checked: ids unique, exactly one active.
    pub(crate) fn from_keys(keys: Vec<VoucherKey>) -> Result<Self, KeySetError> {
        for (index, key) in keys.iter().enumerate() {
            if keys[..index].iter().any(|earlier| earlier.kid == key.kid) {
                return Err(KeySetError::DuplicateKid {
                    kid: key.kid.clone(),
                });
            }
        }
        let active = keys
            .iter()
            .filter(|key| key.retired_at_ms.is_none())
            .count();
        if active != 1 {
            return Err(KeySetError::ActiveCount { active });
        }
        Ok(Self { keys })
    }

    /// Every key, oldest first.
    pub(crate) fn keys(&self) -> &[VoucherKey] {
        &self.keys
    }

    /// The key that signs.
    pub(crate) fn active(&self) -> &VoucherKey {
        debug_assert_eq!(
            self.keys
                .iter()
                .filter(|key| key.retired_at_ms.is_none())
                .count(),
            1
        );
        self.keys
            .iter()
            .rev()
            .find(|key| key.retired_at_ms.is_none())
            .unwrap_or_else(|| unreachable!("a key set is built with one active key"))
    }

    /// The key named `kid`, if it can still verify at `now_ms`.
    pub(crate) fn verifying(&self, kid: &str, now_ms: i64) -> Option<&VoucherKey> {
        self.keys
            .iter()
            .find(|key| key.kid == kid && key.verifies_at(now_ms))
    }

    /// The keys that can still verify at `now_ms`, oldest first.
    pub(crate) fn published(&self, now_ms: i64) -> impl Iterator<Item = &VoucherKey> {
        self.keys.iter().filter(move |key| key.verifies_at(now_ms))
    }

    /// Makes a new key active at `now_ms`: the old active key is retired and
    /// kept, and keys retired longer than [`RETIRED_KEY_KEPT_MS`] are dropped.
    pub(crate) fn rotate(&mut self, now_ms: i64) -> Result<Rotation, KeySetError> {
        let new_key = VoucherKey::generate(now_ms)?;
        let mut retired_kid = None;
        for key in &mut self.keys {
            if key.retired_at_ms.is_none() {
                key.retired_at_ms = Some(now_ms);
                retired_kid = Some(key.kid.clone());
            }
        }
        let mut dropped_kids = Vec::new();
        self.keys.retain(|key| {
            let keep = key.verifies_at(now_ms);
            if !keep {
                dropped_kids.push(key.kid.clone());
            }
            keep
        });
        let new_kid = new_key.kid.clone();
        self.keys.push(new_key);
        Ok(Rotation {
            new_kid,
            retired_kid,
            dropped_kids,
        })
    }
}
