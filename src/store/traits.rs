//! The storage contract. Every backend implements every trait with the same
//! behaviour, proven by the shared conformance suite (`store::conformance`).
//! Conditional writes (`create_account`, `consume_refresh_token`,
//! `put_otp_challenge`, `append_profile_event`, `insert_connection`,
//! `append_ledger_entry`, `award_trophy`) are atomic: of any number of
//! concurrent callers exactly one succeeds.

use async_trait::async_trait;

use super::{
    AccessGrant, Account, AppendOutcome, AwardOutcome, ConnectionCursor, ConnectionRecord,
    CreateAccountOutcome, InsertConnectionOutcome, LedgerAppend, LedgerEntry, NewLedgerEntry,
    OtpChallenge, PhoneHash, RefreshConsumption, RosterEntry, SecretHash, StoreResult, TokenFamily,
    TokenRecord, TrophyAward,
};
use crate::domain::profile::{Profile, ProfileEvent};
use crate::domain::{AccountId, Role};

/// Accounts and the phone index.
#[async_trait]
pub(crate) trait AccountStore: Send + Sync {
    /// Writes `account` unless its phone already has one.
    async fn create_account(&self, account: &Account) -> StoreResult<CreateAccountOutcome>;
    /// The account with this id.
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    /// The account signed in with this phone.
    async fn account_by_phone(&self, phone: &PhoneHash) -> StoreResult<Option<Account>>;
    /// Changes an existing account's role; false if there is no such account.
    async fn set_account_role(&self, id: AccountId, role: Role) -> StoreResult<bool>;
}

