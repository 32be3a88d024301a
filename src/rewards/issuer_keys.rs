//! Issuers' API keys: an admin creates one for a retailer or a municipality
//! (the key is shown once: `hbk_` and 256 random bits, base64url; only its
//! SHA-256 is kept), lists and revokes them; the counter endpoints find the
//! issuer behind a key that is not revoked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use uuid::Uuid;

use super::entries::{CatalogEntry, issuer_of};
use super::{Catalog, CatalogError};
use crate::domain::catalog::{FieldError, Municipality, OfferKind, Retailer};
use crate::domain::shown_text;
use crate::identity::keys::token_hash;
use crate::store::IssuerKey;

/// Prefix of issuer API keys.
const KEY_PREFIX: &str = "hbk_";
/// Longest text accepted as a key before hashing (prefix + 43 base64 chars).
const MAX_KEY_CHARS: usize = 64;
/// Longest label of a key, in characters.
const LABEL_MAX_CHARS: usize = 80;
/// Most keys one issuer may hold (revoked ones included): a bound on what an
/// admin mistake or script can grow.
const KEYS_PER_ISSUER_MAX: usize = 100;

/// A key just created: the stored record and the secret, shown this once.
#[derive(Debug, Clone)]
pub(crate) struct CreatedIssuerKey {
    /// What is stored.
    pub(crate) key: IssuerKey,
    /// The key itself.
    pub(crate) secret: String,
}

impl Catalog {
    /// Creates a key for the retailer (`kind` offer) or municipality (`kind`
    /// scheme) `issuer_id`, labelled `label`.
    pub(crate) async fn create_issuer_key(
        &self,
        kind: OfferKind,
        issuer_id: Uuid,
        label: &str,
    ) -> Result<CreatedIssuerKey, CatalogError> {
        let label = checked_label(label)?;
        self.known_issuer(kind, issuer_id).await?;
        if self.store.issuer_keys_of(issuer_id).await?.len() >= KEYS_PER_ISSUER_MAX {
            return Err(CatalogError::Invalid(FieldError::new(
                "label",
                format!("an issuer holds at most {KEYS_PER_ISSUER_MAX} keys"),
            )));
        }
        let secret_bytes: [u8; 32] = rand::rng().random();
        let secret = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret_bytes));
        let key = IssuerKey {
            key_id: Uuid::new_v4(),
            kind,
            issuer_id,
            label,
            secret_hash: token_hash(&secret),
            created_at_ms: self.clock.now_ms(),
            revoked_at_ms: None,
        };
        self.store.insert_issuer_key(&key).await?;
        Ok(CreatedIssuerKey { key, secret })
    }

    /// The issuer's keys, oldest first.
    pub(crate) async fn issuer_keys(
        &self,
        kind: OfferKind,
        issuer_id: Uuid,
    ) -> Result<Vec<IssuerKey>, CatalogError> {
        self.known_issuer(kind, issuer_id).await?;
        Ok(self.store.issuer_keys_of(issuer_id).await?)
    }

    /// Revokes one of the issuer's keys (again: answers it as it is).
    pub(crate) async fn revoke_issuer_key(
        &self,
        kind: OfferKind,
        issuer_id: Uuid,
        key_id: Uuid,
    ) -> Result<IssuerKey, CatalogError> {
        self.known_issuer(kind, issuer_id).await?;
        self.store
            .revoke_issuer_key(issuer_id, key_id, self.clock.now_ms())
            .await?
            .ok_or(CatalogError::NotFound {
                code: "api_key_not_found",
                what: "API key of this issuer",
            })
    }

    /// The key behind `secret`, if it exists and is not revoked.
    pub(crate) async fn issuer_key_for(
        &self,
        secret: &str,
    ) -> Result<Option<IssuerKey>, CatalogError> {
        if !secret.starts_with(KEY_PREFIX) || secret.len() > MAX_KEY_CHARS {
            return Ok(None);
        }
        Ok(self
            .store
            .issuer_key_by_hash(&token_hash(secret))
            .await?
            .filter(|key| key.revoked_at_ms.is_none()))
    }

    /// Fails with the issuer's 404 unless it exists.
    async fn known_issuer(&self, kind: OfferKind, issuer_id: Uuid) -> Result<(), CatalogError> {
        if issuer_of(self.store.as_ref(), kind, issuer_id)
            .await?
            .is_none()
        {
            return Err(match kind {
                OfferKind::Offer => CatalogError::NotFound {
                    code: Retailer::NOT_FOUND_CODE,
                    what: Retailer::WHAT,
                },
                OfferKind::Scheme => CatalogError::NotFound {
                    code: Municipality::NOT_FOUND_CODE,
                    what: Municipality::WHAT,
                },
            });
        }
        Ok(())
    }
}

/// A key's label: one line others do not read, but admins do — the same
/// checks as shown text, at most [`LABEL_MAX_CHARS`].
fn checked_label(label: &str) -> Result<String, FieldError> {
    let length = label.trim().chars().count();
    if length == 0 || length > LABEL_MAX_CHARS {
        return Err(FieldError::new(
            "label",
            format!("must be 1 to {LABEL_MAX_CHARS} characters"),
        ));
    }
    shown_text::display_name(label).map_err(|error| FieldError::new("label", error.message()))
}
