//! Redeeming points for a voucher, exactly once and all or nothing.
//!
//! A request first writes its redemption (keyed by account and
//! `Idempotency-Key`, insert-if-absent): a retry finds it and gets its answer,
//! and a reuse of the key for another body is told apart. The runner then
//! takes each step under a key derived from the redemption id, so running the
//! steps again changes nothing that is done: it judges the offer at the
//! request's time; takes a per-person limit slot (when the offer has a limit);
//! takes a unit of stock (when limited); debits the points; writes the voucher
//! (its id is the redemption id); and moves the redemption to `completed` with
//! the voucher as its answer. A refused step gives back what the earlier steps
//! took, and the redemption moves to `refused` with the reason.
//!
//! Every redemption update is conditional on the runner's `attempt`, so one
//! runner at a time writes. A runner that stops (a crash, a store failure)
//! leaves the redemption `started`; [`Redemptions::recover`] takes over those
//! older than a grace period (bumping the attempt), and runs the same steps:
//! done steps are found done, the rest are taken or the whole is given back.

use std::sync::Arc;

use uuid::Uuid;

use super::VoucherError;
use super::entries::issuer_of;
use super::profile_events::note_once;
use crate::clock::Clock;
use crate::domain::AccountId;
use crate::domain::catalog::{CatalogStatus, RewardOffer};
use crate::domain::profile::ProfileEventKind;
use crate::domain::voucher::{
    LimitSlot, LimitWindow, RedemptionRefusal, StepKey, Voucher, VoucherStatus,
};
use crate::profiles::Profiles;
use crate::store::{
    InsertRedemptionOutcome, LedgerAppend, LedgerReason, LimitClaim, NewLedgerEntry, Redemption,
    RedemptionStatus, StockDirection, StockMove, StockOp, Store, StoreResult,
};

/// Started redemptions (and pending releases) looked at per recovery pass.
const RECOVERY_BATCH: usize = 500;

/// What a person asks to redeem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedeemRequest {
    /// The offer or scheme.
    pub(crate) offer_id: Uuid,
    /// The ZIP the person chose in the app (checked against the offer's area).
    pub(crate) zip: String,
}

/// The answer to a redemption (the same for every replay of its key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RedemptionAnswer {
    /// A voucher was issued.
    Issued(Voucher),
    /// Refused; nothing was taken.
    Refused(RedemptionRefusal),
}

/// What a recovery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Started redemptions finished (completed or refused).
    pub(crate) redemptions: usize,
    /// Voucher releases finished.
    pub(crate) releases: usize,
    /// Unused vouchers expired (points, unit and slot given back).
    pub(crate) expired: usize,
}

/// Redemptions, vouchers and their recovery.
#[derive(Debug, Clone)]
pub(crate) struct Redemptions {
    /// Redemptions, stock, ledger, vouchers.
    pub(super) store: Arc<dyn Store>,
    /// Request and status times.
    pub(super) clock: Clock,
    /// Where `voucher_issued` and `voucher_redeemed` go.
    pub(super) profiles: Profiles,
}

/// How a run of the steps ended.
type StepsOutcome = Result<Voucher, RedemptionRefusal>;

