//! The expiry sweep: an issued voucher whose lifetime ended unused moves to
//! `expired` and gives back its points, unit and limit slot. The change is the
//! same kind of conditional status change as a cancel, and the release is
//! written under the same voucher-derived keys, so of a cancel and the sweep
//! racing (or two nodes sweeping) exactly one applies and the points come back
//! once.

use super::VoucherError;
use super::redemption::Redemptions;
use crate::domain::voucher::VoucherStatus;
use crate::store::{PendingRelease, VoucherTransition};

/// Vouchers looked at per batch.
const SWEEP_BATCH: usize = 500;
/// Batches per sweep, so one pass stays bounded after a long stop.
const SWEEP_BATCHES: usize = 20;

impl Redemptions {
    /// Expires the issued vouchers whose expiry passed; returns how many this
    /// call expired.
    pub(crate) async fn expire_due(&self) -> Result<usize, VoucherError> {
        let mut expired = 0;
        for _batch in 0..SWEEP_BATCHES {
            let now_ms = self.clock.now_ms();
            let due = self.store.expired_vouchers(now_ms, SWEEP_BATCH).await?;
            for voucher_id in &due {
                if self.expire(*voucher_id, now_ms).await? {
                    expired += 1;
                }
            }
            if due.len() < SWEEP_BATCH {
                break;
            }
        }
        if expired > 0 {
            crate::metrics::vouchers_changed(VoucherStatus::Expired, expired);
        }
        Ok(expired)
    }

    /// Expires one voucher if it is still issued and due; true if this call
    /// moved it.
    pub(super) async fn expire(
        &self,
        voucher_id: uuid::Uuid,
        now_ms: i64,
    ) -> Result<bool, VoucherError> {
        let Some(voucher) = self.store.voucher(voucher_id).await? else {
            return Ok(false);
        };
        if voucher.status != VoucherStatus::Issued || now_ms < voucher.expires_at_ms {
            return Ok(false);
        }
        // Noted first, like a cancel, so a crash after the change leaves the
        // release to the recovery pass.
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
                VoucherStatus::Expired,
                now_ms,
            )
            .await?;
        match transition {
            VoucherTransition::Applied(expired) => {
                self.release(&expired).await?;
                Ok(true)
            }
            // A cancel (or another sweeper) won: finishing its release is
            // idempotent; a redeemed voucher keeps everything.
            VoucherTransition::Refused(Some(current)) if current.status.releases() => {
                self.release(&current).await?;
                Ok(false)
            }
            VoucherTransition::Refused(_) => {
                self.store.clear_pending_release(voucher_id).await?;
                Ok(false)
            }
        }
    }
}
