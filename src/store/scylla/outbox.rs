//! [`OutboxStore`] on CQL. A delivery is one row of `outbox_deliveries`,
//! written `IF NOT EXISTS` among the facts of its connection
//! ([`ScyllaStore::write_outbox_message`], before the record's
//! `facts_written` flag, so a fact whose writer stopped midway gets its
//! delivery when its facts are written again), and changed `IF version = ?`.
//!
//! Two index tables are kept around each change in a fixed order: rows for
//! where the delivery goes (its due-queue row, its by-state row) are written
//! before the conditional write, rows for where it was are deleted after.
//! A crash in between, or a lost race, leaves a stale row, which readers skip
//! (they check the record), never an open delivery missing from the due
//! queue. Stale due rows older than [`LATE_MS`] are deleted by the listing
//! that meets them, and a listing pages past every stale or leased row of a
//! bucket, so no number of them hides a due delivery behind them.
//!
//! The due queue files a delivery under its next attempt, not under the end
//! of its lease as the embedded store does: taking a lease is then one
//! conditional write and nothing else, so the nodes racing for the same
//! deliveries leave no stale rows behind. The price is that a listing reads
//! the deliveries in flight (at most each node's batch) again on each pass.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{
    corrupt, decode_record, encode_record, first_row, from_bigint, rows, to_bigint,
};
use super::time_queue::{FIRST_LOOKBACK_MS, LATE_MS, bucket_of};
use crate::domain::connection::utc_day;
use crate::outbox::delivery::{DeliveryState, OutboxDelivery};
use crate::outbox::endpoint::EndpointRecord;
use crate::outbox::message::OutboxMessage;
use crate::store::{OutboxStore, StoreResult};

/// The cursor row of the due queue in `queue_cursors`.
const QUEUE_NAME: &str = "outbox_due";

/// Rows of the due queue read per page, at the least: enough to page past
/// the deliveries in flight in one read.
const DUE_PAGE_ROWS: usize = 200;

/// Days of `outbox_by_state` an admin listing reads back from today.
const LISTING_DAYS: i64 = 30;

impl ScyllaStore {
    /// Writes the delivery of `message` unless one is stored (idempotent).
    pub(super) async fn write_outbox_message(&self, message: OutboxMessage) -> StoreResult<()> {
        let delivery = OutboxDelivery::new(message);
        self.file_delivery(&delivery).await?;
        self.execute_conditional(
            |connected| &connected.statements.outbox.insert_delivery,
            (
                delivery.message.message_id,
                to_bigint(delivery.version, "outbox version")?,
                encode_record(&delivery, "outbox delivery")?,
            ),
            "outbox delivery",
        )
        .await?;
        Ok(())
    }

    /// Writes the index rows of where `delivery` stands (idempotent).
    async fn file_delivery(&self, delivery: &OutboxDelivery) -> StoreResult<()> {
        let id = delivery.message.message_id;
        if delivery.state.is_open() {
            let due_at_ms = queued_at_ms(delivery);
            self.execute(
                |connected| &connected.statements.outbox.insert_due,
                (bucket_of(due_at_ms), due_at_ms, id),
            )
            .await?;
        }
        self.execute(
            |connected| &connected.statements.outbox.insert_by_state,
            (
                delivery.state.as_str(),
                utc_day(delivery.state_since_ms),
                delivery.state_since_ms,
                id,
            ),
        )
        .await?;
        Ok(())
    }

    /// Deletes the index rows of where `before` stood that `after` no longer
    /// uses (idempotent).
    async fn unfile_delivery(
        &self,
        before: &OutboxDelivery,
        after: &OutboxDelivery,
    ) -> StoreResult<()> {
        let id = before.message.message_id;
        let due_moved = !after.state.is_open() || queued_at_ms(after) != queued_at_ms(before);
        if before.state.is_open() && due_moved {
            self.delete_due_row(queued_at_ms(before), id).await?;
        }
        if before.state != after.state || before.state_since_ms != after.state_since_ms {
            self.execute(
                |connected| &connected.statements.outbox.delete_by_state,
                (
                    before.state.as_str(),
                    utc_day(before.state_since_ms),
                    before.state_since_ms,
                    id,
                ),
            )
            .await?;
        }
        Ok(())
    }

    /// Deletes one due-queue row.
    async fn delete_due_row(&self, due_at_ms: i64, id: Uuid) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.outbox.delete_due,
            (bucket_of(due_at_ms), due_at_ms, id),
        )
        .await?;
        Ok(())
    }

    /// The stored delivery with this id.
    async fn stored_delivery(&self, message_id: Uuid) -> StoreResult<Option<OutboxDelivery>> {
        let result = self
            .execute(
                |connected| &connected.statements.outbox.select_delivery,
                (message_id,),
            )
            .await?;
        let Some((version, record)) = first_row::<(i64, Vec<u8>)>(result, "outbox delivery")?
        else {
            return Ok(None);
        };
        let delivery: OutboxDelivery = decode_record(&record, "outbox delivery")?;
        if delivery.version != from_bigint(version, "outbox version")? {
            return Err(corrupt(
                "outbox delivery",
                "version column and record disagree",
            ));
        }
        Ok(Some(delivery))
    }
}