impl Redemptions {
    /// The service over `store`, stamped with `clock`.
    pub(crate) fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self {
            profiles: Profiles::new(Arc::clone(&store), clock),
            store,
            clock,
        }
    }

    /// Redeems `request` for `account_id` under `idempotency_key`: the stored
    /// answer when the key was used for the same request before.
    pub(crate) async fn redeem(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
        request: &RedeemRequest,
    ) -> Result<RedemptionAnswer, VoucherError> {
        let now_ms = self.clock.now_ms();
        let redemption = Redemption {
            account_id,
            idempotency_key: idempotency_key.to_owned(),
            redemption_id: Uuid::new_v4(),
            offer_id: request.offer_id,
            zip: request.zip.clone(),
            requested_at_ms: now_ms,
            attempt: 0,
            attempt_started_at_ms: now_ms,
            status: RedemptionStatus::Started,
            voucher: None,
            refusal: None,
        };
        match self.store.insert_redemption(&redemption).await? {
            InsertRedemptionOutcome::Inserted => self.run(redemption).await,
            InsertRedemptionOutcome::Exists(existing) => replay(&existing, request),
        }
    }

    /// Finishes started redemptions whose runner took them at least
    /// `grace_ms` ago and voucher releases noted at least `grace_ms` ago, then
    /// expires the vouchers whose lifetime ended.
    pub(crate) async fn recover(&self, grace_ms: i64) -> Result<Recovered, VoucherError> {
        let now_ms = self.clock.now_ms();
        let mut recovered = Recovered::default();
        for stale in self
            .store
            .started_redemptions(now_ms, RECOVERY_BATCH)
            .await?
        {
            if now_ms - stale.attempt_started_at_ms < grace_ms {
                continue;
            }
            let taken_over = Redemption {
                attempt: stale.attempt + 1,
                attempt_started_at_ms: now_ms,
                ..stale.clone()
            };
            if !self
                .store
                .update_redemption(&taken_over, stale.attempt)
                .await?
            {
                continue;
            }
            tracing::warn!(redemption_id = %stale.redemption_id, attempt = taken_over.attempt, "finishing an interrupted redemption");
            self.run(taken_over).await?;
            recovered.redemptions += 1;
        }
        for pending in self.store.pending_releases(now_ms, RECOVERY_BATCH).await? {
            if now_ms - pending.marked_at_ms < grace_ms {
                continue;
            }
            self.finish_release(pending.voucher_id).await?;
            recovered.releases += 1;
        }
        recovered.expired = self.expire_due().await?;
        Ok(recovered)
    }

    /// Runs the steps of `redemption` as its current runner and stores the
    /// answer.
    async fn run(&self, redemption: Redemption) -> Result<RedemptionAnswer, VoucherError> {
        // A voucher is the last step: when one exists the steps are done.
        let mut outcome = match self.store.voucher(redemption.redemption_id).await? {
            Some(voucher) => Ok(voucher),
            None => self.take_steps(&redemption).await?,
        };
        if let Ok(voucher) = &outcome
            && voucher.status == VoucherStatus::Issued
            && self.clock.now_ms() >= voucher.expires_at_ms
        {
            // Written after its lifetime ended (a redemption recovered late):
            // expired here, since the sweep may already be past its hour.
            self.expire(voucher.voucher_id, self.clock.now_ms()).await?;
            outcome = Ok(self
                .store
                .voucher(voucher.voucher_id)
                .await?
                .unwrap_or_else(|| voucher.clone()));
        }
        if let Ok(voucher) = &outcome {
            // Before the redemption completes, so a recovery run adds it too.
            let voucher_id = voucher.voucher_id;
            note_once(
                &self.profiles,
                voucher.account_id,
                ProfileEventKind::VoucherIssued {
                    voucher_id,
                    offer_id: voucher.offer_id,
                    points: voucher.points,
                },
                |kind| matches!(kind, ProfileEventKind::VoucherIssued { voucher_id: seen, .. } if *seen == voucher_id),
                voucher.issued_at_ms,
            )
            .await?;
        }
        let (status, answer) = match outcome {
            Ok(voucher) => (
                RedemptionStatus::Completed,
                RedemptionAnswer::Issued(voucher),
            ),
            Err(refusal) => (
                RedemptionStatus::Refused,
                RedemptionAnswer::Refused(refusal),
            ),
        };
        let finished = Redemption {
            status,
            voucher: match &answer {
                RedemptionAnswer::Issued(voucher) => Some(voucher.clone()),
                RedemptionAnswer::Refused(_) => None,
            },
            refusal: match &answer {
                RedemptionAnswer::Issued(_) => None,
                RedemptionAnswer::Refused(refusal) => Some(*refusal),
            },
            ..redemption
        };
        if self
            .store
            .update_redemption(&finished, finished.attempt)
            .await?
        {
            crate::metrics::redemption_finished(&answer);
            return Ok(answer);
        }
        // Another runner took over: its answer is the one that stands.
        let stored = self
            .store
            .redemption(finished.account_id, &finished.idempotency_key)
            .await?;
        match stored {
            Some(stored) => replay(&stored, &request_of(&stored)),
            None => Err(VoucherError::InProgress),
        }
    }

    /// The steps after the checks; a refusal gives back what was taken.
    async fn take_steps(&self, redemption: &Redemption) -> Result<StepsOutcome, VoucherError> {
        let offer = match self.judge(redemption).await? {
            Ok(offer) => offer,
            Err(refusal) => {
                if redemption.attempt > 0 {
                    self.give_back_unknown(redemption).await?;
                }
                return Ok(Err(refusal));
            }
        };
        if redemption.attempt == 0
            && self.store.balance(redemption.account_id).await? < i64::from(offer.point_cost)
        {
            // Nothing taken yet: refuse before touching shared stock.
            return Ok(Err(RedemptionRefusal::InsufficientPoints));
        }
        let limit_slot = match self.claim_slot(redemption, &offer).await? {
            Ok(slot) => slot,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let stock_taken = match self
            .move_stock(redemption, StepKey::StockTake, StockDirection::Take)
            .await?
        {
            StockMove::Applied { .. } | StockMove::AlreadyApplied => true,
            StockMove::Unlimited => false,
            refused @ (StockMove::OutOfStock | StockMove::UnknownOffer) => {
                self.release_slot(redemption, limit_slot).await?;
                return Ok(Err(match refused {
                    StockMove::OutOfStock => RedemptionRefusal::OutOfStock,
                    _ => RedemptionRefusal::OfferNotAvailable,
                }));
            }
        };
        let debit = self
            .store
            .append_ledger_entry(&debit_of(redemption, offer.point_cost))
            .await?;
        let points = match debit {
            LedgerAppend::Appended(entry) | LedgerAppend::Duplicate(entry) => {
                u32::try_from(-entry.delta).unwrap_or(offer.point_cost)
            }
            LedgerAppend::InsufficientBalance { .. } => {
                if stock_taken {
                    self.move_stock(redemption, StepKey::StockReturn, StockDirection::Return)
                        .await?;
                }
                self.release_slot(redemption, limit_slot).await?;
                return Ok(Err(RedemptionRefusal::InsufficientPoints));
            }
        };
        let lifetime_ms = i64::from(offer.voucher_lifetime_seconds) * 1_000;
        let voucher = Voucher {
            voucher_id: redemption.redemption_id,
            account_id: redemption.account_id,
            offer_id: offer.id,
            kind: offer.kind,
            issuer_id: offer.issuer_id,
            title: offer.title.clone(),
            points,
            issued_at_ms: redemption.requested_at_ms,
            expires_at_ms: redemption.requested_at_ms + lifetime_ms,
            status: VoucherStatus::Issued,
            status_changed_at_ms: None,
            stock_taken,
            limit_slot,
        };
        Ok(Ok(self.store.insert_voucher(&voucher).await?))
    }

    /// The offer, if the person may redeem it: known, active, valid at the
    /// request's time, its issuer active, and offered in the person's ZIP.
    async fn judge(
        &self,
        redemption: &Redemption,
    ) -> StoreResult<Result<RewardOffer, RedemptionRefusal>> {
        let Some(offer) = self.store.offer(redemption.offer_id).await? else {
            return Ok(Err(RedemptionRefusal::OfferNotAvailable));
        };
        let at_ms = redemption.requested_at_ms;
        let valid = offer.status == CatalogStatus::Active
            && offer.valid_from_ms <= at_ms
            && at_ms < offer.valid_until_ms;
        if !valid {
            return Ok(Err(RedemptionRefusal::OfferNotAvailable));
        }
        let issuer = issuer_of(self.store.as_ref(), offer.kind, offer.issuer_id).await?;
        if !issuer.is_some_and(|issuer| issuer.status == CatalogStatus::Active) {
            return Ok(Err(RedemptionRefusal::OfferNotAvailable));
        }
        if !offer.area.covers(&redemption.zip) {
            return Ok(Err(RedemptionRefusal::NotInYourArea));
        }
        Ok(Ok(offer))
    }

    /// A per-person limit slot for the redemption, when the offer has a limit.
    async fn claim_slot(
        &self,
        redemption: &Redemption,
        offer: &RewardOffer,
    ) -> StoreResult<Result<Option<LimitSlot>, RedemptionRefusal>> {
        let Some(limit) = offer.per_person_limit else {
            return Ok(Ok(None));
        };
        let window = LimitWindow::holding(limit.per, redemption.requested_at_ms);
        let claim = self
            .store
            .claim_limit_slot(
                redemption.account_id,
                offer.id,
                window,
                limit.count,
                redemption.redemption_id,
            )
            .await?;
        Ok(match claim {
            LimitClaim::Held { slot } => Ok(Some(LimitSlot { window, slot })),
            LimitClaim::Full => Err(RedemptionRefusal::RedemptionLimitReached),
        })
    }

    /// Frees the redemption's limit slot, if it took one.
    async fn release_slot(
        &self,
        redemption: &Redemption,
        limit_slot: Option<LimitSlot>,
    ) -> StoreResult<()> {
        if let Some(held) = limit_slot {
            self.store
                .release_limit_slot(
                    redemption.account_id,
                    redemption.offer_id,
                    held.window,
                    held.slot,
                    redemption.redemption_id,
                )
                .await?;
        }
        Ok(())
    }

    /// Moves one unit of the redemption's offer under the step's key.
    async fn move_stock(
        &self,
        redemption: &Redemption,
        step: StepKey,
        direction: StockDirection,
    ) -> StoreResult<StockMove> {
        self.store
            .move_offer_stock(&StockOp {
                op_id: step.of(redemption.redemption_id),
                offer_id: redemption.offer_id,
                direction,
                at_ms: self.clock.now_ms(),
            })
            .await
    }

    /// Gives back whatever an earlier runner of `redemption` may have taken,
    /// when a later runner refuses it at the checks (the offer was suspended
    /// meanwhile). Each step is first taken under its own key — found done, or
    /// done now — and then given back under its give-back key, so what was
    /// taken is given back exactly once and nothing else changes.
    async fn give_back_unknown(&self, redemption: &Redemption) -> Result<(), VoucherError> {
        let Some(offer) = self.store.offer(redemption.offer_id).await? else {
            return Ok(());
        };
        if let Ok(Some(slot)) = self.claim_slot(redemption, &offer).await? {
            self.release_slot(redemption, Some(slot)).await?;
        }
        let taken = self
            .move_stock(redemption, StepKey::StockTake, StockDirection::Take)
            .await?;
        if matches!(taken, StockMove::Applied { .. } | StockMove::AlreadyApplied) {
            self.move_stock(redemption, StepKey::StockReturn, StockDirection::Return)
                .await?;
        }
        let debit = self
            .store
            .append_ledger_entry(&debit_of(redemption, offer.point_cost))
            .await?;
        if let LedgerAppend::Appended(entry) | LedgerAppend::Duplicate(entry) = debit {
            self.store
                .append_ledger_entry(&NewLedgerEntry {
                    entry_id: StepKey::RedemptionRefund.of(redemption.redemption_id),
                    account_id: redemption.account_id,
                    at_ms: self.clock.now_ms(),
                    delta: -entry.delta,
                    reason: LedgerReason::Refund,
                    reference: Some(redemption.redemption_id),
                })
                .await?;
        }
        Ok(())
    }
}

