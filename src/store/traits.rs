//! The storage contract. Every backend implements every trait with the same
//! behaviour, proven by the shared conformance suite (`store::conformance`).
//! Conditional writes (`create_account`, `consume_refresh_token`,
//! `put_otp_challenge`, `append_profile_event`, `insert_connection`,
//! `append_ledger_entry`, `award_trophy`, `put_offer`, `insert_redemption`,
//! `update_redemption`, `move_offer_stock`, `claim_limit_slot`,
//! `insert_voucher`, `transition_voucher`, `insert_donation`,
//! `update_donation`, `settle_statement`, `replace_outbox_delivery`) are atomic: of any number of
//! concurrent callers exactly one succeeds.

use async_trait::async_trait;

use super::{
    AccessGrant, Account, AppendOutcome, AreaListing, AreaPosition, AuditCursor, AuditEntry,
    AwardOutcome, ConnectionCursor, ConnectionRecord, CreateAccountOutcome,
    InsertConnectionOutcome, LedgerAppend, LedgerEntry, NewLedgerEntry, OtpChallenge,
    PairRewardClaim, PhoneHash, RefreshConsumption, RosterEntry, SecretHash, StoreResult,
    TokenFamily, TokenRecord, TrophyAward,
};
use super::{AvailabilityRecord, Donation, InsertDonationOutcome, Pledge, StatementSettlement};
use super::{ImportRef, ImportRun, ImportRunCursor};
use super::{
    InsertRedemptionOutcome, IssuerKey, LimitClaim, PendingRelease, Redemption, StockMove, StockOp,
    VoucherCursor, VoucherTransition,
};
use super::{
    ScanPage,
    report_records::{CellSelection, ReportCell, ReportFact, RollUpPass},
};
use crate::domain::catalog::{Charity, Municipality, OfferKind, Retailer, RewardOffer};
use crate::domain::donation::Month;
use crate::domain::profile::{Profile, ProfileEvent};
use crate::domain::trophy_marks::{MarkChanges, TrophyMark};
use crate::domain::voucher::{LimitWindow, Voucher, VoucherStatus};
use crate::domain::{AccountId, Role};
use crate::outbox::delivery::{DeliveryState, OutboxDelivery};
use crate::outbox::endpoint::EndpointRecord;
use crate::outbox::message::OutboxMessage;

/// Offers read at once by the default [`CatalogStore::offers_by_id`].
const OFFER_READS_AT_ONCE: usize = 32;

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
    /// Marks an existing account disabled since `disabled_at_ms`, or enabled
    /// (`None`); false if there is no such account.
    async fn set_account_disabled(
        &self,
        id: AccountId,
        disabled_at_ms: Option<i64>,
    ) -> StoreResult<bool>;
    /// Notes that the account's deletion started at `started_at_ms`, so it is
    /// finished even if this process stops before it is (idempotent).
    async fn record_account_deletion(&self, id: AccountId, started_at_ms: i64) -> StoreResult<()>;
    /// Up to `limit` deletions started and not finished, with their start times.
    async fn account_deletions(&self, limit: usize) -> StoreResult<Vec<(AccountId, i64)>>;
    /// Forgets the account's phone: the phone index entry (if it still names
    /// this account), the one-time-code state of the phone, and the hash and
    /// sealed number on the account (both left empty). The phone may then sign
    /// up afresh. Idempotent; false if there is no such account.
    async fn erase_account_phone(&self, id: AccountId) -> StoreResult<bool>;
    /// Marks the account's deletion finished (idempotent).
    async fn finish_account_deletion(&self, id: AccountId) -> StoreResult<()>;
}

/// Token families and tokens.
#[async_trait]
pub(crate) trait TokenStore: Send + Sync {
    /// Records a sign-in, or keeps a recorded one longer: the family is kept
    /// at least until `live_until_ms` (the expiry of its newest refresh
    /// token), then dropped once no token of it is left (a TTL on CQL,
    /// `purge_expired_tokens` on the embedded store). Never clears a
    /// revocation.
    async fn insert_token_family(
        &self,
        family: &TokenFamily,
        live_until_ms: i64,
    ) -> StoreResult<()>;
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
    /// The embedded store also removes here the rows that CQL expires with
    /// TTLs (day-scoped reward rows, pair claims, limit slots, stock moves).
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
    /// Removes the roster entry of a phone; false if it had none.
    async fn remove_roster_entry(&self, phone: &PhoneHash) -> StoreResult<bool>;
}

