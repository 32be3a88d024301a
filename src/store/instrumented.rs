//! A store decorator that measures every call: latency and errors per backend
//! and operation (bounded labels: the operation is the trait method's name). It
//! wraps whichever backend the config chose, so both report the same metrics.

mod reports;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::traits::*;
use super::{
    AccessGrant, Account, AppendOutcome, AreaListing, AreaPosition, AuditCursor, AuditEntry,
    AwardOutcome, ConnectionCursor, ConnectionRecord, CreateAccountOutcome,
    InsertConnectionOutcome, LedgerAppend, LedgerEntry, NewLedgerEntry, OtpChallenge,
    PairRewardClaim, PhoneHash, RefreshConsumption, RosterEntry, SecretHash, StoreResult,
    TokenFamily, TokenRecord, TrophyAward,
};
use super::{Donation, InsertDonationOutcome, Pledge, StatementSettlement};
use super::{ImportRef, ImportRun, ImportRunCursor};
use super::{
    InsertRedemptionOutcome, IssuerKey, LimitClaim, PendingRelease, Redemption, StockMove, StockOp,
    VoucherCursor, VoucherTransition,
};
use crate::domain::catalog::{Charity, Municipality, OfferKind, Retailer, RewardOffer};
use crate::domain::donation::Month;
use crate::domain::profile::{Profile, ProfileEvent};
use crate::domain::trophy_marks::{MarkChanges, TrophyMark};
use crate::domain::voucher::{LimitWindow, Voucher, VoucherStatus};
use crate::domain::{AccountId, Role};
use crate::outbox::delivery::{DeliveryState, OutboxDelivery};
use crate::outbox::endpoint::EndpointRecord;

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

    async fn set_account_disabled(
        &self,
        id: AccountId,
        disabled_at_ms: Option<i64>,
    ) -> StoreResult<bool> {
        self.timed(
            "set_account_disabled",
            self.inner.set_account_disabled(id, disabled_at_ms),
        )
        .await
    }

    async fn record_account_deletion(&self, id: AccountId, started_at_ms: i64) -> StoreResult<()> {
        self.timed(
            "record_account_deletion",
            self.inner.record_account_deletion(id, started_at_ms),
        )
        .await
    }

    async fn account_deletions(&self, limit: usize) -> StoreResult<Vec<(AccountId, i64)>> {
        self.timed("account_deletions", self.inner.account_deletions(limit))
            .await
    }

    async fn erase_account_phone(&self, id: AccountId) -> StoreResult<bool> {
        self.timed("erase_account_phone", self.inner.erase_account_phone(id))
            .await
    }

    async fn finish_account_deletion(&self, id: AccountId) -> StoreResult<()> {
        self.timed(
            "finish_account_deletion",
            self.inner.finish_account_deletion(id),
        )
        .await
    }
}

