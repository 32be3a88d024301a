//! Records the store keeps. Phone numbers appear only sealed (encrypted) or as a
//! keyed hash; tokens and codes only as hashes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::catalog::{OfferKind, RewardOffer};
use crate::domain::connection::RewardWithheld;
use crate::domain::trophies::TrophyId;
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
    /// When an administrator disabled the account (Unix ms); `None` while it
    /// may sign in. Absent in records written before accounts could be disabled.
    #[serde(default)]
    pub(crate) disabled_at_ms: Option<i64>,
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

/// What checking an access token reads: the token, its family and its account,
/// read together (each of the last two `None` when missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessGrant {
    /// The token under the hash.
    pub(crate) token: TokenRecord,
    /// The token's sign-in.
    pub(crate) family: Option<TokenFamily>,
    /// The token's account.
    pub(crate) account: Option<Account>,
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

/// How long a phone's one-time-code state outlives its code (one day, past
/// the one-hour window of the per-phone send limit); both stores then drop it.
pub(crate) const OTP_RETENTION_MS: i64 = 86_400_000;

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

/// One person's side of an established connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConnectionParty {
    /// The person.
    pub(crate) account_id: AccountId,
    /// Points credited to them for it (0 when withheld).
    pub(crate) points: i64,
    /// Why none were credited, when none were.
    pub(crate) withheld: Option<RewardWithheld>,
}

/// An established connection: written once, keyed by the request id. Holds no
/// precise position: only the resolution-7 cell and the ZIP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConnectionRecord {
    /// The connection id, which is the id of the request it came from (the
    /// idempotency key of everything the connection writes).
    pub(crate) connection_id: Uuid,
    /// The citizen who asked.
    pub(crate) citizen: ConnectionParty,
    /// The officer who accepted.
    pub(crate) officer: ConnectionParty,
    /// When the officer accepted (Unix ms).
    pub(crate) established_at_ms: i64,
    /// In person or virtual (records written before modes existed are in person).
    #[serde(default)]
    pub(crate) mode: crate::domain::connection::ConnectionMode,
    /// The resolution-7 H3 cell of the officer's position, for reports.
    pub(crate) cell_r7: Option<u64>,
    /// The ZIP of the officer's position, when there is one within reach.
    pub(crate) zip: Option<String>,
}

impl ConnectionRecord {
    /// The parties, citizen first.
    pub(crate) fn parties(&self) -> [&ConnectionParty; 2] {
        [&self.citizen, &self.officer]
    }

    /// `account_id`'s side, if they took part.
    pub(crate) fn party(&self, account_id: AccountId) -> Option<&ConnectionParty> {
        self.parties()
            .into_iter()
            .find(|party| party.account_id == account_id)
    }

    /// The other side of `account_id`'s connection.
    pub(crate) fn peer_of(&self, account_id: AccountId) -> Option<&ConnectionParty> {
        if self.citizen.account_id == account_id {
            Some(&self.officer)
        } else if self.officer.account_id == account_id {
            Some(&self.citizen)
        } else {
            None
        }
    }
}

/// Outcome of inserting a connection record, which is conditional on its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InsertConnectionOutcome {
    /// This call wrote it (and marked its credits as not yet complete).
    Inserted,
    /// A record with this id exists already; it is returned and nothing changed.
    Exists(Box<ConnectionRecord>),
}

/// A position in a person's connection list (newest first): pages continue
/// strictly before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionCursor {
    /// `established_at_ms` of the last connection of the previous page.
    pub(crate) established_at_ms: i64,
    /// Its id (ties at one millisecond are ordered by id).
    pub(crate) connection_id: Uuid,
}

/// A connection's claim on the reward of a pair: held by one connection at a
/// time, and taken only when the holder's reward is at least the cooldown old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PairRewardClaim {
    /// One person of the pair (either order).
    pub(crate) first: AccountId,
    /// The other person.
    pub(crate) second: AccountId,
    /// The connection claiming the reward.
    pub(crate) connection_id: Uuid,
    /// When it was established (Unix ms).
    pub(crate) at_ms: i64,
    /// How long a pair's reward blocks the next one (ms).
    pub(crate) cooldown_ms: i64,
}

/// Why a ledger entry moved points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LedgerReason {
    /// Credit for an established connection.
    Connection,
    /// A correction by an admin.
    Adjustment,
    /// Debit for a voucher.
    Redemption,
    /// Points given back: a voucher cancelled, a redemption rolled back, or a
    /// donation refused after its debit.
    Refund,
    /// Debit for a donation to a charity.
    Donation,
}

