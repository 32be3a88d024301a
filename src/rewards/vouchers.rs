//! A person's vouchers: reading them, and cancelling one. Cancelling is one
//! conditional status change (`issued` → `cancelled`), so of any number of
//! concurrent cancels (and, later, the expiry sweep, which makes the same kind
//! of change) exactly one applies; the release that follows — the refund, the
//! unit of stock and the limit slot — is written under keys derived from the
//! voucher id, so running it again (a concurrent cancel that lost, a retry,
//! the recovery pass over releases noted before the change) changes nothing.

use uuid::Uuid;

use super::VoucherError;
use super::redemption::Redemptions;
use crate::domain::AccountId;
use crate::domain::voucher::{StepKey, Voucher, VoucherStatus};
use crate::store::{
    LedgerReason, NewLedgerEntry, PendingRelease, StockDirection, StockOp, StoreResult,
    VoucherCursor, VoucherTransition,
};

/// Largest page of vouchers a client may ask for.
const MAX_VOUCHER_PAGE: usize = 100;

impl Redemptions {
    /// A page of the person's vouchers, newest first.
    pub(crate) async fn vouchers(
        &self,
        account_id: AccountId,
        before: Option<VoucherCursor>,
        limit: usize,
    ) -> Result<Vec<Voucher>, VoucherError> {
        Ok(self
            .store
            .vouchers_of(account_id, before, limit.clamp(1, MAX_VOUCHER_PAGE))
            .await?)
    }

    /// The person's voucher with this id.
    pub(crate) async fn voucher(
        &self,
        account_id: AccountId,
        voucher_id: Uuid,
    ) -> Result<Voucher, VoucherError> {
        self.store
            .voucher(voucher_id)
            .await?
            .filter(|voucher| voucher.account_id == account_id)
            .ok_or(VoucherError::NotFound)
    }

    /// Cancels the person's issued, unexpired voucher: the points come back
    /// and the unit and limit slot are freed, exactly once. Cancelling a
    /// cancelled voucher again answers it as it is.
    pub(crate) async fn cancel(
        &self,
        account_id: AccountId,
        voucher_id: Uuid,
    ) -> Result<Voucher, VoucherError> {
        let voucher = self.voucher(account_id, voucher_id).await?;
        let now_ms = self.clock.now_ms();
        match voucher.status {
            VoucherStatus::Cancelled => {
                self.release(&voucher).await?;
                return Ok(voucher);
            }
            VoucherStatus::Issued if now_ms < voucher.expires_at_ms => {}
            VoucherStatus::Issued | VoucherStatus::Redeemed | VoucherStatus::Expired => {
                return Err(VoucherError::NotCancellable);
            }
        }
        // Noted first, so a crash between the change and the release leaves
        // something for the recovery pass to finish.
        self.store
            .mark_pending_release(PendingRelease {
                voucher_id,
                marked_at_ms: now_ms,
            })
            .await?;
        let transition = self
            .store
            .transition_voucher(
                voucher_id,
                VoucherStatus::Issued,
                VoucherStatus::Cancelled,
                now_ms,
            )
            .await?;
        let cancelled = match transition {
            VoucherTransition::Applied(cancelled) => {
                crate::metrics::vouchers_changed(VoucherStatus::Cancelled, 1);
                cancelled
            }
            VoucherTransition::Refused(Some(current))
                if current.status == VoucherStatus::Cancelled =>
            {
                current
            }
            VoucherTransition::Refused(_) => return Err(VoucherError::NotCancellable),
        };
        self.release(&cancelled).await?;
        Ok(cancelled)
    }

    /// Finishes a noted release: the voucher's points, unit and slot come back
    /// if it was cancelled or expired (not if still issued, or redeemed by a
    /// retailer before the cancel could apply); the note is dropped either way.
    pub(super) async fn finish_release(&self, voucher_id: Uuid) -> StoreResult<()> {
        match self.store.voucher(voucher_id).await? {
            Some(voucher) if voucher.status.releases() => self.release(&voucher).await,
            Some(_) | None => self.store.clear_pending_release(voucher_id).await,
        }
    }

    /// Gives back what a cancelled or expired voucher held, then drops its
    /// note.
    pub(super) async fn release(&self, voucher: &Voucher) -> StoreResult<()> {
        let at_ms = voucher
            .status_changed_at_ms
            .unwrap_or_else(|| self.clock.now_ms());
        self.store
            .append_ledger_entry(&NewLedgerEntry {
                entry_id: StepKey::CancelRefund.of(voucher.voucher_id),
                account_id: voucher.account_id,
                at_ms,
                delta: i64::from(voucher.points),
                reason: LedgerReason::Refund,
                reference: Some(voucher.voucher_id),
            })
            .await?;
        if voucher.stock_taken {
            self.store
                .move_offer_stock(&StockOp {
                    op_id: StepKey::CancelStockReturn.of(voucher.voucher_id),
                    offer_id: voucher.offer_id,
                    direction: StockDirection::Return,
                    at_ms,
                })
                .await?;
        }
        if let Some(held) = voucher.limit_slot {
            self.store
                .release_limit_slot(
                    voucher.account_id,
                    voucher.offer_id,
                    held.window,
                    held.slot,
                    voucher.voucher_id,
                )
                .await?;
        }
        self.store.clear_pending_release(voucher.voucher_id).await
    }
}
