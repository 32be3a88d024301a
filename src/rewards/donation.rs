//! Donating points to a charity, exactly once and all or nothing.
//!
//! A request first writes its donation (keyed by account and
//! `Idempotency-Key`, insert-if-absent): a retry finds it and gets its
//! answer, and a reuse of the key for another body is told apart. The runner
//! then judges the charity (known and active), debits the points under a key
//! derived from the donation id (so running again debits nothing more), lists
//! the pledge under its month and charity, and moves the donation to
//! `completed`. The pledge keeps the dollar value at the rate of the request,
//! so a later change of rate never re-prices it.
//!
//! Every donation update is conditional on the runner's `attempt`, so one
//! runner at a time writes. A runner that stops leaves the donation
//! `started`; [`Donations::recover`] takes over those older than a grace
//! period and runs the same steps. When the charity was suspended meanwhile,
//! a debit an earlier runner made (after judging the charity active) stands
//! and the pledge is completed; a debit only the recovery makes is refunded
//! and the donation refused. So a donation either completes, or leaves the
//! balance as it was.

use super::profile_events::note_once;
use crate::domain::profile::ProfileEventKind;
use crate::profiles::Profiles;
use std::sync::Arc;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::DonationError;
use crate::clock::Clock;
use crate::domain::AccountId;
use crate::domain::catalog::CatalogStatus;
use crate::domain::donation::{DonationRefusal, MAX_DONATION_POINTS, MIN_DONATION_POINTS};
use crate::domain::voucher::StepKey;
use crate::store::{
    Donation, DonationStatus, InsertDonationOutcome, LedgerAppend, LedgerReason, NewLedgerEntry,
    Store, StoreResult,
};

/// Started donations looked at per recovery pass.
const RECOVERY_BATCH: usize = 500;

/// What a person asks to donate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DonateRequest {
    /// The charity.
    pub(crate) charity_id: Uuid,
    /// Points to give, `MIN_DONATION_POINTS` to `MAX_DONATION_POINTS`.
    pub(crate) points: u32,
}

/// The answer to a donation (the same for every replay of its key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DonationAnswer {
    /// Debited and pledged: the completed donation.
    Pledged(Box<Donation>),
    /// Refused; the balance is as it was.
    Refused(DonationRefusal),
}

/// Donations and their recovery.
#[derive(Debug, Clone)]
pub(crate) struct Donations {
    /// Donations, charities, the ledger and pledges.
    store: Arc<dyn Store>,
    /// Request and status times.
    clock: Clock,
    /// The configured value of a point, stamped on each donation.
    dollars_per_point: Decimal,
    /// Where `donation_made` goes.
    profiles: Profiles,
}

/// How a run of the steps ended.
type StepsOutcome = Result<(), DonationRefusal>;

impl Donations {
    /// The service over `store`, stamped with `clock`, pricing points at
    /// `dollars_per_point`.
    pub(crate) fn new(store: Arc<dyn Store>, clock: Clock, dollars_per_point: Decimal) -> Self {
        Self {
            profiles: Profiles::new(Arc::clone(&store), clock),
            store,
            clock,
            dollars_per_point,
        }
    }

    /// Donates as `request` says for `account_id` under `idempotency_key`:
    /// the stored answer when the key was used for the same request before.
    pub(crate) async fn donate(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
        request: DonateRequest,
    ) -> Result<DonationAnswer, DonationError> {
        if !(MIN_DONATION_POINTS..=MAX_DONATION_POINTS).contains(&request.points) {
            return Err(DonationError::PointsOutOfRange);
        }
        let now_ms = self.clock.now_ms();
        let donation = Donation {
            account_id,
            idempotency_key: idempotency_key.to_owned(),
            donation_id: Uuid::new_v4(),
            charity_id: request.charity_id,
            points: request.points,
            dollars_per_point: self.dollars_per_point,
            requested_at_ms: now_ms,
            attempt: 0,
            attempt_started_at_ms: now_ms,
            status: DonationStatus::Started,
            refusal: None,
        };
        match self.store.insert_donation(&donation).await? {
            InsertDonationOutcome::Inserted => self.run(donation).await,
            InsertDonationOutcome::Exists(existing) => replay(&existing, request),
        }
    }

    /// Finishes started donations whose runner took them at least `grace_ms`
    /// ago; returns how many.
    pub(crate) async fn recover(&self, grace_ms: i64) -> Result<usize, DonationError> {
        let now_ms = self.clock.now_ms();
        let mut finished = 0;
        for stale in self.store.started_donations(now_ms, RECOVERY_BATCH).await? {
            if now_ms - stale.attempt_started_at_ms < grace_ms {
                continue;
            }
            let taken_over = Donation {
                attempt: stale.attempt + 1,
                attempt_started_at_ms: now_ms,
                ..stale.clone()
            };
            if !self
                .store
                .update_donation(&taken_over, stale.attempt)
                .await?
            {
                continue;
            }
            tracing::warn!(donation_id = %stale.donation_id, attempt = taken_over.attempt, "finishing an interrupted donation");
            self.run(taken_over).await?;
            finished += 1;
        }
        Ok(finished)
    }

