//! Records of sign-in with OpenID Connect providers: which provider identity
//! (issuer and subject) reaches which account.

use serde::{Deserialize, Serialize};

use crate::domain::AccountId;

/// The lookup key of a provider identity: a keyed hash of its issuer and
/// subject, so the stored rows name neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct IdentityKey(pub(crate) [u8; 32]);

/// A provider identity linked to an account, written once the account's
/// phone was verified (a first sign-in leaves nothing stored before that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OidcIdentity {
    /// Which identity.
    pub(crate) key: IdentityKey,
    /// The account it signs in to.
    pub(crate) account_id: AccountId,
    /// The configured provider it came through (`identity.oidc.id`), so the
    /// person's export can say which.
    pub(crate) provider_id: String,
    /// The email the provider gave, AEAD-sealed like phones; empty when it
    /// gave none.
    pub(crate) email_sealed: Vec<u8>,
    /// When it was linked (Unix ms).
    pub(crate) linked_at_ms: i64,
}

/// Outcome of linking an identity, which is conditional on it being free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OidcLinkOutcome {
    /// The identity now reaches the account (it may have already).
    Linked,
    /// Another account holds the identity; nothing was written.
    LinkedElsewhere(AccountId),
}
