//! Records of donations: a donation (the idempotent intent and its answer),
//! the pledge a completed donation lists in its month's statement, and the
//! settlement of a statement.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::AccountId;
use crate::domain::donation::{DonationRefusal, Month, pledge_dollars};

/// Where a donation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DonationStatus {
    /// Written; its steps may be partly done (the recovery pass finishes it).
    Started,
    /// Debited and pledged.
    Completed,
    /// Refused, with any debit given back; `refusal` says why.
    Refused,
}

impl DonationStatus {
    /// The storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DonationStatus::Started => "started",
            DonationStatus::Completed => "completed",
            DonationStatus::Refused => "refused",
        }
    }
}

/// One request to donate, keyed by (account, idempotency key): written first,
/// with insert-if-absent, so a retried request finds it and gets its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Donation {
    /// Who gives.
    pub(crate) account_id: AccountId,
    /// The client's `Idempotency-Key`.
    pub(crate) idempotency_key: String,
    /// Random id: the pledge id and the root of every step's key.
    pub(crate) donation_id: Uuid,
    /// The charity named.
    pub(crate) charity_id: Uuid,
    /// Points given.
    pub(crate) points: u32,
    /// The configured rate when asked: the pledge is worth what it was worth
    /// then, whatever the rate becomes.
    pub(crate) dollars_per_point: Decimal,
    /// When it was asked (Unix ms): the month it is pledged in.
    pub(crate) requested_at_ms: i64,
    /// Who runs it: 0 for the request, +1 per recovery pass taking it over.
    /// Every update is conditional on it, so one runner at a time writes.
    pub(crate) attempt: u32,
    /// When the current runner took it (Unix ms); recovery takes over only
    /// runs older than its grace period.
    pub(crate) attempt_started_at_ms: i64,
    /// Where it stands.
    pub(crate) status: DonationStatus,
    /// Why it was refused, once refused.
    pub(crate) refusal: Option<DonationRefusal>,
}

impl Donation {
    /// Whether a request with these fields is the same request (a replay)
    /// rather than a reuse of the key for another body.
    pub(crate) fn same_request(&self, charity_id: Uuid, points: u32) -> bool {
        self.charity_id == charity_id && self.points == points
    }

    /// The pledge this donation lists once completed.
    pub(crate) fn pledge(&self) -> Pledge {
        Pledge {
            pledge_id: self.donation_id,
            account_id: self.account_id,
            charity_id: self.charity_id,
            month: Month::holding(self.requested_at_ms),
            points: self.points,
            dollars: pledge_dollars(self.points, self.dollars_per_point),
            pledged_at_ms: self.requested_at_ms,
        }
    }
}

/// Outcome of writing a donation, conditional on its (account, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InsertDonationOutcome {
    /// This call wrote it.
    Inserted,
    /// The key was used before: the stored donation.
    Exists(Box<Donation>),
}

/// A completed donation as its month's statement lists it, under (month,
/// charity); its fields never change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pledge {
    /// The donation id.
    pub(crate) pledge_id: Uuid,
    /// Who gave.
    pub(crate) account_id: AccountId,
    /// To whom.
    pub(crate) charity_id: Uuid,
    /// The UTC month it counts in.
    pub(crate) month: Month,
    /// Points given.
    pub(crate) points: u32,
    /// Dollar value at the rate of the day, every digit kept.
    pub(crate) dollars: Decimal,
    /// When it was asked (Unix ms).
    pub(crate) pledged_at_ms: i64,
}

/// That a month's statement was paid out off-system; written once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StatementSettlement {
    /// The month settled.
    pub(crate) month: Month,
    /// When it was marked settled (Unix ms).
    pub(crate) settled_at_ms: i64,
    /// Who marked it (as the audit log names actors).
    pub(crate) settled_by: String,
}