/// Token families and tokens.
#[async_trait]
pub(crate) trait TokenStore: Send + Sync {
    /// Records a new sign-in.
    async fn insert_token_family(&self, family: &TokenFamily) -> StoreResult<()>;
    /// The family with this id.
    async fn token_family(&self, family_id: uuid::Uuid) -> StoreResult<Option<TokenFamily>>;
    /// Marks a family revoked (idempotent: the first revocation time is kept).
    async fn revoke_token_family(&self, family_id: uuid::Uuid, at_ms: i64) -> StoreResult<()>;
    /// Every family of an account, revoked or not.
    async fn token_families_of(&self, account_id: AccountId) -> StoreResult<Vec<TokenFamily>>;
    /// Stores an issued token.
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    /// The unexpired-or-not token with this hash (callers check expiry).
    async fn token(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>>;
    /// Marks a refresh token consumed at `at_ms`, once.
    async fn consume_refresh_token(
        &self,
        hash: &SecretHash,
        at_ms: i64,
    ) -> StoreResult<RefreshConsumption>;
    /// Deletes tokens that expired at or before `now_ms`, returning how many.
    /// Expired tokens are harmless (readers check expiry); this reclaims space.
    async fn purge_expired_tokens(&self, now_ms: i64) -> StoreResult<u64>;
}

/// One-time-code challenges, one per phone.
#[async_trait]
pub(crate) trait OtpStore: Send + Sync {
    /// The challenge state of a phone.
    async fn otp_challenge(&self, phone: &PhoneHash) -> StoreResult<Option<OtpChallenge>>;
    /// Writes `challenge` if the stored version is `expected_version` (`None`: no
    /// challenge stored). The caller sets `challenge.version` to the next version.
    /// Returns whether the write applied.
    async fn put_otp_challenge(
        &self,
        phone: &PhoneHash,
        challenge: &OtpChallenge,
        expected_version: Option<u64>,
    ) -> StoreResult<bool>;
}

/// The officer roster.
#[async_trait]
pub(crate) trait RosterStore: Send + Sync {
    /// Adds or replaces entries, keyed by phone, all or nothing.
    async fn upsert_roster_entries(&self, entries: &[RosterEntry]) -> StoreResult<()>;
    /// The roster entry of a phone.
    async fn roster_entry(&self, phone: &PhoneHash) -> StoreResult<Option<RosterEntry>>;
    /// How many officers are on the roster.
    async fn roster_size(&self) -> StoreResult<u64>;
}

/// Profile event logs and the profile views folded from them.
#[async_trait]
pub(crate) trait ProfileStore: Send + Sync {
    /// Appends an event at `event.seq` unless that number is taken.
    async fn append_profile_event(&self, event: &ProfileEvent) -> StoreResult<AppendOutcome>;
    /// Up to `limit` events with `seq < before_seq` (all when `None`), newest first.
    async fn profile_events(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<ProfileEvent>>;
    /// The stored view.
    async fn profile(&self, account_id: AccountId) -> StoreResult<Option<Profile>>;
    /// Stores a view unless a newer one (higher `version`) is stored.
    async fn put_profile(&self, profile: &Profile) -> StoreResult<()>;
}

/// Established connections and the per-person and per-pair facts the
/// anti-farming rules read. Keys a CQL backend can serve with bounded partitions:
/// the record by id; a person's connections by (account, time); the last reward
/// of a pair by the ordered pair; a person's rewarded count by (account, UTC day).
#[async_trait]
pub(crate) trait ConnectionStore: Send + Sync {
    /// Writes the record, its per-person index rows and reward counters, and marks
    /// its credits incomplete — all or nothing, once per `connection_id`.
    async fn insert_connection(
        &self,
        record: &ConnectionRecord,
    ) -> StoreResult<InsertConnectionOutcome>;
    /// The record with this id.
    async fn connection(&self, connection_id: uuid::Uuid) -> StoreResult<Option<ConnectionRecord>>;
    /// Up to `limit` of a person's connections, newest first, strictly before
    /// `before` (all when `None`).
    async fn connections_of(
        &self,
        account_id: AccountId,
        before: Option<ConnectionCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>>;
    /// When the pair (in either order) was last rewarded, if ever.
    async fn last_rewarded_pair_connection_ms(
        &self,
        first: AccountId,
        second: AccountId,
    ) -> StoreResult<Option<i64>>;
    /// How many connections rewarded `account_id` on UTC day `day` (days since
    /// the Unix epoch).
    async fn rewarded_connections_on_day(
        &self,
        account_id: AccountId,
        day: i64,
    ) -> StoreResult<u32>;
    /// Up to `limit` records whose credits are not yet marked complete, oldest id
    /// first (the recovery pass finishes them).
    async fn incomplete_connections(&self, limit: usize) -> StoreResult<Vec<ConnectionRecord>>;
    /// Marks a record's credits, profile events and trophies complete
    /// (idempotent).
    async fn complete_connection(&self, connection_id: uuid::Uuid) -> StoreResult<()>;
}

/// The points ledger: append-only entries with idempotency keys; the balance is
/// the sum of an account's entries and moves only with an append.
#[async_trait]
pub(crate) trait LedgerStore: Send + Sync {
    /// Appends an entry unless its id exists; a debit may not take the balance
    /// below zero. Atomic: of concurrent appends of one id exactly one appends.
    async fn append_ledger_entry(&self, entry: &NewLedgerEntry) -> StoreResult<LedgerAppend>;
    /// The account's balance (0 without entries).
    async fn balance(&self, account_id: AccountId) -> StoreResult<i64>;
    /// Up to `limit` entries with `seq < before_seq` (all when `None`), newest first.
    async fn ledger_page(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<LedgerEntry>>;
}

/// Trophies, each held at most once per person.
#[async_trait]
pub(crate) trait TrophyStore: Send + Sync {
    /// Awards the trophy unless the person holds it (atomic insert-if-absent).
    async fn award_trophy(&self, award: &TrophyAward) -> StoreResult<AwardOutcome>;
    /// Every trophy the person holds, oldest first.
    async fn trophies_of(&self, account_id: AccountId) -> StoreResult<Vec<TrophyAward>>;
}

/// Everything the server stores, behind one object.
#[async_trait]
pub(crate) trait Store:
    AccountStore
    + TokenStore
    + OtpStore
    + RosterStore
    + ProfileStore
    + ConnectionStore
    + LedgerStore
    + TrophyStore
    + std::fmt::Debug
{
    /// Short backend name for metrics and logs (`embedded`, `scylla`).
    fn backend_name(&self) -> &'static str;
    /// Succeeds when the backend answers; `/readyz` calls it.
    async fn ping(&self) -> StoreResult<()>;
    /// Flushes and releases the backend at shutdown.
    async fn close(&self) -> StoreResult<()>;
    /// The token under `hash` with its family and account: what every
    /// authenticated request and WebSocket connect reads. Backends override it to
    /// read the three together (one transaction, or concurrent queries).
    async fn access_grant(&self, hash: &SecretHash) -> StoreResult<Option<AccessGrant>> {
        let Some(token) = self.token(hash).await? else {
            return Ok(None);
        };
        let family = self.token_family(token.family_id).await?;
        let account = self.account(token.account_id).await?;
        Ok(Some(AccessGrant {
            token,
            family,
            account,
        }))
    }
}
