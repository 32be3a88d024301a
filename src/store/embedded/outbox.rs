//! [`OutboxStore`] on redb. A delivery is written by the write transaction of
//! its fact ([`write_outbox_message`]); open deliveries are also keyed by
//! the time they may next be taken in `outbox_due`, updated by the same transaction
//! as the record, so the due queue never disagrees with the records.

use async_trait::async_trait;
use redb::{ReadableTable, WriteTransaction};
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{decode, encode, get_record, redb_error};
use super::tables::{OUTBOX_DELIVERIES, OUTBOX_DUE, OUTBOX_ENDPOINTS, TimeIdKey, time_id_key};
use crate::outbox::delivery::{DeliveryState, OutboxDelivery};
use crate::outbox::endpoint::EndpointRecord;
use crate::outbox::message::OutboxMessage;
use crate::store::{OutboxStore, StoreResult};

/// Writes the delivery of `message` unless it is stored (a fact written
/// again names the same message and leaves its delivery as it stands).
pub(super) fn write_outbox_message(
    transaction: &WriteTransaction,
    message: OutboxMessage,
) -> StoreResult<()> {
    let mut deliveries = transaction
        .open_table(OUTBOX_DELIVERIES)
        .map_err(redb_error)?;
    let key = *message.message_id.as_bytes();
    if deliveries.get(&key).map_err(redb_error)?.is_some() {
        return Ok(());
    }
    let delivery = OutboxDelivery::new(message);
    deliveries
        .insert(&key, encode(&delivery)?.as_slice())
        .map_err(redb_error)?;
    let mut due = transaction.open_table(OUTBOX_DUE).map_err(redb_error)?;
    due.insert(
        &time_id_key(delivery.due_at_ms(), delivery.message.message_id),
        (),
    )
    .map_err(redb_error)?;
    Ok(())
}

#[async_trait]
impl OutboxStore for EmbeddedStore {
    async fn enqueue_outbox_message(&self, message: &OutboxMessage) -> StoreResult<()> {
        let message = message.clone();
        self.write(move |transaction| write_outbox_message(transaction, message.clone()))
            .await
    }

    async fn outbox_delivery(&self, message_id: Uuid) -> StoreResult<Option<OutboxDelivery>> {
        self.read(move |transaction| {
            let deliveries = transaction
                .open_table(OUTBOX_DELIVERIES)
                .map_err(redb_error)?;
            get_record(&deliveries, message_id.as_bytes())
        })
        .await
    }

    async fn due_outbox_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>> {
        self.read(move |transaction| {
            let due = transaction.open_table(OUTBOX_DUE).map_err(redb_error)?;
            let deliveries = transaction
                .open_table(OUTBOX_DELIVERIES)
                .map_err(redb_error)?;
            let mut found = Vec::new();
            let last = time_id_key(now_ms, Uuid::max());
            for row in due.range::<&TimeIdKey>(..=&last).map_err(redb_error)? {
                if found.len() >= limit {
                    break;
                }
                let (key, _) = row.map_err(redb_error)?;
                let id = super::tables::id_of_time_id_key(key.value());
                let delivery: Option<OutboxDelivery> = get_record(&deliveries, id.as_bytes())?;
                if let Some(delivery) = delivery.filter(|delivery| delivery.is_due(now_ms)) {
                    found.push(delivery);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn replace_outbox_delivery(
        &self,
        expected_version: u64,
        delivery: &OutboxDelivery,
    ) -> StoreResult<bool> {
        let delivery = delivery.clone();
        let encoded = encode(&delivery)?;
        self.write(move |transaction| {
            let mut deliveries = transaction
                .open_table(OUTBOX_DELIVERIES)
                .map_err(redb_error)?;
            let key = *delivery.message.message_id.as_bytes();
            let Some(stored) = get_record::<16, OutboxDelivery>(&deliveries, &key)? else {
                return Ok(false);
            };
            if stored.version != expected_version {
                return Ok(false);
            }
            deliveries
                .insert(&key, encoded.as_slice())
                .map_err(redb_error)?;
            let mut due = transaction.open_table(OUTBOX_DUE).map_err(redb_error)?;
            let id = delivery.message.message_id;
            if stored.state.is_open() {
                due.remove(&time_id_key(stored.due_at_ms(), id))
                    .map_err(redb_error)?;
            }
            if delivery.state.is_open() {
                due.insert(&time_id_key(delivery.due_at_ms(), id), ())
                    .map_err(redb_error)?;
            }
            Ok(true)
        })
        .await
    }

    async fn outbox_deliveries(
        &self,
        state: DeliveryState,
        _now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxDelivery>> {
        // Listing is an admin read: the table is scanned and sorted, newest
        // state change first.
        self.read(move |transaction| {
            let deliveries = transaction
                .open_table(OUTBOX_DELIVERIES)
                .map_err(redb_error)?;
            let mut found = Vec::new();
            for row in deliveries.iter().map_err(redb_error)? {
                let (_, value) = row.map_err(redb_error)?;
                let delivery: OutboxDelivery = decode(value.value())?;
                if delivery.state == state {
                    found.push(delivery);
                }
            }
            found.sort_by_key(|delivery| {
                (
                    std::cmp::Reverse(delivery.state_since_ms),
                    delivery.message.message_id,
                )
            });
            found.truncate(limit);
            Ok(found)
        })
        .await
    }

    async fn put_outbox_endpoint(&self, endpoint: &EndpointRecord) -> StoreResult<()> {
        let key = *endpoint.id.as_bytes();
        let encoded = encode(endpoint)?;
        self.write(move |transaction| {
            let mut endpoints = transaction
                .open_table(OUTBOX_ENDPOINTS)
                .map_err(redb_error)?;
            endpoints
                .insert(&key, encoded.as_slice())
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn outbox_endpoints(&self) -> StoreResult<Vec<EndpointRecord>> {
        self.read(move |transaction| {
            let endpoints = transaction
                .open_table(OUTBOX_ENDPOINTS)
                .map_err(redb_error)?;
            let mut found = Vec::new();
            for row in endpoints.iter().map_err(redb_error)? {
                let (_, value) = row.map_err(redb_error)?;
                found.push(decode(value.value())?);
            }
            Ok(found)
        })
        .await
    }
}
