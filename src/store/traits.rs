//! The storage contract. Every backend implements every trait with the same
//! behaviour, proven by the shared conformance suite (`store::conformance`).
//! Conditional writes (`create_account`, `consume_refresh_token`,
//! `put_otp_challenge`, `append_profile_event`) are atomic: of any number of
//! concurrent callers exactly one succeeds.

use async_trait::async_trait;

use super::{
    Account, AppendOutcome, CreateAccountOutcome, OtpChallenge, PhoneHash, RefreshConsumption,
    RosterEntry, SecretHash, StoreResult, TokenFamily, TokenRecord,
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

/// Everything the server stores, behind one object.
#[async_trait]
pub(crate) trait Store:
    AccountStore + TokenStore + OtpStore + RosterStore + ProfileStore + std::fmt::Debug
{
    /// Short backend name for metrics and logs (`embedded`, `scylla`).
    fn backend_name(&self) -> &'static str;
    /// Succeeds when the backend answers; `/readyz` calls it.
    async fn ping(&self) -> StoreResult<()>;
    /// Flushes and releases the backend at shutdown.
    async fn close(&self) -> StoreResult<()>;
}
