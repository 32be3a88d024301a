//! Records of the redemption machinery: a redemption (the idempotent intent and
//! its answer), stock moves, per-person limit slots, voucher listings, and the
//! API keys issuers redeem vouchers with.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SecretHash;
use crate::domain::AccountId;
use crate::domain::catalog::OfferKind;
use crate::domain::voucher::{RedemptionRefusal, Voucher};

/// Where a redemption stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RedemptionStatus {
    /// Written; its steps may be partly done (the recovery pass finishes it).
    Started,
    /// A voucher was issued; `voucher` holds the answer.
    Completed,
    /// Refused, with everything it had taken given back; `refusal` says why.
    Refused,
}

impl RedemptionStatus {
    /// The storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RedemptionStatus::Started => "started",
            RedemptionStatus::Completed => "completed",
            RedemptionStatus::Refused => "refused",
        }
    }
}

/// One request to redeem, keyed by (account, idempotency key): written first,
/// with insert-if-absent, so a retried request finds it and gets its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Redemption {
    /// Who redeems.
    pub(crate) account_id: AccountId,
    /// The client's `Idempotency-Key`.
    pub(crate) idempotency_key: String,
    /// Random id: the voucher id and the root of every step's key.
    pub(crate) redemption_id: Uuid,
    /// The offer asked for.
    pub(crate) offer_id: Uuid,
    /// The ZIP the person gave.
    pub(crate) zip: String,
    /// When it was asked (Unix ms): the time its rules are judged at.
    pub(crate) requested_at_ms: i64,
    /// Who runs it: 0 for the request, +1 per recovery pass taking it over.
    /// Every update is conditional on it, so one runner at a time writes.
    pub(crate) attempt: u32,
    /// When the current runner took it (Unix ms); recovery takes over only
    /// runs older than its grace period.
    pub(crate) attempt_started_at_ms: i64,
    /// Where it stands.
    pub(crate) status: RedemptionStatus,
    /// The voucher issued, once completed.
    pub(crate) voucher: Option<Voucher>,
    /// Why it was refused, once refused.
    pub(crate) refusal: Option<RedemptionRefusal>,
}

impl Redemption {
    /// Whether a request with these fields is the same request (a replay)
    /// rather than a reuse of the key for another body.
    pub(crate) fn same_request(&self, offer_id: Uuid, zip: &str) -> bool {
        self.offer_id == offer_id && self.zip == zip
    }
}

/// Outcome of writing a redemption, conditional on its (account, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InsertRedemptionOutcome {
    /// This call wrote it.
    Inserted,
    /// The key was used before: the stored redemption.
    Exists(Box<Redemption>),
}

/// Which way a stock move goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StockDirection {
    /// One unit out (a redemption).
    Take,
    /// One unit back (a rollback or a cancel).
    Return,
}

/// One move of one unit of an offer's stock, applied at most once per `op_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StockOp {
    /// Idempotency key (derived from the redemption or voucher).
    pub(crate) op_id: Uuid,
    /// The offer.
    pub(crate) offer_id: Uuid,
    /// Out or back.
    pub(crate) direction: StockDirection,
    /// When (Unix ms).
    pub(crate) at_ms: i64,
}

/// Outcome of a stock move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StockMove {
    /// This call moved the unit; the units left after it.
    Applied {
        /// `remaining` after the move.
        remaining: u32,
    },
    /// A call with this op id moved it before; nothing changed.
    AlreadyApplied,
    /// A take with no unit left; nothing changed.
    OutOfStock,
    /// The offer has no stock count; nothing changed.
    Unlimited,
    /// No offer has this id.
    UnknownOffer,
}

/// Outcome of claiming a per-person limit slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitClaim {
    /// The holder holds this slot (now, or from an earlier call).
    Held {
        /// The slot number.
        slot: u32,
    },
    /// Every slot of the window is held by others.
    Full,
}

/// A position in a person's voucher list (newest first): pages continue
/// strictly before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VoucherCursor {
    /// `issued_at_ms` of the last voucher of the previous page.
    pub(crate) issued_at_ms: i64,
    /// Its id (vouchers of one millisecond are ordered by id).
    pub(crate) voucher_id: Uuid,
}

/// Outcome of a conditional voucher status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VoucherTransition {
    /// This call changed it; the voucher after the change.
    Applied(Voucher),
    /// The voucher was not in the expected status (returned), or is missing.
    Refused(Option<Voucher>),
}

/// A voucher whose release (refund, unit, slot) was started: kept until the
/// release is finished, so a crash in between is finished by recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingRelease {
    /// The voucher.
    pub(crate) voucher_id: Uuid,
    /// When the release was started (Unix ms).
    pub(crate) marked_at_ms: i64,
}

/// An issuer's API key as stored: a retailer's (or a municipality's) counter
/// system checks and redeems the vouchers of its offers with it. The key is
/// shown once when created; only its SHA-256 is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IssuerKey {
    /// Stable id, shown in lists and used to revoke it.
    pub(crate) key_id: Uuid,
    /// Which table `issuer_id` names: offers are a retailer's, schemes a
    /// municipality's.
    pub(crate) kind: OfferKind,
    /// The retailer or municipality the key acts for.
    pub(crate) issuer_id: Uuid,
    /// What the admin called it (e.g. "Till 2, Main St").
    pub(crate) label: String,
    /// SHA-256 of the key.
    pub(crate) secret_hash: SecretHash,
    /// Creation time (Unix ms).
    pub(crate) created_at_ms: i64,
    /// When it was revoked (Unix ms); `None` while it works.
    pub(crate) revoked_at_ms: Option<i64>,
}
