//! [`RedemptionStore`] on CQL:
//!
//! * `redemptions`, one row per (account, idempotency key), written with
//!   `IF NOT EXISTS` and moved with `IF status = 'started' AND attempt = ?`;
//!   the record is kept whole in a blob beside the two tested columns;
//! * the `started_redemptions` queue of `queued_by_time` (`time_queue`), under
//!   the request's time, written before the redemption (so a started
//!   redemption is always listed; an item whose redemption is missing or
//!   finished is skipped and removed) and removed once it finishes;
//! * stock moves in `stock`;
//! * `limit_slots`, one partition per (account, offer, window) holding at most
//!   the limit count of rows, each taken with `IF NOT EXISTS` and freed with
//!   `IF holder = ?`; a slot of a day or month window expires a day after its
//!   window ends at the latest ([`slot_ttl_seconds`]).

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, decode_record, encode_record, first_row, rows};
use super::time_queue::{Queue, bucket_of, request_item, request_of_item};
use crate::domain::AccountId;
use crate::domain::catalog::LimitPeriod;
use crate::domain::voucher::LimitWindow;
use crate::store::{
    InsertRedemptionOutcome, LimitClaim, Redemption, RedemptionStatus, RedemptionStore, StockMove,
    StockOp, StoreError, StoreResult,
};

/// A count or slot number as a CQL `int`.
pub(super) fn to_int(value: u32, what: &str) -> StoreResult<i32> {
    i32::try_from(value).map_err(|_| StoreError::Backend(format!("{what} {value} is too large")))
}

/// How long a limit slot is kept: only its window reads it, so a day or a
/// month and a day more than the window can last (from the claim, which
/// falls inside the window); a slot of the offer's whole life is kept.
fn slot_ttl_seconds(window: LimitWindow) -> i32 {
    const DAY_SECONDS: i32 = 86_400;
    match window.per {
        LimitPeriod::Day => 2 * DAY_SECONDS,
        LimitPeriod::Month => 32 * DAY_SECONDS,
        // TTL 0: the row never expires.
        LimitPeriod::Ever => 0,
    }
}

#[async_trait]
impl RedemptionStore for ScyllaStore {
    async fn insert_redemption(
        &self,
        redemption: &Redemption,
    ) -> StoreResult<InsertRedemptionOutcome> {
        let account_id = redemption.account_id;
        let key = redemption.idempotency_key.as_str();
        self.enqueue(
            Queue::StartedRedemptions,
            redemption.requested_at_ms,
            &request_item(account_id, key),
        )
        .await?;
        let inserted = self
            .execute_conditional(
                |connected| &connected.statements.vouchers.insert_redemption,
                (
                    account_id.0,
                    key,
                    redemption.status.as_str(),
                    i32::try_from(redemption.attempt).unwrap_or(i32::MAX),
                    encode_record(redemption, "redemption")?,
                ),
                "redemption insert",
            )
            .await?;
        if inserted.applied {
            return Ok(InsertRedemptionOutcome::Inserted);
        }
        let existing = self
            .redemption(account_id, key)
            .await?
            .ok_or_else(|| corrupt("redemption", "the insert found a row the read cannot find"))?;
        Ok(InsertRedemptionOutcome::Exists(Box::new(existing)))
    }

    async fn redemption(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Redemption>> {
        let result = self
            .execute(
                |connected| &connected.statements.vouchers.select_redemption,
                (account_id.0, idempotency_key),
            )
            .await?;
        first_row::<(Option<Vec<u8>>,)>(result, "redemption")?
            .and_then(|(record,)| record)
            .map(|record| decode_record(&record, "redemption"))
            .transpose()
    }

    async fn update_redemption(
        &self,
        redemption: &Redemption,
        expected_attempt: u32,
    ) -> StoreResult<bool> {
        let account_id = redemption.account_id;
        let key = redemption.idempotency_key.as_str();
        let updated = self
            .execute_conditional(
                |connected| &connected.statements.vouchers.update_redemption,
                (
                    redemption.status.as_str(),
                    to_int(redemption.attempt, "attempt")?,
                    encode_record(redemption, "redemption")?,
                    account_id.0,
                    key,
                    to_int(expected_attempt, "attempt")?,
                ),
                "redemption update",
            )
            .await?;
        if updated.applied && redemption.status != RedemptionStatus::Started {
            self.dequeue(
                Queue::StartedRedemptions,
                bucket_of(redemption.requested_at_ms),
                &request_item(account_id, key),
            )
            .await?;
        }
        Ok(updated.applied)
    }

    async fn started_redemptions(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Redemption>> {
        let mut found = Vec::new();
        for queued in self
            .queued(Queue::StartedRedemptions, now_ms, limit)
            .await?
        {
            let (account_id, key) = request_of_item(&queued.item)?;
            match self.redemption(account_id, &key).await? {
                Some(redemption) if redemption.status == RedemptionStatus::Started => {
                    found.push(redemption);
                }
                // Finished, or its insert never landed: the item is stale.
                Some(_) | None => {
                    self.dequeue(Queue::StartedRedemptions, queued.bucket, &queued.item)
                        .await?;
                }
            }
        }
        Ok(found)
    }

    async fn move_offer_stock(&self, op: &StockOp) -> StoreResult<StockMove> {
        self.move_stock(op).await
    }

    async fn claim_limit_slot(
        &self,
        account_id: AccountId,
        offer_id: Uuid,
        window: LimitWindow,
        count: u32,
        holder: Uuid,
    ) -> StoreResult<LimitClaim> {
        let window_key = window.key_text();
        loop {
            let result = self
                .execute(
                    |connected| &connected.statements.vouchers.select_limit_slots,
                    (account_id.0, offer_id, window_key.as_str()),
                )
                .await?;
            let held: Vec<(i32, Option<Uuid>)> = rows(result, "limit slot")?;
            if let Some((slot, _)) = held.iter().find(|(_, stored)| *stored == Some(holder)) {
                let slot = u32::try_from(*slot).map_err(|error| corrupt("limit slot", error))?;
                return Ok(LimitClaim::Held { slot });
            }
            let free = (0..count).find(|slot| {
                !held
                    .iter()
                    .any(|(taken, _)| u32::try_from(*taken).ok() == Some(*slot))
            });
            let Some(free) = free else {
                return Ok(LimitClaim::Full);
            };
            let claim = self
                .execute_conditional(
                    |connected| &connected.statements.vouchers.claim_limit_slot,
                    (
                        account_id.0,
                        offer_id,
                        window_key.as_str(),
                        to_int(free, "limit slot")?,
                        holder,
                        slot_ttl_seconds(window),
                    ),
                    "limit slot claim",
                )
                .await?;
            if claim.applied || claim.current_uuid("holder") == Some(holder) {
                return Ok(LimitClaim::Held { slot: free });
            }
        }
    }

    async fn release_limit_slot(
        &self,
        account_id: AccountId,
        offer_id: Uuid,
        window: LimitWindow,
        slot: u32,
        holder: Uuid,
    ) -> StoreResult<bool> {
        let released = self
            .execute_conditional(
                |connected| &connected.statements.vouchers.release_limit_slot,
                (
                    account_id.0,
                    offer_id,
                    window.key_text(),
                    to_int(slot, "limit slot")?,
                    holder,
                ),
                "limit slot release",
            )
            .await?;
        Ok(released.applied)
    }
}