/// Where the due queue files an open delivery: its next attempt (leases
/// leave the queue alone).
fn queued_at_ms(delivery: &OutboxDelivery) -> i64 {
    delivery.next_attempt_at_ms
}

#[async_trait]
impl OutboxStore for ScyllaStore {
    async fn enqueue_outbox_message(&self, message: &OutboxMessage) -> StoreResult<()> {
        self.write_outbox_message(message.clone()).await
    }

    async fn outbox_delivery(&self, message_id: Uuid) -> StoreResult<Option<OutboxDelivery>> {
        self.stored_delivery(message_id).await
    }

    async fn due_outbox_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>> {
        let mut found = Vec::new();
        if limit == 0 {
            return Ok(found);
        }
        let stored_start = self.queue_cursor(QUEUE_NAME).await?;
        let start = stored_start.unwrap_or_else(|| bucket_of(now_ms - FIRST_LOOKBACK_MS));
        let settled_before = bucket_of(now_ms - LATE_MS);
        let mut next_start = start;
        for bucket in start..=bucket_of(now_ms) {
            let mut bucket_read = 0_usize;
            let mut cursor = None;
            loop {
                let (result, next) = self
                    .execute_page(
                        |connected| &connected.statements.outbox.select_due,
                        (bucket, now_ms),
                        cursor,
                        (limit - found.len()).max(DUE_PAGE_ROWS),
                    )
                    .await?;
                let due_rows = rows::<(i64, Uuid)>(result, "outbox due row")?;
                bucket_read += due_rows.len();
                for (due_at_ms, id) in due_rows {
                    let delivery = self.stored_delivery(id).await?;
                    let current = delivery.filter(|delivery| {
                        delivery.state.is_open() && queued_at_ms(delivery) == due_at_ms
                    });
                    match current {
                        Some(delivery) if delivery.is_due(now_ms) => found.push(delivery),
                        // Leased by a node whose lease is live.
                        Some(_) => {}
                        // A stale row: its writer lost its race or stopped.
                        // Past the time any writer may still be about to use
                        // it, drop it.
                        None if due_at_ms < now_ms - LATE_MS => {
                            self.delete_due_row(due_at_ms, id).await?;
                        }
                        None => {}
                    }
                }
                cursor = next;
                if cursor.is_none() || found.len() >= limit {
                    break;
                }
            }
            // Every row of a bucket this old is due by now: none read, none left.
            if bucket_read == 0 && next_start == bucket && bucket < settled_before {
                next_start = bucket + 1;
            }
            if found.len() >= limit {
                break;
            }
        }
        if next_start > start {
            self.advance_queue_cursor(QUEUE_NAME, stored_start, next_start)
                .await;
        }
        found.truncate(limit);
        Ok(found)
    }

    async fn replace_outbox_delivery(
        &self,
        expected_version: u64,
        delivery: &OutboxDelivery,
    ) -> StoreResult<bool> {
        let Some(before) = self.stored_delivery(delivery.message.message_id).await? else {
            return Ok(false);
        };
        if before.version != expected_version {
            return Ok(false);
        }
        self.file_delivery(delivery).await?;
        let replaced = self
            .execute_conditional(
                |connected| &connected.statements.outbox.replace_delivery,
                (
                    to_bigint(delivery.version, "outbox version")?,
                    encode_record(delivery, "outbox delivery")?,
                    delivery.message.message_id,
                    to_bigint(expected_version, "outbox version")?,
                ),
                "outbox delivery",
            )
            .await?;
        if !replaced.applied {
            return Ok(false);
        }
        self.unfile_delivery(&before, delivery).await?;
        Ok(true)
    }

    async fn outbox_deliveries(
        &self,
        state: DeliveryState,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>> {
        let mut found = Vec::new();
        let today = utc_day(now_ms);
        for day in (today - LISTING_DAYS..=today + 1).rev() {
            if found.len() >= limit {
                break;
            }
            let result = self
                .execute(
                    |connected| &connected.statements.outbox.select_by_state,
                    (
                        state.as_str(),
                        day,
                        i32::try_from(limit - found.len()).unwrap_or(i32::MAX),
                    ),
                )
                .await?;
            for (since_ms, id) in rows::<(i64, Uuid)>(result, "outbox state row")? {
                let current = self.stored_delivery(id).await?.filter(|delivery| {
                    delivery.state == state && delivery.state_since_ms == since_ms
                });
                if let Some(delivery) = current {
                    found.push(delivery);
                    if found.len() >= limit {
                        break;
                    }
                }
            }
        }
        Ok(found)
    }

    async fn put_outbox_endpoint(&self, endpoint: &EndpointRecord) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.outbox.upsert_endpoint,
            (endpoint.id, encode_record(endpoint, "outbox endpoint")?),
        )
        .await?;
        Ok(())
    }

    async fn outbox_endpoints(&self) -> StoreResult<Vec<EndpointRecord>> {
        let result = self
            .execute(
                |connected| &connected.statements.outbox.select_endpoints,
                (),
            )
            .await?;
        rows::<(Vec<u8>,)>(result, "outbox endpoint")?
            .into_iter()
            .map(|(record,)| decode_record(&record, "outbox endpoint"))
            .collect()
    }
}
