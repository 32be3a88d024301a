//! The queue of connections whose credits are not complete yet, on CQL.
//!
//! A mark lives in `incomplete_connections_by_time` under the
//! [`BUCKET_MS`] bucket of its connection's time, and is deleted on
//! completion. The recovery pass reads the buckets from the queue's cursor row
//! (`queue_cursors`) up to now, and moves the cursor past a bucket once the
//! bucket is found empty and no mark can land in it any more (it ended more
//! than [`LATE_MS`] ago). So a listing never reads the deletions of
//! buckets it has passed: it scans at most the completed marks of the buckets
//! since the oldest mark still open, instead of every completion since the
//! last compaction, as the 16 fixed partitions of `incomplete_connections`
//! (before schema version 6) made it do.
//!
//! Marks left in that older table are moved into the buckets when a node
//! connects ([`move_legacy_marks`]), lowering the cursor to reach them.

use scylla::client::session::Session;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, first_row, rows};
use super::time_queue::{BUCKET_MS, FIRST_LOOKBACK_MS, LATE_MS, bucket_of, lower_cursor};
use crate::store::{ConnectionRecord, ConnectionStore, StoreResult};

/// The cursor row of this queue in `queue_cursors`.
const QUEUE_NAME: &str = "incomplete_connections";

/// Partitions of the queue before schema version 6 (`incomplete_connections`).
const LEGACY_SHARDS: i32 = 16;

/// Marks moved from the older table per read of one of its partitions.
const LEGACY_PAGE: i32 = 1_000;

impl ScyllaStore {
    /// Writes the incomplete mark of a stored record (idempotent).
    pub(super) async fn write_incomplete_mark(&self, record: &ConnectionRecord) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.queues.insert_incomplete,
            (
                bucket_of(record.established_at_ms),
                record.connection_id.as_bytes().as_slice(),
            ),
        )
        .await?;
        Ok(())
    }

    /// Deletes the incomplete mark of a record (idempotent).
    pub(super) async fn delete_incomplete_mark(
        &self,
        record: &ConnectionRecord,
    ) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.queues.delete_incomplete,
            (
                bucket_of(record.established_at_ms),
                record.connection_id.as_bytes().as_slice(),
            ),
        )
        .await?;
        Ok(())
    }

    /// Up to `limit` marked records, oldest bucket first and by id within a
    /// bucket, moving the cursor past the buckets found settled and empty.
    pub(super) async fn list_incomplete(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let stored_start = self.queue_cursor(QUEUE_NAME).await?;
        let start = stored_start.unwrap_or_else(|| bucket_of(now_ms - FIRST_LOOKBACK_MS));
        // A node whose clock runs ahead may file a mark a little in the future.
        let newest = bucket_of(now_ms + BUCKET_MS);
        let settled_before = bucket_of(now_ms - LATE_MS);
        let mut next_start = start;
        let mut ids = Vec::new();
        for bucket in start..=newest {
            let wanted = i32::try_from(limit - ids.len()).unwrap_or(i32::MAX);
            let result = self
                .execute(
                    |connected| &connected.statements.queues.select_incomplete,
                    (bucket, wanted),
                )
                .await?;
            let marks = rows::<(Vec<u8>,)>(result, "incomplete connection")?;
            if marks.is_empty() && next_start == bucket && bucket < settled_before {
                next_start = bucket + 1;
            }
            for (bytes,) in marks {
                ids.push(
                    Uuid::from_slice(&bytes)
                        .map_err(|error| corrupt("incomplete connection", error))?,
                );
            }
            if ids.len() >= limit {
                break;
            }
        }
        if next_start > start {
            self.advance_queue_cursor(QUEUE_NAME, stored_start, next_start)
                .await;
        }
        let mut records = Vec::with_capacity(ids.len());
        for connection_id in ids {
            if let Some(record) = self.connection(connection_id).await? {
                records.push(record);
            }
        }
        Ok(records)
    }
}

/// Moves every mark of `incomplete_connections` (schema version 5 and before)
/// into the time buckets, lowering the cursor to the oldest, and returns how
/// many it moved. Runs on each connect, so marks a node of an older version
/// leaves during a rolling upgrade are moved by the next node to connect.
pub(super) async fn move_legacy_marks(session: &Session) -> StoreResult<usize> {
    let mut moved = 0;
    for shard in 0..LEGACY_SHARDS {
        loop {
            let result = session
                .query_unpaged(
                    "SELECT connection_id FROM incomplete_connections WHERE shard = ? LIMIT ?",
                    (shard, LEGACY_PAGE),
                )
                .await
                .map_err(super::codec::execution_error)?;
            let marks = rows::<(Vec<u8>,)>(result, "incomplete connection")?;
            if marks.is_empty() {
                break;
            }
            for (bytes,) in marks {
                move_legacy_mark(session, shard, &bytes).await?;
                moved += 1;
            }
        }
    }
    Ok(moved)
}

/// Files one mark of the older table in its bucket, lowers the cursor to
/// that bucket, then deletes it from the older table.
async fn move_legacy_mark(session: &Session, shard: i32, bytes: &[u8]) -> StoreResult<()> {
    let connection_id =
        Uuid::from_slice(bytes).map_err(|error| corrupt("incomplete connection", error))?;
    let result = session
        .query_unpaged(
            "SELECT established_at_ms FROM connections WHERE connection_id = ?",
            (connection_id,),
        )
        .await
        .map_err(super::codec::execution_error)?;
    if let Some((established_at_ms,)) = first_row::<(i64,)>(result, "connection time")? {
        let bucket = bucket_of(established_at_ms);
        session
            .query_unpaged(
                "INSERT INTO incomplete_connections_by_time (bucket, connection_id) VALUES (?, ?)",
                (bucket, bytes),
            )
            .await
            .map_err(super::codec::execution_error)?;
        lower_cursor(session, QUEUE_NAME, bucket).await?;
    }
    session
        .query_unpaged(
            "DELETE FROM incomplete_connections WHERE shard = ? AND connection_id = ?",
            (shard, bytes),
        )
        .await
        .map_err(super::codec::execution_error)?;
    Ok(())
}
