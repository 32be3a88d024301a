//! The queue of connections whose credits are not complete yet, on CQL.
//!
//! A mark lives in `incomplete_connections_by_time` under the
//! [`MARK_BUCKET_MS`] bucket of its connection's time, and is deleted on
//! completion. The recovery pass reads the buckets from the queue's cursor row
//! (`queue_cursors`) up to now, and moves the cursor past a bucket once the
//! bucket is found empty and no mark can land in it any more (it ended more
//! than [`MARK_LATE_MS`] ago). So a listing never reads the deletions of
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
use super::codec::{Conditional, corrupt, first_row, rows};
use crate::store::{ConnectionRecord, ConnectionStore, StoreResult};

/// Width of a bucket of the queue (ten minutes): a listing scans at most the
/// completed marks of one bucket per read.
const MARK_BUCKET_MS: i64 = 600_000;

/// How long after its connection's time a mark may still be written (an hour):
/// the establish call writes it right after the record, each statement within
/// the store's request timeout, and clocks of nodes are assumed within minutes
/// of each other. The cursor never passes a bucket younger than this.
const MARK_LATE_MS: i64 = 3_600_000;

/// Where a queue without a cursor row starts: a day back. A new keyspace's
/// first pass (at the first start) writes the row.
const FIRST_LOOKBACK_MS: i64 = 86_400_000;

/// The cursor row of this queue in `queue_cursors`.
const QUEUE_NAME: &str = "incomplete_connections";

/// Partitions of the queue before schema version 6 (`incomplete_connections`).
const LEGACY_SHARDS: i32 = 16;

/// Marks moved from the older table per read of one of its partitions.
const LEGACY_PAGE: i32 = 1_000;

/// The bucket of a mark of a connection at `established_at_ms`.
fn mark_bucket(established_at_ms: i64) -> i64 {
    established_at_ms.div_euclid(MARK_BUCKET_MS)
}

impl ScyllaStore {
    /// Writes the incomplete mark of a stored record (idempotent).
    pub(super) async fn write_incomplete_mark(&self, record: &ConnectionRecord) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.queues.insert_incomplete,
            (
                mark_bucket(record.established_at_ms),
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
                mark_bucket(record.established_at_ms),
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
        let stored_start = self.queue_cursor().await?;
        let start = stored_start.unwrap_or_else(|| mark_bucket(now_ms - FIRST_LOOKBACK_MS));
        // A node whose clock runs ahead may file a mark a little in the future.
        let newest = mark_bucket(now_ms + MARK_BUCKET_MS);
        let settled_before = mark_bucket(now_ms - MARK_LATE_MS);
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
            self.advance_queue_cursor(stored_start, next_start).await;
        }
        let mut records = Vec::with_capacity(ids.len());
        for connection_id in ids {
            if let Some(record) = self.connection(connection_id).await? {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// The bucket the queue's pass starts from, if a pass ever wrote one.
    async fn queue_cursor(&self) -> StoreResult<Option<i64>> {
        let result = self
            .execute(
                |connected| &connected.statements.queues.select_cursor,
                (QUEUE_NAME,),
            )
            .await?;
        Ok(first_row::<(Option<i64>,)>(result, "queue cursor")?.and_then(|(next,)| next))
    }

    /// Moves the cursor from `read` to `next` unless it moved meanwhile (the
    /// next pass tries again). A failure only delays the move: it is logged,
    /// not returned, since the listing itself succeeded.
    async fn advance_queue_cursor(&self, read: Option<i64>, next: i64) {
        let moved = match read {
            Some(read) => {
                self.execute_conditional(
                    |connected| &connected.statements.queues.move_cursor,
                    (next, QUEUE_NAME, read),
                    "queue cursor",
                )
                .await
            }
            None => {
                self.execute_conditional(
                    |connected| &connected.statements.queues.insert_cursor,
                    (QUEUE_NAME, next),
                    "queue cursor",
                )
                .await
            }
        };
        match moved {
            Ok(Conditional { applied: true, .. }) => {}
            Ok(_moved_by_another_node) => {
                tracing::debug!(queue = QUEUE_NAME, "queue cursor moved meanwhile");
            }
            Err(error) => {
                tracing::warn!(queue = QUEUE_NAME, %error, "queue cursor not moved");
            }
        }
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
        let bucket = mark_bucket(established_at_ms);
        session
            .query_unpaged(
                "INSERT INTO incomplete_connections_by_time (bucket, connection_id) VALUES (?, ?)",
                (bucket, bytes),
            )
            .await
            .map_err(super::codec::execution_error)?;
        lower_cursor(session, bucket).await?;
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

/// Moves the cursor back to `bucket` unless it is there or before, by
/// compare-and-set so that a pass advancing it meanwhile cannot undo this.
async fn lower_cursor(session: &Session, bucket: i64) -> StoreResult<()> {
    loop {
        let result = session
            .query_unpaged(
                "SELECT next_bucket FROM queue_cursors WHERE queue = ?",
                (QUEUE_NAME,),
            )
            .await
            .map_err(super::codec::execution_error)?;
        let read = first_row::<(Option<i64>,)>(result, "queue cursor")?.and_then(|(next,)| next);
        let written = match read {
            Some(read) if read <= bucket => return Ok(()),
            Some(read) => {
                session
                    .query_unpaged(
                        "UPDATE queue_cursors SET next_bucket = ? WHERE queue = ? \
                         IF next_bucket = ?",
                        (bucket, QUEUE_NAME, read),
                    )
                    .await
            }
            None => {
                session
                    .query_unpaged(
                        "INSERT INTO queue_cursors (queue, next_bucket) VALUES (?, ?) \
                         IF NOT EXISTS",
                        (QUEUE_NAME, bucket),
                    )
                    .await
            }
        }
        .map_err(super::codec::execution_error)?;
        if Conditional::from_result(written, "queue cursor")?.applied {
            return Ok(());
        }
    }
}