#[async_trait]
impl TokenStore for InstrumentedStore {
    async fn insert_token_family(
        &self,
        family: &TokenFamily,
        live_until_ms: i64,
    ) -> StoreResult<()> {
        self.timed(
            "insert_token_family",
            self.inner.insert_token_family(family, live_until_ms),
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

    async fn remove_roster_entry(&self, phone: &PhoneHash) -> StoreResult<bool> {
        self.timed("remove_roster_entry", self.inner.remove_roster_entry(phone))
            .await
    }
}

#[async_trait]
impl AuditStore for InstrumentedStore {
    async fn append_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.timed("append_audit_entry", self.inner.append_audit_entry(entry))
            .await
    }

    async fn audit_entries(
        &self,
        before: Option<AuditCursor>,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.timed("audit_entries", self.inner.audit_entries(before, limit))
            .await
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

    async fn replace_profile_event(&self, event: &ProfileEvent) -> StoreResult<()> {
        self.timed(
            "replace_profile_event",
            self.inner.replace_profile_event(event),
        )
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

    async fn claim_daily_reward(
        &self,
        account_id: AccountId,
        day: i64,
        cap: u32,
        connection_id: uuid::Uuid,
    ) -> StoreResult<bool> {
        self.timed(
            "claim_daily_reward",
            self.inner
                .claim_daily_reward(account_id, day, cap, connection_id),
        )
        .await
    }

    async fn claim_pair_reward(&self, claim: &PairRewardClaim) -> StoreResult<bool> {
        self.timed("claim_pair_reward", self.inner.claim_pair_reward(claim))
            .await
    }

    async fn release_pair_reward(
        &self,
        first: AccountId,
        second: AccountId,
        connection_id: uuid::Uuid,
    ) -> StoreResult<()> {
        self.timed(
            "release_pair_reward",
            self.inner.release_pair_reward(first, second, connection_id),
        )
        .await
    }

    async fn incomplete_connections(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        self.timed(
            "incomplete_connections",
            self.inner.incomplete_connections(now_ms, limit),
        )
        .await
    }

    async fn complete_connection(&self, record: &ConnectionRecord) -> StoreResult<()> {
        self.timed(
            "complete_connection",
            self.inner.complete_connection(record),
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

    async fn trophy_marks(&self, account_id: AccountId) -> StoreResult<Vec<TrophyMark>> {
        self.timed("trophy_marks", self.inner.trophy_marks(account_id))
            .await
    }

    async fn change_trophy_marks(
        &self,
        account_id: AccountId,
        changes: &MarkChanges,
    ) -> StoreResult<()> {
        self.timed(
            "change_trophy_marks",
            self.inner.change_trophy_marks(account_id, changes),
        )
        .await
    }
}

#[async_trait]
impl CatalogStore for InstrumentedStore {
    async fn put_retailer(&self, retailer: &Retailer) -> StoreResult<()> {
        self.timed("put_retailer", self.inner.put_retailer(retailer))
            .await
    }

    async fn retailer(&self, id: uuid::Uuid) -> StoreResult<Option<Retailer>> {
        self.timed("retailer", self.inner.retailer(id)).await
    }

    async fn retailers(
        &self,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Retailer>> {
        self.timed("retailers", self.inner.retailers(after, limit))
            .await
    }

    async fn put_municipality(&self, municipality: &Municipality) -> StoreResult<()> {
        self.timed(
            "put_municipality",
            self.inner.put_municipality(municipality),
        )
        .await
    }

    async fn municipality(&self, id: uuid::Uuid) -> StoreResult<Option<Municipality>> {
        self.timed("municipality", self.inner.municipality(id))
            .await
    }

    async fn municipalities(
        &self,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Municipality>> {
        self.timed("municipalities", self.inner.municipalities(after, limit))
            .await
    }

    async fn put_charity(&self, charity: &Charity) -> StoreResult<()> {
        self.timed("put_charity", self.inner.put_charity(charity))
            .await
    }

    async fn charity(&self, id: uuid::Uuid) -> StoreResult<Option<Charity>> {
        self.timed("charity", self.inner.charity(id)).await
    }

    async fn charities(
        &self,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Charity>> {
        self.timed("charities", self.inner.charities(after, limit))
            .await
    }

    async fn put_offer(
        &self,
        offer: &RewardOffer,
        previous: Option<&RewardOffer>,
    ) -> StoreResult<bool> {
        self.timed("put_offer", self.inner.put_offer(offer, previous))
            .await
    }

    async fn put_offers(
        &self,
        offers: &[(RewardOffer, Option<RewardOffer>)],
    ) -> StoreResult<Vec<bool>> {
        self.timed("put_offers", self.inner.put_offers(offers))
            .await
    }

    async fn offer(&self, id: uuid::Uuid) -> StoreResult<Option<RewardOffer>> {
        self.timed("offer", self.inner.offer(id)).await
    }

    async fn offers_by_id(&self, ids: &[uuid::Uuid]) -> StoreResult<Vec<Option<RewardOffer>>> {
        self.timed("offers_by_id", self.inner.offers_by_id(ids))
            .await
    }

    async fn offers(
        &self,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<RewardOffer>> {
        self.timed("offers", self.inner.offers(after, limit)).await
    }

    async fn offers_in_area(
        &self,
        zip_prefix: &str,
        kind: OfferKind,
        ending_after_ms: i64,
        after: Option<AreaPosition>,
        limit: usize,
    ) -> StoreResult<Vec<AreaListing>> {
        self.timed(
            "offers_in_area",
            self.inner
                .offers_in_area(zip_prefix, kind, ending_after_ms, after, limit),
        )
        .await
    }
}

#[async_trait]
impl RedemptionStore for InstrumentedStore {
    async fn insert_redemption(
        &self,
        redemption: &Redemption,
    ) -> StoreResult<InsertRedemptionOutcome> {
        self.timed(
            "insert_redemption",
            self.inner.insert_redemption(redemption),
        )
        .await
    }

    async fn redemption(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Redemption>> {
        self.timed(
            "redemption",
            self.inner.redemption(account_id, idempotency_key),
        )
        .await
    }

    async fn update_redemption(
        &self,
        redemption: &Redemption,
        expected_attempt: u32,
    ) -> StoreResult<bool> {
        self.timed(
            "update_redemption",
            self.inner.update_redemption(redemption, expected_attempt),
        )
        .await
    }

    async fn started_redemptions(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Redemption>> {
        self.timed(
            "started_redemptions",
            self.inner.started_redemptions(now_ms, limit),
        )
        .await
    }

    async fn move_offer_stock(&self, op: &StockOp) -> StoreResult<StockMove> {
        self.timed("move_offer_stock", self.inner.move_offer_stock(op))
            .await
    }

    async fn claim_limit_slot(
        &self,
        account_id: AccountId,
        offer_id: uuid::Uuid,
        window: LimitWindow,
        count: u32,
        holder: uuid::Uuid,
    ) -> StoreResult<LimitClaim> {
        self.timed(
            "claim_limit_slot",
            self.inner
                .claim_limit_slot(account_id, offer_id, window, count, holder),
        )
        .await
    }

    async fn release_limit_slot(
        &self,
        account_id: AccountId,
        offer_id: uuid::Uuid,
        window: LimitWindow,
        slot: u32,
        holder: uuid::Uuid,
    ) -> StoreResult<bool> {
        self.timed(
            "release_limit_slot",
            self.inner
                .release_limit_slot(account_id, offer_id, window, slot, holder),
        )
        .await
    }
}

#[async_trait]
impl VoucherStore for InstrumentedStore {
    async fn insert_voucher(&self, voucher: &Voucher) -> StoreResult<Voucher> {
        self.timed("insert_voucher", self.inner.insert_voucher(voucher))
            .await
    }

    async fn voucher(&self, voucher_id: uuid::Uuid) -> StoreResult<Option<Voucher>> {
        self.timed("voucher", self.inner.voucher(voucher_id)).await
    }

    async fn vouchers_of(
        &self,
        account_id: AccountId,
        before: Option<VoucherCursor>,
        limit: usize,
    ) -> StoreResult<Vec<Voucher>> {
        self.timed(
            "vouchers_of",
            self.inner.vouchers_of(account_id, before, limit),
        )
        .await
    }

    async fn transition_voucher(
        &self,
        voucher_id: uuid::Uuid,
        from: VoucherStatus,
        to: VoucherStatus,
        at_ms: i64,
    ) -> StoreResult<VoucherTransition> {
        self.timed(
            "transition_voucher",
            self.inner.transition_voucher(voucher_id, from, to, at_ms),
        )
        .await
    }

    async fn expired_vouchers(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<uuid::Uuid>> {
        self.timed(
            "expired_vouchers",
            self.inner.expired_vouchers(now_ms, limit),
        )
        .await
    }

    async fn mark_pending_release(&self, release: PendingRelease) -> StoreResult<()> {
        self.timed(
            "mark_pending_release",
            self.inner.mark_pending_release(release),
        )
        .await
    }

    async fn pending_releases(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<PendingRelease>> {
        self.timed(
            "pending_releases",
            self.inner.pending_releases(now_ms, limit),
        )
        .await
    }

    async fn clear_pending_release(&self, voucher_id: uuid::Uuid) -> StoreResult<()> {
        self.timed(
            "clear_pending_release",
            self.inner.clear_pending_release(voucher_id),
        )
        .await
    }
}

#[async_trait]
impl PledgeStore for InstrumentedStore {
    async fn insert_donation(&self, donation: &Donation) -> StoreResult<InsertDonationOutcome> {
        self.timed("insert_donation", self.inner.insert_donation(donation))
            .await
    }

    async fn donation(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Donation>> {
        self.timed("donation", self.inner.donation(account_id, idempotency_key))
            .await
    }

    async fn update_donation(
        &self,
        donation: &Donation,
        expected_attempt: u32,
    ) -> StoreResult<bool> {
        self.timed(
            "update_donation",
            self.inner.update_donation(donation, expected_attempt),
        )
        .await
    }

    async fn started_donations(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Donation>> {
        self.timed(
            "started_donations",
            self.inner.started_donations(now_ms, limit),
        )
        .await
    }

    async fn put_pledge(&self, pledge: &Pledge) -> StoreResult<()> {
        self.timed("put_pledge", self.inner.put_pledge(pledge))
            .await
    }

    async fn remove_pledge(
        &self,
        month: Month,
        charity_id: uuid::Uuid,
        pledge_id: uuid::Uuid,
    ) -> StoreResult<()> {
        self.timed(
            "remove_pledge",
            self.inner.remove_pledge(month, charity_id, pledge_id),
        )
        .await
    }

    async fn pledges(
        &self,
        month: Month,
        charity_id: uuid::Uuid,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Pledge>> {
        self.timed(
            "pledges",
            self.inner.pledges(month, charity_id, after, limit),
        )
        .await
    }

    async fn settle_statement(
        &self,
        settlement: &StatementSettlement,
    ) -> StoreResult<StatementSettlement> {
        self.timed("settle_statement", self.inner.settle_statement(settlement))
            .await
    }

    async fn statement_settlement(&self, month: Month) -> StoreResult<Option<StatementSettlement>> {
        self.timed(
            "statement_settlement",
            self.inner.statement_settlement(month),
        )
        .await
    }
}

#[async_trait]
impl IssuerKeyStore for InstrumentedStore {
    async fn insert_issuer_key(&self, key: &IssuerKey) -> StoreResult<()> {
        self.timed("insert_issuer_key", self.inner.insert_issuer_key(key))
            .await
    }

    async fn issuer_key_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<IssuerKey>> {
        self.timed("issuer_key_by_hash", self.inner.issuer_key_by_hash(hash))
            .await
    }

    async fn issuer_keys_of(&self, issuer_id: uuid::Uuid) -> StoreResult<Vec<IssuerKey>> {
        self.timed("issuer_keys_of", self.inner.issuer_keys_of(issuer_id))
            .await
    }

    async fn revoke_issuer_key(
        &self,
        issuer_id: uuid::Uuid,
        key_id: uuid::Uuid,
        at_ms: i64,
    ) -> StoreResult<Option<IssuerKey>> {
        self.timed(
            "revoke_issuer_key",
            self.inner.revoke_issuer_key(issuer_id, key_id, at_ms),
        )
        .await
    }
}

#[async_trait]
impl OidcIdentityStore for InstrumentedStore {
    async fn link_oidc_identity(
        &self,
        identity: &super::OidcIdentity,
    ) -> StoreResult<super::OidcLinkOutcome> {
        self.timed(
            "link_oidc_identity",
            self.inner.link_oidc_identity(identity),
        )
        .await
    }

    async fn oidc_identity(
        &self,
        key: &super::IdentityKey,
    ) -> StoreResult<Option<super::OidcIdentity>> {
        self.timed("oidc_identity", self.inner.oidc_identity(key))
            .await
    }

    async fn oidc_identities_of(
        &self,
        account_id: AccountId,
    ) -> StoreResult<Vec<super::OidcIdentity>> {
        self.timed(
            "oidc_identities_of",
            self.inner.oidc_identities_of(account_id),
        )
        .await
    }

    async fn remove_oidc_identities_of(&self, account_id: AccountId) -> StoreResult<()> {
        self.timed(
            "remove_oidc_identities_of",
            self.inner.remove_oidc_identities_of(account_id),
        )
        .await
    }
}

#[async_trait]
impl DeviceStore for InstrumentedStore {
    async fn put_device(&self, device: &crate::domain::device::Device) -> StoreResult<()> {
        self.timed("put_device", self.inner.put_device(device))
            .await
    }

    async fn devices_of(
        &self,
        account_id: AccountId,
    ) -> StoreResult<Vec<crate::domain::device::Device>> {
        self.timed("devices_of", self.inner.devices_of(account_id))
            .await
    }

    async fn remove_device(&self, account_id: AccountId, device_id: uuid::Uuid) -> StoreResult<()> {
        self.timed(
            "remove_device",
            self.inner.remove_device(account_id, device_id),
        )
        .await
    }
}

#[async_trait]
impl crate::store::KeyRotationStore for InstrumentedStore {
    async fn scan_accounts(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<crate::store::ScanPage<crate::store::Account>> {
        self.timed("scan_accounts", self.inner.scan_accounts(cursor, limit))
            .await
    }

    async fn scan_roster(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<crate::store::ScanPage<crate::store::RosterEntry>> {
        self.timed("scan_roster", self.inner.scan_roster(cursor, limit))
            .await
    }

    async fn rekey_account_phone(
        &self,
        id: AccountId,
        from: crate::store::PhoneHash,
        to: crate::store::PhoneHash,
        sealed: Vec<u8>,
    ) -> StoreResult<bool> {
        self.timed(
            "rekey_account_phone",
            self.inner.rekey_account_phone(id, from, to, sealed),
        )
        .await
    }
}

#[async_trait]
impl OutboxStore for InstrumentedStore {
    async fn enqueue_outbox_message(
        &self,
        message: &crate::outbox::message::OutboxMessage,
    ) -> StoreResult<()> {
        self.timed(
            "enqueue_outbox_message",
            self.inner.enqueue_outbox_message(message),
        )
        .await
    }

    async fn outbox_delivery(&self, message_id: uuid::Uuid) -> StoreResult<Option<OutboxDelivery>> {
        self.timed("outbox_delivery", self.inner.outbox_delivery(message_id))
            .await
    }

    async fn due_outbox_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>> {
        self.timed(
            "due_outbox_deliveries",
            self.inner.due_outbox_deliveries(now_ms, limit),
        )
        .await
    }

    async fn replace_outbox_delivery(
        &self,
        expected_version: u64,
        delivery: &OutboxDelivery,
    ) -> StoreResult<bool> {
        self.timed(
            "replace_outbox_delivery",
            self.inner
                .replace_outbox_delivery(expected_version, delivery),
        )
        .await
    }

    async fn outbox_deliveries(
        &self,
        state: DeliveryState,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>> {
        self.timed(
            "outbox_deliveries",
            self.inner.outbox_deliveries(state, now_ms, limit),
        )
        .await
    }

    async fn put_outbox_endpoint(&self, endpoint: &EndpointRecord) -> StoreResult<()> {
        self.timed(
            "put_outbox_endpoint",
            self.inner.put_outbox_endpoint(endpoint),
        )
        .await
    }

    async fn outbox_endpoints(&self) -> StoreResult<Vec<EndpointRecord>> {
        self.timed("outbox_endpoints", self.inner.outbox_endpoints())
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

#[async_trait]
impl ImportStore for InstrumentedStore {
    async fn put_import_run(&self, run: &ImportRun) -> StoreResult<()> {
        self.timed("put_import_run", self.inner.put_import_run(run))
            .await
    }

    async fn import_run(&self, run_id: uuid::Uuid) -> StoreResult<Option<ImportRun>> {
        self.timed("import_run", self.inner.import_run(run_id))
            .await
    }

    async fn import_runs(
        &self,
        before: Option<ImportRunCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ImportRun>> {
        self.timed("import_runs", self.inner.import_runs(before, limit))
            .await
    }

    async fn stage_import_chunk(
        &self,
        run_id: uuid::Uuid,
        chunk: u64,
        rows: &[u8],
    ) -> StoreResult<()> {
        self.timed(
            "stage_import_chunk",
            self.inner.stage_import_chunk(run_id, chunk, rows),
        )
        .await
    }

    async fn staged_import_chunk(
        &self,
        run_id: uuid::Uuid,
        chunk: u64,
    ) -> StoreResult<Option<Vec<u8>>> {
        self.timed(
            "staged_import_chunk",
            self.inner.staged_import_chunk(run_id, chunk),
        )
        .await
    }

    async fn drop_staged_import(&self, run_id: uuid::Uuid, chunks: u64) -> StoreResult<()> {
        self.timed(
            "drop_staged_import",
            self.inner.drop_staged_import(run_id, chunks),
        )
        .await
    }

    async fn import_refs(
        &self,
        kind: &str,
        refs: &[String],
    ) -> StoreResult<Vec<Option<ImportRef>>> {
        self.timed("import_refs", self.inner.import_refs(kind, refs))
            .await
    }

    async fn put_import_refs(&self, kind: &str, refs: &[(String, ImportRef)]) -> StoreResult<()> {
        self.timed("put_import_refs", self.inner.put_import_refs(kind, refs))
            .await
    }
}
