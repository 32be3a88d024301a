//! A store decorator that measures every call: latency and errors per backend
//! and operation (bounded labels: the operation is the trait method's name). It
//! wraps whichever backend the config chose, so both report the same metrics.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::traits::*;
use super::{
    AccessGrant, Account, AppendOutcome, AwardOutcome, ConnectionCursor, ConnectionRecord,
    CreateAccountOutcome, InsertConnectionOutcome, LedgerAppend, LedgerEntry, NewLedgerEntry,
    OtpChallenge, PhoneHash, RefreshConsumption, RosterEntry, SecretHash, StoreResult, TokenFamily,
    TokenRecord, TrophyAward,
};
use crate::domain::profile::{Profile, ProfileEvent};
use crate::domain::{AccountId, Role};

/// A backend whose calls are timed and counted.
#[derive(Debug)]
pub(crate) struct InstrumentedStore {
    /// The backend doing the work.
    inner: Arc<dyn Store>,
    /// Its name, the `backend` label.
    backend: &'static str,
}

impl InstrumentedStore {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            backend: inner.backend_name(),
            inner,
        }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let started = tokio::time::Instant::now();
        let result = call.await;
        crate::metrics::store_call(
            self.backend,
            operation,
            started.elapsed(),
            result.as_ref().err(),
        );
        result
    }
}

#[async_trait]
impl AccountStore for InstrumentedStore {
    async fn create_account(&self, account: &Account) -> StoreResult<CreateAccountOutcome> {
        self.timed("create_account", self.inner.create_account(account))
            .await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.timed("account", self.inner.account(id)).await
    }

    async fn account_by_phone(&self, phone: &PhoneHash) -> StoreResult<Option<Account>> {
        self.timed("account_by_phone", self.inner.account_by_phone(phone))
            .await
    }

    async fn set_account_role(&self, id: AccountId, role: Role) -> StoreResult<bool> {
        self.timed("set_account_role", self.inner.set_account_role(id, role))
            .await
    }
}

#[async_trait]
impl TokenStore for InstrumentedStore {
    async fn insert_token_family(&self, family: &TokenFamily) -> StoreResult<()> {
        self.timed(
            "insert_token_family",
            self.inner.insert_token_family(family),
        )
        .await
    }

    async fn token_family(&self, family_id: uuid::Uuid) -> StoreResult<Option<TokenFamily>> {
        self.timed("token_family", self.inner.token_family(family_id))
            .await
    }

    async fn revoke_token_family(&self, family_id: uuid::Uuid, at_ms: i64) -> StoreResult<()> {
        self.timed(
            "revoke_token_family",
            self.inner.revoke_token_family(family_id, at_ms),
        )
        .await
    }

    async fn token_families_of(&self, account_id: AccountId) -> StoreResult<Vec<TokenFamily>> {
        self.timed(
            "token_families_of",
            self.inner.token_families_of(account_id),
        )
        .await
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.timed("insert_token", self.inner.insert_token(token))
            .await
    }

    async fn token(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        self.timed("token", self.inner.token(hash)).await
    }

    async fn consume_refresh_token(
        &self,
        hash: &SecretHash,
        at_ms: i64,
    ) -> StoreResult<RefreshConsumption> {
        self.timed(
            "consume_refresh_token",
            self.inner.consume_refresh_token(hash, at_ms),
        )
        .await
    }

    async fn purge_expired_tokens(&self, now_ms: i64) -> StoreResult<u64> {
        self.timed(
            "purge_expired_tokens",
            self.inner.purge_expired_tokens(now_ms),
        )
        .await
    }
}

#[async_trait]
impl OtpStore for InstrumentedStore {
    async fn otp_challenge(&self, phone: &PhoneHash) -> StoreResult<Option<OtpChallenge>> {
        self.timed("otp_challenge", self.inner.otp_challenge(phone))
            .await
    }

    async fn put_otp_challenge(
        &self,
        phone: &PhoneHash,
        challenge: &OtpChallenge,
        expected_version: Option<u64>,
    ) -> StoreResult<bool> {
        self.timed(
            "put_otp_challenge",
            self.inner
                .put_otp_challenge(phone, challenge, expected_version),
        )
        .await
    }
}

#[async_trait]
impl RosterStore for InstrumentedStore {
    async fn upsert_roster_entries(&self, entries: &[RosterEntry]) -> StoreResult<()> {
        self.timed(
            "upsert_roster_entries",
            self.inner.upsert_roster_entries(entries),
        )
        .await
    }

