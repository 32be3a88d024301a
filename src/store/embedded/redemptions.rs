//! [`RedemptionStore`] on redb. Every conditional write reads and writes in one
//! write transaction: the redemption and its started mark together, a stock
//! move together with its op record (so a retried op finds it), a limit slot
//! after scanning its window.

use async_trait::async_trait;
use redb::ReadableTable;
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{decode, encode, get_record, redb_error};
use super::expiry::{self, Expiring};
use super::tables::{
    LIMIT_SLOTS, LimitSlotKey, REDEMPTIONS, REWARD_OFFERS, STARTED_REDEMPTIONS, STOCK_OPS,
    limit_slot_key, limit_slot_of, redemption_key,
};
use crate::domain::AccountId;
use crate::domain::catalog::RewardOffer;
use crate::domain::voucher::LimitWindow;
use crate::store::{
    InsertRedemptionOutcome, LimitClaim, Redemption, RedemptionStatus, RedemptionStore,
    StockDirection, StockMove, StockOp, StoreResult,
};

#[async_trait]
impl RedemptionStore for EmbeddedStore {
    async fn insert_redemption(
        &self,
        redemption: &Redemption,
    ) -> StoreResult<InsertRedemptionOutcome> {
        let key = redemption_key(redemption.account_id, &redemption.idempotency_key);
        let encoded = encode(redemption)?;
        self.write(move |transaction| {
            let mut redemptions = transaction.open_table(REDEMPTIONS).map_err(redb_error)?;
            if let Some(stored) = redemptions.get(key.as_slice()).map_err(redb_error)? {
                let existing: Redemption = decode(stored.value())?;
                return Ok(InsertRedemptionOutcome::Exists(Box::new(existing)));
            }
            redemptions
                .insert(key.as_slice(), encoded.as_slice())
                .map_err(redb_error)?;
            let mut started = transaction
                .open_table(STARTED_REDEMPTIONS)
                .map_err(redb_error)?;
            started.insert(key.as_slice(), ()).map_err(redb_error)?;
            Ok(InsertRedemptionOutcome::Inserted)
        })
        .await
    }

    async fn redemption(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Redemption>> {
        let key = redemption_key(account_id, idempotency_key);
        self.read(move |transaction| {
            let redemptions = transaction.open_table(REDEMPTIONS).map_err(redb_error)?;
            let stored = redemptions.get(key.as_slice()).map_err(redb_error)?;
            stored.map(|stored| decode(stored.value())).transpose()
        })
        .await
    }

    async fn update_redemption(
        &self,
        redemption: &Redemption,
        expected_attempt: u32,
    ) -> StoreResult<bool> {
        let key = redemption_key(redemption.account_id, &redemption.idempotency_key);
        let encoded = encode(redemption)?;
        let finished = redemption.status != RedemptionStatus::Started;
        self.write(move |transaction| {
            let mut redemptions = transaction.open_table(REDEMPTIONS).map_err(redb_error)?;
            let stored: Option<Redemption> =
                match redemptions.get(key.as_slice()).map_err(redb_error)? {
                    Some(stored) => Some(decode(stored.value())?),
                    None => None,
                };
            let applies = stored.is_some_and(|stored| {
                stored.status == RedemptionStatus::Started && stored.attempt == expected_attempt
            });
            if !applies {
                return Ok(false);
            }
            redemptions
                .insert(key.as_slice(), encoded.as_slice())
                .map_err(redb_error)?;
            if finished {
                let mut started = transaction
                    .open_table(STARTED_REDEMPTIONS)
                    .map_err(redb_error)?;
                started.remove(key.as_slice()).map_err(redb_error)?;
            }
            Ok(true)
        })
        .await
    }

    async fn started_redemptions(
        &self,
        _now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<Redemption>> {
        self.read(move |transaction| {
            let started = transaction
                .open_table(STARTED_REDEMPTIONS)
                .map_err(redb_error)?;
            let redemptions = transaction.open_table(REDEMPTIONS).map_err(redb_error)?;
            let mut found = Vec::new();
            for row in started.iter().map_err(redb_error)?.take(limit) {
                let (key, _no_value) = row.map_err(redb_error)?;
                if let Some(stored) = redemptions.get(key.value()).map_err(redb_error)? {
                    found.push(decode(stored.value())?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn move_offer_stock(&self, op: &StockOp) -> StoreResult<StockMove> {
        let op = *op;
        self.write(move |transaction| {
            let mut ops = transaction.open_table(STOCK_OPS).map_err(redb_error)?;
            if ops.get(op.op_id.as_bytes()).map_err(redb_error)?.is_some() {
                return Ok(StockMove::AlreadyApplied);
            }
            let mut offers = transaction.open_table(REWARD_OFFERS).map_err(redb_error)?;
            let stored: Option<RewardOffer> = get_record(&offers, op.offer_id.as_bytes())?;
            let Some(mut offer) = stored else {
                return Ok(StockMove::UnknownOffer);
            };
            let Some(remaining) = offer.remaining else {
                return Ok(StockMove::Unlimited);
            };
            let after = match op.direction {
                StockDirection::Take => match remaining.checked_sub(1) {
                    Some(after) => after,
                    None => return Ok(StockMove::OutOfStock),
                },
                StockDirection::Return => remaining.saturating_add(1),
            };
            offer.remaining = Some(after);
            offers
                .insert(op.offer_id.as_bytes(), encode(&offer)?.as_slice())
                .map_err(redb_error)?;
            ops.insert(op.op_id.as_bytes(), after).map_err(redb_error)?;
            expiry::file(
                transaction,
                Expiring::StockOps,
                op.op_id.as_bytes(),
                expiry::stock_op_expires_at_ms(op.at_ms),
                0,
            )?;
            Ok(StockMove::Applied { remaining: after })
        })
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
        let first = limit_slot_key(account_id, offer_id, window, 0);
        let last = limit_slot_key(account_id, offer_id, window, u32::MAX);
        self.write(move |transaction| {
            let mut slots = transaction.open_table(LIMIT_SLOTS).map_err(redb_error)?;
            let mut taken = Vec::new();
            for row in slots
                .range::<&LimitSlotKey>(&first..=&last)
                .map_err(redb_error)?
            {
                let (key, stored_holder) = row.map_err(redb_error)?;
                let slot = limit_slot_of(key.value());
                if *stored_holder.value() == *holder.as_bytes() {
                    return Ok(LimitClaim::Held { slot });
                }
                taken.push(slot);
            }
            let Some(free) = (0..count).find(|slot| !taken.contains(slot)) else {
                return Ok(LimitClaim::Full);
            };
            let key = limit_slot_key(account_id, offer_id, window, free);
            slots.insert(&key, holder.as_bytes()).map_err(redb_error)?;
            if let Some(expires_at_ms) = expiry::limit_slot_expires_at_ms(window) {
                expiry::file(transaction, Expiring::LimitSlots, &key, expires_at_ms, 0)?;
            }
            Ok(LimitClaim::Held { slot: free })
        })
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
        let key = limit_slot_key(account_id, offer_id, window, slot);
        self.write(move |transaction| {
            let mut slots = transaction.open_table(LIMIT_SLOTS).map_err(redb_error)?;
            let held = slots
                .get(&key)
                .map_err(redb_error)?
                .is_some_and(|stored| *stored.value() == *holder.as_bytes());
            if held {
                slots.remove(&key).map_err(redb_error)?;
            }
            Ok(held)
        })
        .await
    }
}