/// The append-only log of administrative actions.
#[async_trait]
pub(crate) trait AuditStore: Send + Sync {
    /// Appends an entry; appending one with a stored id again changes nothing.
    async fn append_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Up to `limit` entries strictly older than `before` (all when `None`),
    /// newest first (by time, then id).
    async fn audit_entries(
        &self,
        before: Option<AuditCursor>,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>>;
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
    /// Overwrites the stored event at `event.seq` (which must exist) with
    /// `event`: used only to erase personal fields when an account is deleted.
    async fn replace_profile_event(&self, event: &ProfileEvent) -> StoreResult<()>;
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
    /// Takes one of the `cap` reward slots of a person's UTC day `day` for
    /// `connection_id` (a slot it holds already counts); false when other
    /// connections hold all of them. Exact across nodes: of any number of
    /// concurrent claims at most `cap` connections hold a slot.
    async fn claim_daily_reward(
        &self,
        account_id: AccountId,
        day: i64,
        cap: u32,
        connection_id: uuid::Uuid,
    ) -> StoreResult<bool>;
    /// Takes a pair's reward for the claiming connection unless another
    /// connection holds it from less than the cooldown before the claim (or
    /// from later); true when the claiming connection holds it (already or
    /// now). Exact across nodes: of concurrent claims of one pair at most one
    /// holds it.
    async fn claim_pair_reward(&self, claim: &PairRewardClaim) -> StoreResult<bool>;
    /// Gives back a pair's reward that `connection_id` holds, restoring the
    /// connection that held it before.
    async fn release_pair_reward(
        &self,
        first: AccountId,
        second: AccountId,
        connection_id: uuid::Uuid,
    ) -> StoreResult<()>;
    /// Up to `limit` records whose credits are not yet marked complete, as of
    /// `now_ms`, in an order that stays the same from one call to the next
    /// (the recovery pass finishes them). A backend may skip marks written
    /// more than an hour after their connection's time (see docs/storage.md).
    async fn incomplete_connections(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>>;
    /// Marks a record's credits, profile events and trophies complete
    /// (idempotent).
    async fn complete_connection(&self, record: &ConnectionRecord) -> StoreResult<()>;
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
    /// Awards the trophy unless the person holds it (atomic insert-if-absent),
    /// with its `trophy.awarded` outbox delivery (written again, if missing,
    /// when the award is repeated for the same connection).
    async fn award_trophy(&self, award: &TrophyAward) -> StoreResult<AwardOutcome>;
    /// Every trophy the person holds, oldest first.
    async fn trophies_of(&self, account_id: AccountId) -> StoreResult<Vec<TrophyAward>>;
    /// The person's trophy marks (`domain::trophy_marks`): a few rows, however
    /// many connections the person made.
    async fn trophy_marks(&self, account_id: AccountId) -> StoreResult<Vec<TrophyMark>>;
    /// Adds and forgets marks of the person. Adding a held mark or forgetting
    /// an absent one changes nothing, so a rerun is harmless.
    async fn change_trophy_marks(
        &self,
        account_id: AccountId,
        changes: &MarkChanges,
    ) -> StoreResult<()>;
}

/// The rewards catalog: retailers, municipalities, charities and offers, each
/// by id, listed in pages, plus the area index browsing reads. Keys a CQL
/// backend can serve with bounded partitions: each entity by id; lists in the
/// backend's order of ids (a page continues after the last id of the previous
/// one); offers by (3-digit ZIP prefix, kind), ordered by the end of validity,
/// so expired offers are skipped by the read itself. Entities are never
/// deleted (they are suspended), so a listing never loses its place.
#[async_trait]
pub(crate) trait CatalogStore: Send + Sync {
    /// Writes a retailer, replacing the one with its id.
    async fn put_retailer(&self, retailer: &Retailer) -> StoreResult<()>;
    /// The retailer with this id.
    async fn retailer(&self, id: uuid::Uuid) -> StoreResult<Option<Retailer>>;
    /// Up to `limit` retailers after the one with id `after` (from the first
    /// when `None`), in the backend's order of ids.
    async fn retailers(
        &self,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Retailer>>;
    /// Writes a municipality, replacing the one with its id.
    async fn put_municipality(&self, municipality: &Municipality) -> StoreResult<()>;
    /// The municipality with this id.
    async fn municipality(&self, id: uuid::Uuid) -> StoreResult<Option<Municipality>>;
    /// Up to `limit` municipalities after `after`, as [`Self::retailers`].
    async fn municipalities(
        &self,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Municipality>>;
    /// Writes a charity, replacing the one with its id.
    async fn put_charity(&self, charity: &Charity) -> StoreResult<()>;
    /// The charity with this id.
    async fn charity(&self, id: uuid::Uuid) -> StoreResult<Option<Charity>>;
    /// Up to `limit` charities after `after`, as [`Self::retailers`].
    async fn charities(&self, after: Option<uuid::Uuid>, limit: usize)
    -> StoreResult<Vec<Charity>>;
    /// Writes `offer` and moves its area index rows. Conditional: with
    /// `previous: None` it applies only if no offer has the id; with
    /// `Some(previous)` only if the stored offer still has `previous.version`
    /// and `previous.remaining` (so a unit taken meanwhile is never given back).
    /// Returns whether it applied. After it applies, the offer is listed under
    /// each prefix of its area and its kind, at its end of validity, and no
    /// longer where `previous` was listed.
    async fn put_offer(
        &self,
        offer: &RewardOffer,
        previous: Option<&RewardOffer>,
    ) -> StoreResult<bool>;
    /// Writes each `(offer, previous)` as [`Self::put_offer`] does, returning
    /// whether each applied, in order. Bulk loads call it; a backend may write
    /// the offers together (the embedded store: one transaction).
    async fn put_offers(
        &self,
        offers: &[(RewardOffer, Option<RewardOffer>)],
    ) -> StoreResult<Vec<bool>> {
        let mut applied = Vec::with_capacity(offers.len());
        for (offer, previous) in offers {
            applied.push(self.put_offer(offer, previous.as_ref()).await?);
        }
        Ok(applied)
    }
    /// The offer with this id.
    async fn offer(&self, id: uuid::Uuid) -> StoreResult<Option<RewardOffer>>;
    /// The offers with these ids, in order (`None` where there is none). Bulk
    /// loads call it; a backend may read them together (the embedded store:
    /// one read transaction), the others read them a few at a time.
    async fn offers_by_id(&self, ids: &[uuid::Uuid]) -> StoreResult<Vec<Option<RewardOffer>>> {
        use futures::{StreamExt, TryStreamExt};
        let reads: Vec<_> = ids.iter().map(|id| self.offer(*id)).collect();
        futures::stream::iter(reads)
            .buffered(OFFER_READS_AT_ONCE)
            .try_collect()
            .await
    }
    /// Up to `limit` offers after `after`, as [`Self::retailers`].
    async fn offers(
        &self,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<RewardOffer>>;
    /// Up to `limit` rows of the area index of (`zip_prefix`, `kind`) for
    /// offers valid after `ending_after_ms`, strictly after `after`, ordered by
    /// end of validity then id, each with its offer (`None` for a stale row).
    async fn offers_in_area(
        &self,
        zip_prefix: &str,
        kind: OfferKind,
        ending_after_ms: i64,
        after: Option<AreaPosition>,
        limit: usize,
    ) -> StoreResult<Vec<AreaListing>>;
}

/// The redemption machinery: the idempotent intent of each request, stock
/// moves and per-person limit slots. Keys a CQL backend can serve with bounded
/// partitions: a redemption by (account, idempotency key); started
/// redemptions in a fixed number of shards; one offer's pending stock move by
/// offer; a stock op by id; the limit slots of (account, offer, window), at
/// most the offer's limit count.
#[async_trait]
pub(crate) trait RedemptionStore: Send + Sync {
    /// Writes `redemption` unless its (account, key) has one, and lists it as
    /// started. Atomic: of concurrent inserts of one key exactly one inserts.
    async fn insert_redemption(
        &self,
        redemption: &Redemption,
    ) -> StoreResult<InsertRedemptionOutcome>;
    /// The redemption of `account_id` under `idempotency_key`.
    async fn redemption(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Redemption>>;
    /// Replaces the stored redemption with `redemption` if the stored one is
    /// still started at attempt `expected_attempt`; a finished one (completed
    /// or refused) leaves the started list. Returns whether it applied.
    async fn update_redemption(
        &self,
        redemption: &Redemption,
        expected_attempt: u32,
    ) -> StoreResult<bool>;
    /// Up to `limit` started redemptions, in no particular order, as of
    /// `now_ms` (a CQL store reads its time buckets up to then).
    async fn started_redemptions(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Redemption>>;
    /// Moves one unit of the offer's `remaining` stock, at most once per
    /// `op.op_id`: a take never takes the last unit twice, and a move is never
    /// applied twice, however calls race or are retried. A conditional write,
    /// like `put_offer`'s, so replacements and moves never lose each other.
    async fn move_offer_stock(&self, op: &StockOp) -> StoreResult<StockMove>;
    /// Gives `holder` one of the `count` slots of (`account_id`, `offer_id`,
    /// `window`), or the one it already holds. Atomic per slot: two holders
    /// never hold one slot.
    async fn claim_limit_slot(
        &self,
        account_id: AccountId,
        offer_id: uuid::Uuid,
        window: LimitWindow,
        count: u32,
        holder: uuid::Uuid,
    ) -> StoreResult<LimitClaim>;
    /// Frees `slot` if `holder` holds it; returns whether it did.
    async fn release_limit_slot(
        &self,
        account_id: AccountId,
        offer_id: uuid::Uuid,
        window: LimitWindow,
        slot: u32,
        holder: uuid::Uuid,
    ) -> StoreResult<bool>;
}

/// Issued vouchers: by id, a person's list newest first, conditional status
/// changes, and the releases (refund, unit, slot) not yet finished.
#[async_trait]
pub(crate) trait VoucherStore: Send + Sync {
    /// Writes `voucher` and lists it for its holder, unless its id exists;
    /// returns the stored voucher (this one, or the one found).
    async fn insert_voucher(&self, voucher: &Voucher) -> StoreResult<Voucher>;
    /// The voucher with this id.
    async fn voucher(&self, voucher_id: uuid::Uuid) -> StoreResult<Option<Voucher>>;
    /// Up to `limit` of a person's vouchers strictly before `before` (all when
    /// `None`), newest first (by issue time, then id).
    async fn vouchers_of(
        &self,
        account_id: AccountId,
        before: Option<VoucherCursor>,
        limit: usize,
    ) -> StoreResult<Vec<Voucher>>;
    /// Moves the voucher from `from` to `to` at `at_ms` if it is in `from`.
    /// Atomic: of concurrent changes from one status exactly one applies.
    async fn transition_voucher(
        &self,
        voucher_id: uuid::Uuid,
        from: VoucherStatus,
        to: VoucherStatus,
        at_ms: i64,
    ) -> StoreResult<VoucherTransition>;
    /// Up to `limit` ids of vouchers still `issued` whose expiry is at or
    /// before `now_ms`, soonest expiry first (a voucher leaves this index when
    /// it leaves `issued`).
    async fn expired_vouchers(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<uuid::Uuid>>;
    /// Notes that the voucher's release is under way (idempotent).
    async fn mark_pending_release(&self, release: PendingRelease) -> StoreResult<()>;
    /// Up to `limit` noted releases, in no particular order, as of `now_ms`.
    async fn pending_releases(&self, now_ms: i64, limit: usize)
    -> StoreResult<Vec<PendingRelease>>;
    /// Forgets a noted release (idempotent).
    async fn clear_pending_release(&self, voucher_id: uuid::Uuid) -> StoreResult<()>;
}

/// Donations and the statements they are settled by. Keys a CQL backend can
/// serve with bounded partitions: a donation by (account, idempotency key);
/// started donations in a fixed number of shards; the pledges of one (UTC
/// month, charity), ordered by pledge id; a settlement by month.
#[async_trait]
pub(crate) trait PledgeStore: Send + Sync {
    /// Writes `donation` unless its (account, key) has one, and lists it as
    /// started. Atomic: of concurrent inserts of one key exactly one inserts.
    async fn insert_donation(&self, donation: &Donation) -> StoreResult<InsertDonationOutcome>;
    /// The donation of `account_id` under `idempotency_key`.
    async fn donation(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Donation>>;
    /// Replaces the stored donation with `donation` if the stored one is
    /// still started at attempt `expected_attempt`; a finished one leaves the
    /// started list. Returns whether it applied.
    async fn update_donation(
        &self,
        donation: &Donation,
        expected_attempt: u32,
    ) -> StoreResult<bool>;
    /// Up to `limit` started donations, in no particular order, as of `now_ms`.
    async fn started_donations(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Donation>>;
    /// Lists `pledge` under its (month, charity); writing it again changes
    /// nothing.
    async fn put_pledge(&self, pledge: &Pledge) -> StoreResult<()>;
    /// Takes a pledge off its (month, charity) list (idempotent).
    async fn remove_pledge(
        &self,
        month: Month,
        charity_id: uuid::Uuid,
        pledge_id: uuid::Uuid,
    ) -> StoreResult<()>;
    /// Up to `limit` pledges of (`month`, `charity_id`) with ids after `after`
    /// (from the first when `None`), in the backend's order of ids.
    async fn pledges(
        &self,
        month: Month,
        charity_id: uuid::Uuid,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Pledge>>;
    /// Records the settlement of its month unless one is recorded; returns
    /// the stored settlement (this one, or the first).
    async fn settle_statement(
        &self,
        settlement: &StatementSettlement,
    ) -> StoreResult<StatementSettlement>;
    /// The settlement of `month`, if it was settled.
    async fn statement_settlement(&self, month: Month) -> StoreResult<Option<StatementSettlement>>;
}

/// The API keys of voucher issuers.
#[async_trait]
pub(crate) trait IssuerKeyStore: Send + Sync {
    /// Writes a new key (its id and hash are fresh random values).
    async fn insert_issuer_key(&self, key: &IssuerKey) -> StoreResult<()>;
    /// The key whose secret hashes to `hash`, revoked or not.
    async fn issuer_key_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<IssuerKey>>;
    /// Every key of an issuer, oldest first.
    async fn issuer_keys_of(&self, issuer_id: uuid::Uuid) -> StoreResult<Vec<IssuerKey>>;
    /// Revokes the issuer's key `key_id` at `at_ms`; a revoked key keeps its
    /// first revocation time. `None` when the issuer has no such key.
    async fn revoke_issuer_key(
        &self,
        issuer_id: uuid::Uuid,
        key_id: uuid::Uuid,
        at_ms: i64,
    ) -> StoreResult<Option<IssuerKey>>;
}

/// The import pipeline's records: runs, the chunks of rows a run stages
/// before it commits, and external ids. Keys a CQL backend can serve with
/// bounded partitions: a run by id; a staged chunk by (run, chunk number); an
/// external id by (kind, ref). Runs are few (one per file an admin loads), so
/// listing them reads them all.
#[async_trait]
pub(crate) trait ImportStore: Send + Sync {
    /// Writes a run, replacing the one with its id.
    async fn put_import_run(&self, run: &ImportRun) -> StoreResult<()>;
    /// The run with this id.
    async fn import_run(&self, run_id: uuid::Uuid) -> StoreResult<Option<ImportRun>>;
    /// Up to `limit` runs strictly older than `before` (all when `None`),
    /// newest first (by start time, then id).
    async fn import_runs(
        &self,
        before: Option<ImportRunCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ImportRun>>;
    /// Stores chunk `chunk` of a run's staged rows (opaque bytes), replacing it.
    async fn stage_import_chunk(
        &self,
        run_id: uuid::Uuid,
        chunk: u64,
        rows: &[u8],
    ) -> StoreResult<()>;
    /// Chunk `chunk` of a run's staged rows.
    async fn staged_import_chunk(
        &self,
        run_id: uuid::Uuid,
        chunk: u64,
    ) -> StoreResult<Option<Vec<u8>>>;
    /// Drops the first `chunks` staged chunks of a run (idempotent).
    async fn drop_staged_import(&self, run_id: uuid::Uuid, chunks: u64) -> StoreResult<()>;
    /// What each of `refs` of `kind` last wrote, in the order asked.
    async fn import_refs(&self, kind: &str, refs: &[String])
    -> StoreResult<Vec<Option<ImportRef>>>;
    /// Records what external ids of `kind` wrote, replacing earlier records.
    async fn put_import_refs(&self, kind: &str, refs: &[(String, ImportRef)]) -> StoreResult<()>;
}

/// The transactional outbox (`crate::outbox`): a delivery is written by the
/// same operation as its fact (`insert_connection` writes the
/// `connection.completed` delivery), and changes only by compare-and-set on
/// its version, so of concurrent changes from one version exactly one applies.
#[async_trait]
pub(crate) trait OutboxStore: Send + Sync {
    /// The delivery of message `message_id`.
    async fn outbox_delivery(&self, message_id: uuid::Uuid) -> StoreResult<Option<OutboxDelivery>>;
    /// Up to `limit` open deliveries due at `now_ms` and held by no live
    /// lease, about earliest first (by `OutboxDelivery::due_at_ms`).
    async fn due_outbox_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>>;
    /// Replaces the stored delivery with `delivery` if the stored version is
    /// `expected_version`; whether it applied (false also when none is stored).
    async fn replace_outbox_delivery(
        &self,
        expected_version: u64,
        delivery: &OutboxDelivery,
    ) -> StoreResult<bool>;
    /// Up to `limit` deliveries in `state`, newest first by when each entered
    /// it (an admin listing; a backend may leave out those that entered it
    /// more than 30 days before `now_ms`).
    async fn outbox_deliveries(
        &self,
        state: DeliveryState,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>>;
    /// Writes the delivery of a message that has no stored fact of its own
    /// (a push notification), unless one with its id is stored.
    async fn enqueue_outbox_message(&self, message: &OutboxMessage) -> StoreResult<()>;
    /// Writes an endpoint, replacing the one with its id.
    async fn put_outbox_endpoint(&self, endpoint: &EndpointRecord) -> StoreResult<()>;
    /// Every endpoint (an admin-made, short list).
    async fn outbox_endpoints(&self) -> StoreResult<Vec<EndpointRecord>>;
}

/// Push devices (`domain::device`), a few per account: a partition per
/// account on CQL.
#[async_trait]
pub(crate) trait DeviceStore: Send + Sync {
    /// Writes `device`, replacing the account's device with its id.
    async fn put_device(&self, device: &crate::domain::device::Device) -> StoreResult<()>;
    /// Every device of `account_id`.
    async fn devices_of(
        &self,
        account_id: AccountId,
    ) -> StoreResult<Vec<crate::domain::device::Device>>;
    /// Removes one of the account's devices (idempotent).
    async fn remove_device(&self, account_id: AccountId, device_id: uuid::Uuid) -> StoreResult<()>;
}

/// Provider identities (OpenID Connect) and the accounts they reach.
#[async_trait]
pub(crate) trait OidcIdentityStore: Send + Sync {
    /// Links `identity.key` to `identity.account_id` unless another account
    /// holds it; linking it again to the same account replaces the stored
    /// email. Atomic: of concurrent links of one key to different accounts
    /// exactly one wins.
    async fn link_oidc_identity(
        &self,
        identity: &super::OidcIdentity,
    ) -> StoreResult<super::OidcLinkOutcome>;
    /// The identity under `key`.
    async fn oidc_identity(
        &self,
        key: &super::IdentityKey,
    ) -> StoreResult<Option<super::OidcIdentity>>;
    /// Every identity linked to `account_id`.
    async fn oidc_identities_of(
        &self,
        account_id: AccountId,
    ) -> StoreResult<Vec<super::OidcIdentity>>;
    /// Unlinks every identity of `account_id` (idempotent): the identities
    /// may then sign up afresh.
    async fn remove_oidc_identities_of(&self, account_id: AccountId) -> StoreResult<()>;
}

/// Report aggregates, maintained as records are written: the facts of a
/// connection are added by `insert_connection`, those of a ledger entry by
/// `append_ledger_entry`, those of a voucher by `insert_voucher` and
/// `transition_voucher`, those of a donation by `update_donation` when it
/// completes, those of an availability stretch by `record_availability`
/// (see `store::report_facts`). Each fact counts once,
/// by its id, however often it is written; a `participants` cell counts each
/// person once. Keys a CQL backend can serve with bounded partitions: the
/// cells or facts of one (metric, UTC day).
#[async_trait]
pub(crate) trait ReportStore: Send + Sync {
    /// The cells `selection` wants (one metric, grain, level and role; the
    /// cells whose period starts on its days), in no particular order; cells
    /// with nothing counted are absent.
    async fn report_cells(&self, selection: CellSelection) -> StoreResult<Vec<ReportCell>>;
    /// Adds the facts not counted yet (a rebuild writes them again with it).
    async fn add_report_facts(&self, facts: &[ReportFact]) -> StoreResult<()>;
    /// Forgets every cell and counted fact of UTC days `from_day..=to_day`
    /// (and every month cell starting on one of them), so a rebuild can count
    /// them again from the records; a rebuild starts on the first day of a
    /// month so that no month cell loses facts it keeps.
    async fn clear_report_cells(&self, from_day: i64, to_day: i64) -> StoreResult<()>;
    /// Rolls up the cells of every day whose facts changed since it was last
    /// rolled up (the CQL store's background pass; reads roll up the days
    /// they need themselves, so this only keeps those few). The embedded
    /// store keeps its cells in each write's transaction: nothing to do.
    async fn roll_up_reports(&self) -> StoreResult<RollUpPass>;
    /// Up to `limit` connection records after `cursor` (from the first when
    /// `None`), in the backend's order; the page says where to continue.
    async fn scan_connections(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<ConnectionRecord>>;
    /// Up to `limit` ledger entries after `cursor`, as [`Self::scan_connections`].
    async fn scan_ledger_entries(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<LedgerEntry>>;
    /// Writes an officer's availability stretch and adds its facts, unless
    /// a stretch with its id is stored (writing it again changes nothing).
    async fn record_availability(&self, record: &AvailabilityRecord) -> StoreResult<()>;
    /// Up to `limit` availability stretches after `cursor`, as
    /// [`Self::scan_connections`].
    async fn scan_availability(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<AvailabilityRecord>>;
    /// Up to `limit` vouchers after `cursor`, as [`Self::scan_connections`].
    async fn scan_vouchers(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Voucher>>;
    /// Up to `limit` donations (any status) after `cursor`, as
    /// [`Self::scan_connections`].
    async fn scan_donations(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Donation>>;
}

/// Moving records to a new master key (`identity::rekey`): every account and
/// roster entry read page by page, and an account's phone moved to its
/// lookup key and seal under the new key.
#[async_trait]
pub(crate) trait KeyRotationStore: Send + Sync {
    /// Up to `limit` accounts after `cursor` (from the first when `None`), in
    /// the backend's order; the page says where to continue.
    async fn scan_accounts(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Account>>;
    /// Up to `limit` roster entries after `cursor`, as [`Self::scan_accounts`].
    async fn scan_roster(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<RosterEntry>>;
    /// Moves account `id`'s phone from lookup key `from` to `to`, sealed as
    /// `sealed`: the phone index names it under `to` and no longer under
    /// `from`. False when the account is gone or no longer under `from`, or
    /// when `to` already names another account (nothing is changed then).
    async fn rekey_account_phone(
        &self,
        id: AccountId,
        from: PhoneHash,
        to: PhoneHash,
        sealed: Vec<u8>,
    ) -> StoreResult<bool>;
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
    + AuditStore
    + CatalogStore
    + RedemptionStore
    + VoucherStore
    + PledgeStore
    + IssuerKeyStore
    + ImportStore
    + OutboxStore
    + DeviceStore
    + OidcIdentityStore
    + ReportStore
    + KeyRotationStore
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