    /// Runs the steps of `donation` as its current runner and stores the
    /// answer.
    async fn run(&self, donation: Donation) -> Result<DonationAnswer, DonationError> {
        let outcome = self.take_steps(&donation).await?;
        if outcome.is_ok() {
            // Before the donation completes, so a recovery run adds it too.
            let donation_id = donation.donation_id;
            note_once(
                &self.profiles,
                donation.account_id,
                ProfileEventKind::DonationMade {
                    donation_id,
                    charity_id: donation.charity_id,
                    points: donation.points,
                },
                |kind| matches!(kind, ProfileEventKind::DonationMade { donation_id: seen, .. } if *seen == donation_id),
                donation.requested_at_ms,
            )
            .await?;
        }
        let finished = Donation {
            status: match outcome {
                Ok(()) => DonationStatus::Completed,
                Err(_) => DonationStatus::Refused,
            },
            refusal: outcome.err(),
            ..donation
        };
        if self
            .store
            .update_donation(&finished, finished.attempt)
            .await?
        {
            let answer = answer_of(&finished);
            crate::metrics::donation_finished(&answer);
            return Ok(answer);
        }
        // Another runner took over: its answer is the one that stands.
        let stored = self
            .store
            .donation(finished.account_id, &finished.idempotency_key)
            .await?;
        let Some(stored) = stored else {
            return Err(DonationError::InProgress);
        };
        if outcome.is_ok() && stored.status == DonationStatus::Refused {
            // The pledge listed above belongs to no completed donation.
            let pledge = finished.pledge();
            self.store
                .remove_pledge(pledge.month, pledge.charity_id, pledge.pledge_id)
                .await?;
        }
        replay(&stored, request_of(&stored))
    }

    /// Judges the charity, debits the points and lists the pledge.
    async fn take_steps(&self, donation: &Donation) -> StoreResult<StepsOutcome> {
        let judged = self.judge(donation).await?;
        if let Err(refusal) = judged
            && donation.attempt == 0
        {
            // Nothing taken yet.
            return Ok(Err(refusal));
        }
        match self.store.append_ledger_entry(&debit_of(donation)).await? {
            LedgerAppend::InsufficientBalance { .. } => {
                return Ok(Err(judged
                    .err()
                    .unwrap_or(DonationRefusal::InsufficientPoints)));
            }
            LedgerAppend::Appended(_) if judged.is_err() => {
                // Only this recovery debited, for a charity not available: give back.
                self.store
                    .append_ledger_entry(&refund_of(donation, self.clock.now_ms()))
                    .await?;
                return Ok(judged);
            }
            // Debited now after a good judgement, or by an earlier runner
            // after its own: the donation stands.
            LedgerAppend::Appended(_) | LedgerAppend::Duplicate(_) => {}
        }
        self.store.put_pledge(&donation.pledge()).await?;
        Ok(Ok(()))
    }

    /// Whether the charity takes the donation: known and active.
    async fn judge(&self, donation: &Donation) -> StoreResult<StepsOutcome> {
        Ok(match self.store.charity(donation.charity_id).await? {
            None => Err(DonationRefusal::CharityNotFound),
            Some(charity) if charity.status != CatalogStatus::Active => {
                Err(DonationRefusal::CharityNotAvailable)
            }
            Some(_) => Ok(()),
        })
    }
}

/// The ledger debit of a donation.
fn debit_of(donation: &Donation) -> NewLedgerEntry {
    NewLedgerEntry {
        entry_id: StepKey::DonationDebit.of(donation.donation_id),
        account_id: donation.account_id,
        at_ms: donation.requested_at_ms,
        delta: -i64::from(donation.points),
        reason: LedgerReason::Donation,
        reference: Some(donation.donation_id),
    }
}

/// The refund of a donation refused after its debit. It names no reference:
/// a refund's reference reads as a voucher id, and its entry id is derived
/// from the donation id anyway.
fn refund_of(donation: &Donation, at_ms: i64) -> NewLedgerEntry {
    NewLedgerEntry {
        entry_id: StepKey::DonationRefund.of(donation.donation_id),
        account_id: donation.account_id,
        at_ms,
        delta: i64::from(donation.points),
        reason: LedgerReason::Refund,
        reference: None,
    }
}

/// The request a stored donation answers.
fn request_of(donation: &Donation) -> DonateRequest {
    DonateRequest {
        charity_id: donation.charity_id,
        points: donation.points,
    }
}

/// The answer of a finished donation.
fn answer_of(finished: &Donation) -> DonationAnswer {
    match finished.refusal {
        Some(refusal) => DonationAnswer::Refused(refusal),
        None => DonationAnswer::Pledged(Box::new(finished.clone())),
    }
}

/// The stored answer to a request that reuses a key.
fn replay(stored: &Donation, request: DonateRequest) -> Result<DonationAnswer, DonationError> {
    if !stored.same_request(request.charity_id, request.points) {
        return Err(DonationError::IdempotencyKeyReused);
    }
    match (stored.status, stored.refusal) {
        (DonationStatus::Completed, _) => Ok(DonationAnswer::Pledged(Box::new(stored.clone()))),
        (DonationStatus::Refused, Some(refusal)) => Ok(DonationAnswer::Refused(refusal)),
        (DonationStatus::Started, _) | (DonationStatus::Refused, None) => {
            Err(DonationError::InProgress)
        }
    }
}
