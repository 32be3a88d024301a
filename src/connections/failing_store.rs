//! A store for fault-injection tests: delegates to a real store, and fails a
//! chosen call once — before it reaches the store (nothing written) or after
//! (written, but the caller sees an error, like a crash before the answer).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::catalog::{Charity, Municipality, OfferKind, Retailer, RewardOffer};
use crate::domain::donation::Month;
use crate::domain::profile::{Profile, ProfileEvent};
use crate::domain::trophy_marks::{MarkChanges, TrophyMark};
use crate::domain::voucher::{LimitWindow, Voucher, VoucherStatus};
use crate::domain::{AccountId, Role};
use crate::outbox::delivery::{DeliveryState, OutboxDelivery};
use crate::outbox::endpoint::EndpointRecord;
use crate::store::report_records::{CellSelection, ReportCell, ReportFact};
use crate::store::*;

/// A write the store can be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailPoint {
    /// `insert_connection`.
    InsertConnection,
    /// `append_ledger_entry`.
    AppendLedgerEntry,
    /// `append_profile_event`.
    AppendProfileEvent,
    /// `award_trophy`.
    AwardTrophy,
    /// `change_trophy_marks`.
    ChangeTrophyMarks,
    /// `complete_connection`.
    CompleteConnection,
    /// `update_redemption`.
    UpdateRedemption,
    /// `move_offer_stock`.
    MoveOfferStock,
    /// `insert_voucher`.
    InsertVoucher,
    /// `transition_voucher`.
    TransitionVoucher,
    /// `update_donation`.
    UpdateDonation,
    /// `record_availability`.
    RecordAvailability,
}

/// Whether the failing call wrote before failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailMode {
    /// Fail without writing.
    Before,
    /// Write, then fail.
    After,
}

/// The wrapper.
#[derive(Debug)]
pub(crate) struct FailingStore {
    /// The real store.
    inner: Arc<dyn Store>,
    /// The armed failure: point, mode, and how many matching calls pass first.
    armed: Mutex<Option<(FailPoint, FailMode, usize)>>,
    /// How many times `connections_of` was called: whole-history reads.
    history_reads: AtomicUsize,
}

impl FailingStore {
    /// Wraps `inner`, with nothing armed.
    pub(crate) fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            armed: Mutex::new(None),
            history_reads: AtomicUsize::new(0),
        }
    }

    /// How many times a person's connection list was read so far.
    pub(crate) fn history_reads(&self) -> usize {
        self.history_reads.load(Ordering::Relaxed)
    }

    /// Fails the call at `point` after `skip` matching calls succeed.
    pub(crate) fn fail(&self, point: FailPoint, mode: FailMode, skip: usize) {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = Some((point, mode, skip));
    }

    /// Disarms any armed failure.
    pub(crate) fn disarm(&self) {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Whether an armed failure is still waiting.
    pub(crate) fn is_armed(&self) -> bool {
        self.armed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// The mode to fail this call with, if it is the armed one (disarming it).
    fn trips(&self, point: FailPoint) -> Option<FailMode> {
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        match *armed {
            Some((armed_point, mode, 0)) if armed_point == point => {
                *armed = None;
                Some(mode)
            }
            Some((armed_point, mode, skip)) if armed_point == point => {
                *armed = Some((armed_point, mode, skip - 1));
                None
            }
            Some(_) | None => None,
        }
    }

    async fn guarded<T, F>(&self, point: FailPoint, call: F) -> StoreResult<T>
    where
        F: std::future::Future<Output = StoreResult<T>>,
    {
        match self.trips(point) {
            None => call.await,
            Some(FailMode::Before) => Err(injected(point)),
            Some(FailMode::After) => {
                call.await?;
                Err(injected(point))
            }
        }
    }
}

fn injected(point: FailPoint) -> StoreError {
    StoreError::Unavailable(format!("injected failure at {point:?}"))
}

#[async_trait]
impl AccountStore for FailingStore {
    async fn create_account(&self, account: &Account) -> StoreResult<CreateAccountOutcome> {
        self.inner.create_account(account).await
    }
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.inner.account(id).await
    }
    async fn account_by_phone(&self, phone: &PhoneHash) -> StoreResult<Option<Account>> {
        self.inner.account_by_phone(phone).await
    }
    async fn set_account_role(&self, id: AccountId, role: Role) -> StoreResult<bool> {
        self.inner.set_account_role(id, role).await
    }
    async fn set_account_disabled(
        &self,
        id: AccountId,
        disabled_at_ms: Option<i64>,
    ) -> StoreResult<bool> {
        self.inner.set_account_disabled(id, disabled_at_ms).await
    }
    async fn record_account_deletion(&self, id: AccountId, started_at_ms: i64) -> StoreResult<()> {
        self.inner.record_account_deletion(id, started_at_ms).await
    }
    async fn account_deletions(&self, limit: usize) -> StoreResult<Vec<(AccountId, i64)>> {
        self.inner.account_deletions(limit).await
    }
    async fn erase_account_phone(&self, id: AccountId) -> StoreResult<bool> {
        self.inner.erase_account_phone(id).await
    }
    async fn finish_account_deletion(&self, id: AccountId) -> StoreResult<()> {
        self.inner.finish_account_deletion(id).await
    }
}