/// The ledger debit of a redemption.
fn debit_of(redemption: &Redemption, point_cost: u32) -> NewLedgerEntry {
    NewLedgerEntry {
        entry_id: StepKey::RedemptionDebit.of(redemption.redemption_id),
        account_id: redemption.account_id,
        at_ms: redemption.requested_at_ms,
        delta: -i64::from(point_cost),
        reason: LedgerReason::Redemption,
        reference: Some(redemption.redemption_id),
    }
}

/// The request a stored redemption answers.
fn request_of(redemption: &Redemption) -> RedeemRequest {
    RedeemRequest {
        offer_id: redemption.offer_id,
        zip: redemption.zip.clone(),
    }
}

/// The stored answer to a request that reuses a key.
fn replay(stored: &Redemption, request: &RedeemRequest) -> Result<RedemptionAnswer, VoucherError> {
    if !stored.same_request(request.offer_id, &request.zip) {
        return Err(VoucherError::IdempotencyKeyReused);
    }
    match (stored.status, &stored.voucher, stored.refusal) {
        (RedemptionStatus::Completed, Some(voucher), _) => {
            Ok(RedemptionAnswer::Issued(voucher.clone()))
        }
        (RedemptionStatus::Refused, _, Some(refusal)) => Ok(RedemptionAnswer::Refused(refusal)),
        (RedemptionStatus::Started, _, _)
        | (RedemptionStatus::Completed, None, _)
        | (RedemptionStatus::Refused, _, None) => Err(VoucherError::InProgress),
    }
}