    async fn roster_entry(&self, phone: &PhoneHash) -> StoreResult<Option<RosterEntry>> {
        self.timed("roster_entry", self.inner.roster_entry(phone))
            .await
    }

    async fn roster_size(&self) -> StoreResult<u64> {
        self.timed("roster_size", self.inner.roster_size()).await
    }
}

#[async_trait]
impl ProfileStore for InstrumentedStore {
    async fn append_profile_event(&self, event: &ProfileEvent) -> StoreResult<AppendOutcome> {
        self.timed(
            "append_profile_event",
            self.inner.append_profile_event(event),
        )
        .await
    }

    async fn profile_events(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<ProfileEvent>> {
        self.timed(
            "profile_events",
            self.inner.profile_events(account_id, before_seq, limit),
        )
        .await
    }

    async fn profile(&self, account_id: AccountId) -> StoreResult<Option<Profile>> {
        self.timed("profile", self.inner.profile(account_id)).await
    }

    async fn put_profile(&self, profile: &Profile) -> StoreResult<()> {
        self.timed("put_profile", self.inner.put_profile(profile))
            .await
    }
}

#[async_trait]
impl ConnectionStore for InstrumentedStore {
    async fn insert_connection(
        &self,
        record: &ConnectionRecord,
    ) -> StoreResult<InsertConnectionOutcome> {
        self.timed("insert_connection", self.inner.insert_connection(record))
            .await
    }

    async fn connection(&self, connection_id: uuid::Uuid) -> StoreResult<Option<ConnectionRecord>> {
        self.timed("connection", self.inner.connection(connection_id))
            .await
    }

    async fn connections_of(
        &self,
        account_id: AccountId,
        before: Option<ConnectionCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        self.timed(
            "connections_of",
            self.inner.connections_of(account_id, before, limit),
        )
        .await
    }

    async fn last_rewarded_pair_connection_ms(
        &self,
        first: AccountId,
        second: AccountId,
    ) -> StoreResult<Option<i64>> {
        self.timed(
            "last_rewarded_pair_connection_ms",
            self.inner.last_rewarded_pair_connection_ms(first, second),
        )
        .await
    }

    async fn rewarded_connections_on_day(
        &self,
        account_id: AccountId,
        day: i64,
    ) -> StoreResult<u32> {
        self.timed(
            "rewarded_connections_on_day",
            self.inner.rewarded_connections_on_day(account_id, day),
        )
        .await
    }

    async fn incomplete_connections(&self, limit: usize) -> StoreResult<Vec<ConnectionRecord>> {
        self.timed(
            "incomplete_connections",
            self.inner.incomplete_connections(limit),
        )
        .await
    }

    async fn complete_connection(&self, connection_id: uuid::Uuid) -> StoreResult<()> {
        self.timed(
            "complete_connection",
            self.inner.complete_connection(connection_id),
        )
        .await
    }
}

#[async_trait]
impl LedgerStore for InstrumentedStore {
    async fn append_ledger_entry(&self, entry: &NewLedgerEntry) -> StoreResult<LedgerAppend> {
        self.timed("append_ledger_entry", self.inner.append_ledger_entry(entry))
            .await
    }

    async fn balance(&self, account_id: AccountId) -> StoreResult<i64> {
        self.timed("balance", self.inner.balance(account_id)).await
    }

    async fn ledger_page(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<LedgerEntry>> {
        self.timed(
            "ledger_page",
            self.inner.ledger_page(account_id, before_seq, limit),
        )
        .await
    }
}

#[async_trait]
impl TrophyStore for InstrumentedStore {
    async fn award_trophy(&self, award: &TrophyAward) -> StoreResult<AwardOutcome> {
        self.timed("award_trophy", self.inner.award_trophy(award))
            .await
    }

    async fn trophies_of(&self, account_id: AccountId) -> StoreResult<Vec<TrophyAward>> {
        self.timed("trophies_of", self.inner.trophies_of(account_id))
            .await
    }
}

#[async_trait]
impl Store for InstrumentedStore {
    fn backend_name(&self) -> &'static str {
        self.backend
    }

    async fn ping(&self) -> StoreResult<()> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn close(&self) -> StoreResult<()> {
        self.timed("close", self.inner.close()).await
    }

    async fn access_grant(&self, hash: &SecretHash) -> StoreResult<Option<AccessGrant>> {
        self.timed("access_grant", self.inner.access_grant(hash))
            .await
    }
}