#[async_trait]
impl TokenStore for FailingStore {
    async fn insert_token_family(
        &self,
        family: &TokenFamily,
        live_until_ms: i64,
    ) -> StoreResult<()> {
        self.inner.insert_token_family(family, live_until_ms).await
    }
    async fn token_family(&self, family_id: Uuid) -> StoreResult<Option<TokenFamily>> {
        self.inner.token_family(family_id).await
    }
    async fn revoke_token_family(&self, family_id: Uuid, at_ms: i64) -> StoreResult<()> {
        self.inner.revoke_token_family(family_id, at_ms).await
    }
    async fn token_families_of(&self, account_id: AccountId) -> StoreResult<Vec<TokenFamily>> {
        self.inner.token_families_of(account_id).await
    }
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.inner.insert_token(token).await
    }
    async fn token(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        self.inner.token(hash).await
    }
    async fn consume_refresh_token(
        &self,
        hash: &SecretHash,
        at_ms: i64,
    ) -> StoreResult<RefreshConsumption> {
        self.inner.consume_refresh_token(hash, at_ms).await
    }
    async fn purge_expired_tokens(&self, now_ms: i64) -> StoreResult<u64> {
        self.inner.purge_expired_tokens(now_ms).await
    }
}

#[async_trait]
impl OtpStore for FailingStore {
    async fn otp_challenge(&self, phone: &PhoneHash) -> StoreResult<Option<OtpChallenge>> {
        self.inner.otp_challenge(phone).await
    }
    async fn put_otp_challenge(
        &self,
        phone: &PhoneHash,
        challenge: &OtpChallenge,
        expected_version: Option<u64>,
    ) -> StoreResult<bool> {
        self.inner
            .put_otp_challenge(phone, challenge, expected_version)
            .await
    }
}

#[async_trait]
impl RosterStore for FailingStore {
    async fn upsert_roster_entries(&self, entries: &[RosterEntry]) -> StoreResult<()> {
        self.inner.upsert_roster_entries(entries).await
    }
    async fn roster_entry(&self, phone: &PhoneHash) -> StoreResult<Option<RosterEntry>> {
        self.inner.roster_entry(phone).await
    }
    async fn roster_size(&self) -> StoreResult<u64> {
        self.inner.roster_size().await
    }
    async fn remove_roster_entry(&self, phone: &PhoneHash) -> StoreResult<bool> {
        self.inner.remove_roster_entry(phone).await
    }
}

#[async_trait]
impl AuditStore for FailingStore {
    async fn append_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.inner.append_audit_entry(entry).await
    }
    async fn audit_entries(
        &self,
        before: Option<AuditCursor>,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.inner.audit_entries(before, limit).await
    }
}

