//! What can go wrong in the catalog, with vouchers, donations and
//! statements, as the HTTP layer needs to tell it apart.

use crate::domain::catalog::FieldError;
use crate::store::StoreError;

/// A catalog request that could not be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CatalogError {
    /// A field of the request is not acceptable (422 `invalid_field`).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// No entry of this type has the id (404 with the entry's own code).
    #[error("no {what} has this id")]
    NotFound {
        /// The error code, e.g. `retailer_not_found`.
        code: &'static str,
        /// What was looked for, e.g. `retailer`.
        what: &'static str,
    },
    /// An offer's `issuer_id` names no retailer (or scheme: municipality).
    #[error("issuer_id: no {what} has this id")]
    IssuerNotFound {
        /// `retailer` or `municipality`.
        what: &'static str,
    },
    /// An active offer's issuer is suspended.
    #[error("issuer_id: the {what} is suspended; suspend the offer too, or reactivate the {what}")]
    IssuerSuspended {
        /// `retailer` or `municipality`.
        what: &'static str,
    },
    /// Concurrent replacements kept changing the entry (409 `conflict`).
    #[error("the entry is being changed concurrently, try again")]
    Contended,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A redemption or voucher request that could not be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VoucherError {
    /// The `Idempotency-Key` was used by this account for another request
    /// (422 `idempotency_key_reused`).
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    /// The first request with this key is still being served (409
    /// `redemption_in_progress`); retry later for its answer.
    #[error("the request with this Idempotency-Key is still being served, retry later")]
    InProgress,
    /// No voucher of the caller has this id (404 `voucher_not_found`).
    #[error("no voucher of yours has this id")]
    NotFound,
    /// The voucher is not issued and unexpired (409 `voucher_not_cancellable`).
    #[error("only an issued voucher can be cancelled before it expires")]
    NotCancellable,
    /// The voucher is cancelled or expired, so it has no token to show (409
    /// `voucher_not_usable`).
    #[error("only an issued voucher that has not expired can be shown")]
    NotUsable,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A donation that could not be served (refusals are answers, not errors).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DonationError {
    /// `points` is outside the bounds of one donation (422 `invalid_field`).
    #[error("points: must be {min} to {max}", min = crate::domain::donation::MIN_DONATION_POINTS, max = crate::domain::donation::MAX_DONATION_POINTS)]
    PointsOutOfRange,
    /// The `Idempotency-Key` was used by this account for another request
    /// (422 `idempotency_key_reused`).
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    /// The first request with this key is still being served (409
    /// `donation_in_progress`); retry later for its answer.
    #[error("the request with this Idempotency-Key is still being served, retry later")]
    InProgress,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A statement request that could not be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StatementError {
    /// The month is not over yet, so it cannot be settled (409
    /// `month_not_over`).
    #[error("the month is not over yet: pledges may still be made in it")]
    MonthNotOver,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