/// A ledger entry to append; the store numbers it and computes the balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewLedgerEntry {
    /// Idempotency key: an entry id is written at most once.
    pub(crate) entry_id: Uuid,
    /// Whose points move.
    pub(crate) account_id: AccountId,
    /// When (Unix ms).
    pub(crate) at_ms: i64,
    /// The change: positive credits, negative debits.
    pub(crate) delta: i64,
    /// Why.
    pub(crate) reason: LedgerReason,
    /// What caused it (the connection id for connection credits).
    pub(crate) reference: Option<Uuid>,
}

/// A ledger entry as stored: the points ledger is append-only and the balance is
/// the sum of an account's entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LedgerEntry {
    /// Idempotency key.
    pub(crate) entry_id: Uuid,
    /// Whose points moved.
    pub(crate) account_id: AccountId,
    /// Position in the account's ledger, from 1, without gaps.
    pub(crate) seq: u64,
    /// When (Unix ms).
    pub(crate) at_ms: i64,
    /// The change.
    pub(crate) delta: i64,
    /// Why.
    pub(crate) reason: LedgerReason,
    /// What caused it.
    pub(crate) reference: Option<Uuid>,
    /// The account's balance after this entry.
    pub(crate) balance_after: i64,
}

/// Outcome of appending a ledger entry, which is conditional on its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LedgerAppend {
    /// This call wrote it.
    Appended(LedgerEntry),
    /// An entry with this id exists already (returned); nothing changed.
    Duplicate(LedgerEntry),
    /// A debit larger than the balance; nothing changed.
    InsufficientBalance {
        /// The balance the debit was checked against.
        balance: i64,
    },
}

/// A trophy a person holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrophyAward {
    /// Whose.
    pub(crate) account_id: AccountId,
    /// Which.
    pub(crate) trophy: TrophyId,
    /// When it was awarded (Unix ms).
    pub(crate) awarded_at_ms: i64,
    /// The connection that earned it.
    pub(crate) connection_id: Uuid,
}

/// Outcome of awarding a trophy, which is conditional on the person not holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AwardOutcome {
    /// This call awarded it.
    Awarded,
    /// The person held it already (the stored award is returned).
    AlreadyHeld(TrophyAward),
}

/// One administrative action, as the append-only audit log keeps it. It names
/// accounts by id only: never a phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct AuditEntry {
    /// Stable id (appending the same entry twice keeps one).
    pub(crate) entry_id: Uuid,
    /// When the action was taken (Unix ms).
    pub(crate) at_ms: i64,
    /// Who took it: the admin credential and the client address it came from.
    pub(crate) actor: String,
    /// What was done (`account_disabled`, `roster_removed`, ...).
    pub(crate) action: String,
    /// The account acted on, if any.
    pub(crate) target: Option<AccountId>,
    /// The outcome in a few words (e.g. how many sign-ins were revoked).
    pub(crate) detail: String,
}

/// Where a page of the audit log continues: entries strictly older than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AuditCursor {
    /// Time of the last entry already read.
    pub(crate) at_ms: i64,
    /// Its id (entries of the same millisecond are ordered by id).
    pub(crate) entry_id: Uuid,
}

/// A place in one area index partition (a ZIP prefix and a kind), whose rows
/// sort by the end of the offer's validity, then by offer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AreaPosition {
    /// End of validity of the offer the row lists (Unix ms).
    pub(crate) valid_until_ms: i64,
    /// The offer.
    pub(crate) offer_id: Uuid,
}

impl AreaPosition {
    /// The exclusive lower bound of a listing of offers valid after
    /// `ending_after_ms` that continues after `after`: whichever comes later.
    pub(crate) fn lower_bound(after: Option<AreaPosition>, ending_after_ms: i64) -> AreaPosition {
        match after {
            Some(after) if after.valid_until_ms > ending_after_ms => after,
            Some(_) | None => AreaPosition {
                valid_until_ms: ending_after_ms,
                offer_id: Uuid::max(),
            },
        }
    }
}

/// One row of an area listing and the offer it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AreaListing {
    /// Where the row stands; a listing continues after it.
    pub(crate) position: AreaPosition,
    /// The offer, or `None` when the row is stale: the stored offer is missing
    /// or no longer listed there (its area, kind or end moved and the row
    /// outlived the move).
    pub(crate) offer: Option<RewardOffer>,
}

impl AreaListing {
    /// The listing of the row at `position` under (`zip_prefix`, `kind`), given
    /// the offer stored under the row's id.
    pub(crate) fn of_row(
        zip_prefix: &str,
        kind: OfferKind,
        position: AreaPosition,
        stored: Option<RewardOffer>,
    ) -> Self {
        let offer = stored.filter(|offer| {
            offer.kind == kind
                && offer.valid_until_ms == position.valid_until_ms
                && offer.area.prefixes().contains(zip_prefix)
        });
        Self { position, offer }
    }
}