#[async_trait]
impl ProfileStore for FailingStore {
    async fn append_profile_event(&self, event: &ProfileEvent) -> StoreResult<AppendOutcome> {
        self.guarded(
            FailPoint::AppendProfileEvent,
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
        self.inner
            .profile_events(account_id, before_seq, limit)
            .await
    }
    async fn profile(&self, account_id: AccountId) -> StoreResult<Option<Profile>> {
        self.inner.profile(account_id).await
    }
    async fn put_profile(&self, profile: &Profile) -> StoreResult<()> {
        self.inner.put_profile(profile).await
    }
    async fn replace_profile_event(&self, event: &ProfileEvent) -> StoreResult<()> {
        self.inner.replace_profile_event(event).await
    }
}

#[async_trait]
impl ConnectionStore for FailingStore {
    async fn insert_connection(
        &self,
        record: &ConnectionRecord,
    ) -> StoreResult<InsertConnectionOutcome> {
        self.guarded(
            FailPoint::InsertConnection,
            self.inner.insert_connection(record),
        )
        .await
    }
    async fn connection(&self, connection_id: Uuid) -> StoreResult<Option<ConnectionRecord>> {
        self.inner.connection(connection_id).await
    }
    async fn connections_of(
        &self,
        account_id: AccountId,
        before: Option<ConnectionCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        self.history_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.connections_of(account_id, before, limit).await
    }
    async fn last_rewarded_pair_connection_ms(
        &self,
        first: AccountId,
        second: AccountId,
    ) -> StoreResult<Option<i64>> {
        self.inner
            .last_rewarded_pair_connection_ms(first, second)
            .await
    }
    async fn rewarded_connections_on_day(
        &self,
        account_id: AccountId,
        day: i64,
    ) -> StoreResult<u32> {
        self.inner
            .rewarded_connections_on_day(account_id, day)
            .await
    }
    async fn claim_daily_reward(
        &self,
        account_id: AccountId,
        day: i64,
        cap: u32,
        connection_id: Uuid,
    ) -> StoreResult<bool> {
        self.inner
            .claim_daily_reward(account_id, day, cap, connection_id)
            .await
    }
    async fn claim_pair_reward(&self, claim: &PairRewardClaim) -> StoreResult<bool> {
        self.inner.claim_pair_reward(claim).await
    }
    async fn release_pair_reward(
        &self,
        first: AccountId,
        second: AccountId,
        connection_id: Uuid,
    ) -> StoreResult<()> {
        self.inner
            .release_pair_reward(first, second, connection_id)
            .await
    }
    async fn incomplete_connections(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        self.inner.incomplete_connections(now_ms, limit).await
    }
    async fn complete_connection(&self, record: &ConnectionRecord) -> StoreResult<()> {
        self.guarded(
            FailPoint::CompleteConnection,
            self.inner.complete_connection(record),
        )
        .await
    }
}

#[async_trait]
impl LedgerStore for FailingStore {
    async fn append_ledger_entry(&self, entry: &NewLedgerEntry) -> StoreResult<LedgerAppend> {
        self.guarded(
            FailPoint::AppendLedgerEntry,
            self.inner.append_ledger_entry(entry),
        )
        .await
    }
    async fn balance(&self, account_id: AccountId) -> StoreResult<i64> {
        self.inner.balance(account_id).await
    }
    async fn ledger_page(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<LedgerEntry>> {
        self.inner.ledger_page(account_id, before_seq, limit).await
    }
}

#[async_trait]
impl TrophyStore for FailingStore {
    async fn award_trophy(&self, award: &TrophyAward) -> StoreResult<AwardOutcome> {
        self.guarded(FailPoint::AwardTrophy, self.inner.award_trophy(award))
            .await
    }
    async fn trophies_of(&self, account_id: AccountId) -> StoreResult<Vec<TrophyAward>> {
        self.inner.trophies_of(account_id).await
    }
    async fn trophy_marks(&self, account_id: AccountId) -> StoreResult<Vec<TrophyMark>> {
        self.inner.trophy_marks(account_id).await
    }
    async fn change_trophy_marks(
        &self,
        account_id: AccountId,
        changes: &MarkChanges,
    ) -> StoreResult<()> {
        self.guarded(
            FailPoint::ChangeTrophyMarks,
            self.inner.change_trophy_marks(account_id, changes),
        )
        .await
    }
}

/// The catalog is passed through: no fail point concerns it yet.
#[async_trait]
impl CatalogStore for FailingStore {
    async fn put_retailer(&self, retailer: &Retailer) -> StoreResult<()> {
        self.inner.put_retailer(retailer).await
    }
    async fn retailer(&self, id: Uuid) -> StoreResult<Option<Retailer>> {
        self.inner.retailer(id).await
    }
    async fn retailers(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Retailer>> {
        self.inner.retailers(after, limit).await
    }
    async fn put_municipality(&self, municipality: &Municipality) -> StoreResult<()> {
        self.inner.put_municipality(municipality).await
    }
    async fn municipality(&self, id: Uuid) -> StoreResult<Option<Municipality>> {
        self.inner.municipality(id).await
    }
    async fn municipalities(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Municipality>> {
        self.inner.municipalities(after, limit).await
    }
    async fn put_charity(&self, charity: &Charity) -> StoreResult<()> {
        self.inner.put_charity(charity).await
    }
    async fn charity(&self, id: Uuid) -> StoreResult<Option<Charity>> {
        self.inner.charity(id).await
    }
    async fn charities(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Charity>> {
        self.inner.charities(after, limit).await
    }
    async fn put_offer(
        &self,
        offer: &RewardOffer,
        previous: Option<&RewardOffer>,
    ) -> StoreResult<bool> {
        self.inner.put_offer(offer, previous).await
    }
    async fn put_offers(
        &self,
        offers: &[(RewardOffer, Option<RewardOffer>)],
    ) -> StoreResult<Vec<bool>> {
        self.inner.put_offers(offers).await
    }
    async fn offer(&self, id: Uuid) -> StoreResult<Option<RewardOffer>> {
        self.inner.offer(id).await
    }
    async fn offers(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<RewardOffer>> {
        self.inner.offers(after, limit).await
    }
    async fn offers_in_area(
        &self,
        zip_prefix: &str,
        kind: OfferKind,
        ending_after_ms: i64,
        after: Option<AreaPosition>,
        limit: usize,
    ) -> StoreResult<Vec<AreaListing>> {
        self.inner
            .offers_in_area(zip_prefix, kind, ending_after_ms, after, limit)
            .await
    }
}

#[async_trait]
impl RedemptionStore for FailingStore {
    async fn insert_redemption(
        &self,
        redemption: &Redemption,
    ) -> StoreResult<InsertRedemptionOutcome> {
        self.inner.insert_redemption(redemption).await
    }
    async fn redemption(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Redemption>> {
        self.inner.redemption(account_id, idempotency_key).await
    }
    async fn update_redemption(
        &self,
        redemption: &Redemption,
        expected_attempt: u32,
    ) -> StoreResult<bool> {
        self.guarded(
            FailPoint::UpdateRedemption,
            self.inner.update_redemption(redemption, expected_attempt),
        )
        .await
    }
    async fn started_redemptions(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Redemption>> {
        self.inner.started_redemptions(now_ms, limit).await
    }
    async fn move_offer_stock(&self, op: &StockOp) -> StoreResult<StockMove> {
        self.guarded(FailPoint::MoveOfferStock, self.inner.move_offer_stock(op))
            .await
    }
    async fn claim_limit_slot(
        &self,
        account_id: AccountId,
        offer_id: Uuid,
        window: LimitWindow,
        count: u32,
        holder: Uuid,
    ) -> StoreResult<LimitClaim> {
        self.inner
            .claim_limit_slot(account_id, offer_id, window, count, holder)
            .await
    }
    async fn release_limit_slot(
        &self,
        account_id: AccountId,
        offer_id: Uuid,
        window: LimitWindow,
        slot: u32,
        holder: Uuid,
    ) -> StoreResult<bool> {
        self.inner
            .release_limit_slot(account_id, offer_id, window, slot, holder)
            .await
    }
}

#[async_trait]
impl VoucherStore for FailingStore {
    async fn insert_voucher(&self, voucher: &Voucher) -> StoreResult<Voucher> {
        self.guarded(FailPoint::InsertVoucher, self.inner.insert_voucher(voucher))
            .await
    }
    async fn voucher(&self, voucher_id: Uuid) -> StoreResult<Option<Voucher>> {
        self.inner.voucher(voucher_id).await
    }
    async fn vouchers_of(
        &self,
        account_id: AccountId,
        before: Option<VoucherCursor>,
        limit: usize,
    ) -> StoreResult<Vec<Voucher>> {
        self.inner.vouchers_of(account_id, before, limit).await
    }
    async fn transition_voucher(
        &self,
        voucher_id: Uuid,
        from: VoucherStatus,
        to: VoucherStatus,
        at_ms: i64,
    ) -> StoreResult<VoucherTransition> {
        self.guarded(
            FailPoint::TransitionVoucher,
            self.inner.transition_voucher(voucher_id, from, to, at_ms),
        )
        .await
    }
    async fn expired_vouchers(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Uuid>> {
        self.inner.expired_vouchers(now_ms, limit).await
    }
    async fn mark_pending_release(&self, release: PendingRelease) -> StoreResult<()> {
        self.inner.mark_pending_release(release).await
    }
    async fn pending_releases(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<PendingRelease>> {
        self.inner.pending_releases(now_ms, limit).await
    }
    async fn clear_pending_release(&self, voucher_id: Uuid) -> StoreResult<()> {
        self.inner.clear_pending_release(voucher_id).await
    }
}

#[async_trait]
impl PledgeStore for FailingStore {
    async fn insert_donation(&self, donation: &Donation) -> StoreResult<InsertDonationOutcome> {
        self.inner.insert_donation(donation).await
    }
    async fn donation(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Donation>> {
        self.inner.donation(account_id, idempotency_key).await
    }
    async fn update_donation(
        &self,
        donation: &Donation,
        expected_attempt: u32,
    ) -> StoreResult<bool> {
        self.guarded(
            FailPoint::UpdateDonation,
            self.inner.update_donation(donation, expected_attempt),
        )
        .await
    }
    async fn started_donations(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Donation>> {
        self.inner.started_donations(now_ms, limit).await
    }
    async fn put_pledge(&self, pledge: &Pledge) -> StoreResult<()> {
        self.inner.put_pledge(pledge).await
    }
    async fn remove_pledge(
        &self,
        month: Month,
        charity_id: Uuid,
        pledge_id: Uuid,
    ) -> StoreResult<()> {
        self.inner.remove_pledge(month, charity_id, pledge_id).await
    }
    async fn pledges(
        &self,
        month: Month,
        charity_id: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Pledge>> {
        self.inner.pledges(month, charity_id, after, limit).await
    }
    async fn settle_statement(
        &self,
        settlement: &StatementSettlement,
    ) -> StoreResult<StatementSettlement> {
        self.inner.settle_statement(settlement).await
    }
    async fn statement_settlement(&self, month: Month) -> StoreResult<Option<StatementSettlement>> {
        self.inner.statement_settlement(month).await
    }
}

#[async_trait]
impl IssuerKeyStore for FailingStore {
    async fn insert_issuer_key(&self, key: &IssuerKey) -> StoreResult<()> {
        self.inner.insert_issuer_key(key).await
    }
    async fn issuer_key_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<IssuerKey>> {
        self.inner.issuer_key_by_hash(hash).await
    }
    async fn issuer_keys_of(&self, issuer_id: Uuid) -> StoreResult<Vec<IssuerKey>> {
        self.inner.issuer_keys_of(issuer_id).await
    }
    async fn revoke_issuer_key(
        &self,
        issuer_id: Uuid,
        key_id: Uuid,
        at_ms: i64,
    ) -> StoreResult<Option<IssuerKey>> {
        self.inner.revoke_issuer_key(issuer_id, key_id, at_ms).await
    }
}

#[async_trait]
impl ImportStore for FailingStore {
    async fn put_import_run(&self, run: &ImportRun) -> StoreResult<()> {
        self.inner.put_import_run(run).await
    }
    async fn import_run(&self, run_id: Uuid) -> StoreResult<Option<ImportRun>> {
        self.inner.import_run(run_id).await
    }
    async fn import_runs(
        &self,
        before: Option<ImportRunCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ImportRun>> {
        self.inner.import_runs(before, limit).await
    }
    async fn stage_import_chunk(&self, run_id: Uuid, chunk: u64, rows: &[u8]) -> StoreResult<()> {
        self.inner.stage_import_chunk(run_id, chunk, rows).await
    }
    async fn staged_import_chunk(&self, run_id: Uuid, chunk: u64) -> StoreResult<Option<Vec<u8>>> {
        self.inner.staged_import_chunk(run_id, chunk).await
    }
    async fn drop_staged_import(&self, run_id: Uuid, chunks: u64) -> StoreResult<()> {
        self.inner.drop_staged_import(run_id, chunks).await
    }
    async fn import_refs(
        &self,
        kind: &str,
        refs: &[String],
    ) -> StoreResult<Vec<Option<ImportRef>>> {
        self.inner.import_refs(kind, refs).await
    }
    async fn put_import_refs(&self, kind: &str, refs: &[(String, ImportRef)]) -> StoreResult<()> {
        self.inner.put_import_refs(kind, refs).await
    }
}

#[async_trait]
impl crate::store::KeyRotationStore for FailingStore {
    async fn scan_accounts(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<crate::store::ScanPage<Account>> {
        self.inner.scan_accounts(cursor, limit).await
    }
    async fn scan_roster(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<crate::store::ScanPage<RosterEntry>> {
        self.inner.scan_roster(cursor, limit).await
    }
    async fn rekey_account_phone(
        &self,
        id: AccountId,
        from: PhoneHash,
        to: PhoneHash,
        sealed: Vec<u8>,
    ) -> StoreResult<bool> {
        self.inner.rekey_account_phone(id, from, to, sealed).await
    }
}

#[async_trait]
impl DeviceStore for FailingStore {
    async fn put_device(&self, device: &crate::domain::device::Device) -> StoreResult<()> {
        self.inner.put_device(device).await
    }
    async fn devices_of(
        &self,
        account_id: AccountId,
    ) -> StoreResult<Vec<crate::domain::device::Device>> {
        self.inner.devices_of(account_id).await
    }
    async fn remove_device(&self, account_id: AccountId, device_id: Uuid) -> StoreResult<()> {
        self.inner.remove_device(account_id, device_id).await
    }
}

#[async_trait]
impl crate::store::OidcIdentityStore for FailingStore {
    async fn link_oidc_identity(
        &self,
        identity: &crate::store::OidcIdentity,
    ) -> StoreResult<crate::store::OidcLinkOutcome> {
        self.inner.link_oidc_identity(identity).await
    }
    async fn oidc_identity(
        &self,
        key: &crate::store::IdentityKey,
    ) -> StoreResult<Option<crate::store::OidcIdentity>> {
        self.inner.oidc_identity(key).await
    }
    async fn oidc_identities_of(
        &self,
        account_id: AccountId,
    ) -> StoreResult<Vec<crate::store::OidcIdentity>> {
        self.inner.oidc_identities_of(account_id).await
    }
    async fn remove_oidc_identities_of(&self, account_id: AccountId) -> StoreResult<()> {
        self.inner.remove_oidc_identities_of(account_id).await
    }
}

#[async_trait]
impl OutboxStore for FailingStore {
    async fn enqueue_outbox_message(
        &self,
        message: &crate::outbox::message::OutboxMessage,
    ) -> StoreResult<()> {
        self.inner.enqueue_outbox_message(message).await
    }
    async fn outbox_delivery(&self, message_id: Uuid) -> StoreResult<Option<OutboxDelivery>> {
        self.inner.outbox_delivery(message_id).await
    }
    async fn due_outbox_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>> {
        self.inner.due_outbox_deliveries(now_ms, limit).await
    }
    async fn replace_outbox_delivery(
        &self,
        expected_version: u64,
        delivery: &OutboxDelivery,
    ) -> StoreResult<bool> {
        self.inner
            .replace_outbox_delivery(expected_version, delivery)
            .await
    }
    async fn outbox_deliveries(
        &self,
        state: DeliveryState,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>> {
        self.inner.outbox_deliveries(state, now_ms, limit).await
    }
    async fn put_outbox_endpoint(&self, endpoint: &EndpointRecord) -> StoreResult<()> {
        self.inner.put_outbox_endpoint(endpoint).await
    }
    async fn outbox_endpoints(&self) -> StoreResult<Vec<EndpointRecord>> {
        self.inner.outbox_endpoints().await
    }
}

#[async_trait]
impl ReportStore for FailingStore {
    async fn report_cells(&self, selection: CellSelection) -> StoreResult<Vec<ReportCell>> {
        self.inner.report_cells(selection).await
    }
    async fn add_report_facts(&self, facts: &[ReportFact]) -> StoreResult<()> {
        self.inner.add_report_facts(facts).await
    }
    async fn clear_report_cells(&self, from_day: i64, to_day: i64) -> StoreResult<()> {
        self.inner.clear_report_cells(from_day, to_day).await
    }
    async fn roll_up_reports(&self) -> StoreResult<crate::store::report_records::RollUpPass> {
        self.inner.roll_up_reports().await
    }
    async fn scan_connections(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<ConnectionRecord>> {
        self.inner.scan_connections(cursor, limit).await
    }
    async fn scan_ledger_entries(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<LedgerEntry>> {
        self.inner.scan_ledger_entries(cursor, limit).await
    }
    async fn record_availability(&self, record: &AvailabilityRecord) -> StoreResult<()> {
        self.guarded(
            FailPoint::RecordAvailability,
            self.inner.record_availability(record),
        )
        .await
    }
    async fn scan_availability(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<AvailabilityRecord>> {
        self.inner.scan_availability(cursor, limit).await
    }
    async fn scan_vouchers(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Voucher>> {
        self.inner.scan_vouchers(cursor, limit).await
    }
    async fn scan_donations(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Donation>> {
        self.inner.scan_donations(cursor, limit).await
    }
}

#[async_trait]
impl Store for FailingStore {
    fn backend_name(&self) -> &'static str {
        "failing"
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
    async fn close(&self) -> StoreResult<()> {
        self.inner.close().await
    }
}
