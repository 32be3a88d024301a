//! Records the store keeps. Phone numbers appear only sealed (encrypted) or as a
//! keyed hash; tokens and codes only as hashes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{AccountId, Role};

/// Keyed hash (HMAC-SHA256) of an E.164 phone number: the lookup key for accounts,
/// challenges and the roster, useless without the server's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct PhoneHash(pub(crate) [u8; 32]);

/// SHA-256 of a secret (token or code); the secret itself is never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct SecretHash(pub(crate) [u8; 32]);

/// One person's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Account {
    /// Stable id.
    pub(crate) id: AccountId,
    /// Lookup key of the phone that signs in.
    pub(crate) phone_hash: PhoneHash,
    /// The phone number, AEAD-encrypted (nonce followed by ciphertext).
    pub(crate) phone_sealed: Vec<u8>,
    /// Current role.
    pub(crate) role: Role,
    /// Creation time (Unix ms).
    pub(crate) created_at_ms: i64,
}

/// Outcome of creating an account, which is conditional on the phone being free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CreateAccountOutcome {
    /// The account was written.
    Created,
    /// The phone already has this account; nothing was written.
    PhoneTaken(Account),
}

/// The two kinds of bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenKind {
    /// Short-lived, authorises requests and sockets.
    Access,
    /// Long-lived, single use, trades for a new pair.
    Refresh,
}

/// A sign-in: the chain of tokens issued from one code verification. Revoking it
/// revokes every token it issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenFamily {
    /// Random id, carried by every token of the family.
    pub(crate) family_id: Uuid,
    /// The signed-in account.
    pub(crate) account_id: AccountId,
    /// When the code was verified (Unix ms).
    pub(crate) created_at_ms: i64,
    /// Set on logout, refresh-token reuse, or roster removal.
    pub(crate) revoked_at_ms: Option<i64>,
}

/// One issued token, stored under the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    /// SHA-256 of the token text.
    pub(crate) token_hash: SecretHash,
    /// Access or refresh.
    pub(crate) kind: TokenKind,
    /// The family it belongs to.
    pub(crate) family_id: Uuid,
    /// The signed-in account.
    pub(crate) account_id: AccountId,
    /// Issue time (Unix ms).
    pub(crate) issued_at_ms: i64,
    /// Expiry (Unix ms); backends may drop the record after it.
    pub(crate) expires_at_ms: i64,
    /// For refresh tokens: when it was traded in (single use).
    pub(crate) consumed_at_ms: Option<i64>,
}

/// Outcome of trading in a refresh token, which is a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshConsumption {
    /// This call consumed it; the record as it was before.
    Consumed(TokenRecord),
    /// It had been consumed before: a reuse, which revokes the family.
    AlreadyConsumed(TokenRecord),
    /// No such refresh token.
    Unknown,
}

/// The one-time-code state of one phone, versioned for compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OtpChallenge {
    /// Hash of the outstanding code; `None` once used up or voided.
    pub(crate) code_hash: Option<SecretHash>,
    /// When the outstanding code expires (Unix ms).
    pub(crate) expires_at_ms: i64,
    /// Wrong codes entered against the outstanding code.
    pub(crate) failed_attempts: u32,
    /// When codes were sent in the last hour (Unix ms), for the per-phone limits.
    pub(crate) recent_sends_ms: Vec<i64>,
    /// Incremented by every write; a write names the version it read.
    pub(crate) version: u64,
}

/// One officer on the imported roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RosterEntry {
    /// Lookup key of the officer's phone.
    pub(crate) phone_hash: PhoneHash,
    /// The phone, AEAD-encrypted.
    pub(crate) phone_sealed: Vec<u8>,
    /// Name shown to citizens.
    pub(crate) display_name: String,
    /// Badge number.
    pub(crate) badge: String,
    /// Department or agency.
    pub(crate) department: String,
    /// Last import that touched the entry (Unix ms).
    pub(crate) updated_at_ms: i64,
}

/// Outcome of appending a profile event, which is conditional on its sequence
/// number being free (optimistic concurrency on the event log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendOutcome {
    /// The event was written.
    Appended,
    /// Another event already has this sequence number; re-read and retry.
    SeqTaken,
}
