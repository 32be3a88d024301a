//! Time-bucketed recovery queues on CQL: started redemptions, started
//! donations and voucher releases under way, each a queue in `queued_by_time`
//! (schema version 7), plus the cursor rows in `queue_cursors` that all such
//! queues share with `incomplete_connections_by_time`.
//!
//! An item lives under the [`BUCKET_MS`] bucket of its own time (a request's
//! time, a release note's time) and is deleted when done. A listing reads the
//! buckets from the queue's cursor up to now and moves the cursor past a
//! bucket once it is found empty and no item can land in it any more (it
//! ended more than [`LATE_MS`] ago), so deletions of passed buckets are never
//! read again: a listing scans the finished items of the buckets since the
//! oldest unfinished one, not every deletion since the last compaction, as
//! the 16 fixed partitions of the tables before version 7 made it do. Items
//! left in those tables are moved in when a node connects
//! ([`move_legacy_items`]), lowering the cursor to reach them.

use scylla::client::session::Session;

use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{Conditional, corrupt, decode_record, execution_error, first_row, rows};
use crate::domain::AccountId;
use crate::store::StoreResult;

/// Width of a bucket (ten minutes): a listing scans at most the finished
/// items of one bucket per read.
pub(super) const BUCKET_MS: i64 = 600_000;

/// How long after its time an item may still be written (an hour): each
/// write follows its time within the store's request timeout, and clocks of
/// nodes are assumed within minutes of each other. The cursor never passes a
/// bucket younger than this.
pub(super) const LATE_MS: i64 = 3_600_000;

/// Where a queue without a cursor row starts: a day back. A new keyspace's
/// first listing writes the row.
pub(super) const FIRST_LOOKBACK_MS: i64 = 86_400_000;

/// The bucket of an item at `at_ms`.
pub(super) fn bucket_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(BUCKET_MS)
}

/// The item of a person's request: account id, then the idempotency key.
pub(super) fn request_item(account_id: AccountId, idempotency_key: &str) -> Vec<u8> {
    let mut item = Vec::with_capacity(16 + idempotency_key.len());
    item.extend_from_slice(account_id.0.as_bytes());
    item.extend_from_slice(idempotency_key.as_bytes());
    item
}

/// The account id and idempotency key of a request's item.
pub(super) fn request_of_item(item: &[u8]) -> StoreResult<(AccountId, String)> {
    let (account, key) = item
        .split_at_checked(16)
        .ok_or_else(|| corrupt("queued request", "item shorter than an account id"))?;
    let account = Uuid::from_slice(account).map_err(|error| corrupt("queued request", error))?;
    let key = String::from_utf8(key.to_vec()).map_err(|error| corrupt("queued request", error))?;
    Ok((AccountId(account), key))
}

/// A queue of `queued_by_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Queue {
    /// Redemptions started and not finished; item: account id, idempotency key.
    StartedRedemptions,
    /// Donations started and not finished; item: account id, idempotency key.
    StartedDonations,
    /// Voucher releases noted and not finished; item: voucher id.
    PendingReleases,
}

impl Queue {
    /// Its name in `queued_by_time` and `queue_cursors`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Queue::StartedRedemptions => "started_redemptions",
            Queue::StartedDonations => "started_donations",
            Queue::PendingReleases => "pending_releases",
        }
    }
}

/// One queued item as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct QueuedItem {
    /// The bucket it was found in (deleting it there needs no other read).
    pub(super) bucket: i64,
    /// The item's bytes.
    pub(super) item: Vec<u8>,
    /// The item's time.
    pub(super) at_ms: i64,
}

impl ScyllaStore {
    /// Files `item` at `at_ms` in `queue` (idempotent).
    pub(super) async fn enqueue(&self, queue: Queue, at_ms: i64, item: &[u8]) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.queues.insert_queued,
            (queue.name(), bucket_of(at_ms), item, at_ms),
        )
        .await?;
        Ok(())
    }

    /// Removes `item` from `bucket` of `queue` (idempotent).
    pub(super) async fn dequeue(&self, queue: Queue, bucket: i64, item: &[u8]) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.queues.delete_queued,
            (queue.name(), bucket, item),
        )
        .await?;
        Ok(())
    }

    /// Up to `limit` items of `queue`, oldest bucket first and in byte order
    /// within one, moving the cursor past the buckets found settled and empty.
    pub(super) async fn queued(
        &self,
        queue: Queue,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<QueuedItem>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let stored_start = self.queue_cursor(queue.name()).await?;
        let start = stored_start.unwrap_or_else(|| bucket_of(now_ms - FIRST_LOOKBACK_MS));
        // A node whose clock runs ahead may file an item a little in the future.
        let newest = bucket_of(now_ms + BUCKET_MS);
        let settled_before = bucket_of(now_ms - LATE_MS);
        let mut next_start = start;
        let mut found = Vec::new();
        for bucket in start..=newest {
            let wanted = i32::try_from(limit - found.len()).unwrap_or(i32::MAX);
            let result = self
                .execute(
                    |connected| &connected.statements.queues.select_queued,
                    (queue.name(), bucket, wanted),
                )
                .await?;
            let items = rows::<(Vec<u8>, i64)>(result, queue.name())?;
            if items.is_empty() && next_start == bucket && bucket < settled_before {
                next_start = bucket + 1;
            }
            found.extend(items.into_iter().map(|(item, at_ms)| QueuedItem {
                bucket,
                item,
                at_ms,
            }));
            if found.len() >= limit {
                break;
            }
        }
        if next_start > start {
            self.advance_queue_cursor(queue.name(), stored_start, next_start)
                .await;
        }
        Ok(found)
    }

    /// The bucket a queue's pass starts from, if a pass ever wrote one.
    pub(super) async fn queue_cursor(&self, name: &str) -> StoreResult<Option<i64>> {
        let result = self
            .execute(
                |connected| &connected.statements.queues.select_cursor,
                (name,),
            )
            .await?;
        Ok(first_row::<(Option<i64>,)>(result, "queue cursor")?.and_then(|(next,)| next))
    }

    /// Moves the cursor of queue `name` from `read` to `next` unless it moved
    /// meanwhile (the next pass tries again). A failure only delays the move:
    /// it is logged, not returned, since the listing itself succeeded.
    pub(super) async fn advance_queue_cursor(&self, name: &str, read: Option<i64>, next: i64) {
        let moved = match read {
            Some(read) => {
                self.execute_conditional(
                    |connected| &connected.statements.queues.move_cursor,
                    (next, name, read),
                    "queue cursor",
                )
                .await
            }
            None => {
                self.execute_conditional(
                    |connected| &connected.statements.queues.insert_cursor,
                    (name, next),
                    "queue cursor",
                )
                .await
            }
        };
        match moved {
            Ok(Conditional { applied: true, .. }) => {}
            Ok(_moved_by_another_node) => {
                tracing::debug!(queue = name, "queue cursor moved meanwhile");
            }
            Err(error) => {
                tracing::warn!(queue = name, %error, "queue cursor not moved");
            }
        }
    }
}

/// Moves the cursor of queue `name` back to `bucket` unless it is there or
/// before, by compare-and-set so that a pass advancing it meanwhile cannot
/// undo this.
pub(super) async fn lower_cursor(session: &Session, name: &str, bucket: i64) -> StoreResult<()> {
    loop {
        let result = session
            .query_unpaged(
                "SELECT next_bucket FROM queue_cursors WHERE queue = ?",
                (name,),
            )
            .await
            .map_err(execution_error)?;
        let read = first_row::<(Option<i64>,)>(result, "queue cursor")?.and_then(|(next,)| next);
        let written = match read {
            Some(read) if read <= bucket => return Ok(()),
            Some(read) => {
                session
                    .query_unpaged(
                        "UPDATE queue_cursors SET next_bucket = ? WHERE queue = ? \
                         IF next_bucket = ?",
                        (bucket, name, read),
                    )
                    .await
            }
            None => {
                session
                    .query_unpaged(
                        "INSERT INTO queue_cursors (queue, next_bucket) VALUES (?, ?) \
                         IF NOT EXISTS",
                        (name, bucket),
                    )
                    .await
            }
        }
        .map_err(execution_error)?;
        if Conditional::from_result(written, "queue cursor")?.applied {
            return Ok(());
        }
    }
}

/// Rows of a table before version 7 read per query by [`move_legacy_items`].
const LEGACY_PAGE: i32 = 1_000;

/// Partitions of the tables before version 7.
const LEGACY_SHARDS: i32 = 16;

/// Moves every row of `started_redemptions`, `started_donations` and
/// `pending_releases` (schema version 6 and before) into the queues, lowering
/// their cursors to reach them, and returns how many it moved. Runs on each
/// connect, so rows a node of an older version leaves during a rolling
/// upgrade are moved by the next node to connect.
pub(super) async fn move_legacy_items(session: &Session) -> StoreResult<usize> {
    let mut moved = 0;
    for shard in 0..LEGACY_SHARDS {
        for (table, records, queue) in [
            (
                "started_redemptions",
                "redemptions",
                Queue::StartedRedemptions,
            ),
            ("started_donations", "donations", Queue::StartedDonations),
        ] {
            moved += move_legacy_requests(session, (table, records), queue, shard).await?;
        }
        moved += move_legacy_releases(session, shard).await?;
    }
    Ok(moved)
}

/// Moves the rows of one shard of `started_redemptions` or
/// `started_donations` (`table`), each under the time of its request in
/// `records`; a row whose request is missing is only deleted (the listing
/// would skip it too).
async fn move_legacy_requests(
    session: &Session,
    (table, records): (&str, &str),
    queue: Queue,
    shard: i32,
) -> StoreResult<usize> {
    let mut moved = 0;
    loop {
        let result = session
            .query_unpaged(
                format!("SELECT account_id, idempotency_key FROM {table} WHERE shard = ? LIMIT ?"),
                (shard, LEGACY_PAGE),
            )
            .await
            .map_err(execution_error)?;
        let requests = rows::<(Uuid, String)>(result, table)?;
        if requests.is_empty() {
            return Ok(moved);
        }
        for (account_id, key) in requests {
            let result = session
                .query_unpaged(
                    format!(
                        "SELECT record FROM {records} WHERE account_id = ? AND idempotency_key = ?"
                    ),
                    (account_id, key.as_str()),
                )
                .await
                .map_err(execution_error)?;
            if let Some((record,)) = first_row::<(Vec<u8>,)>(result, records)? {
                let requested: RequestTime = decode_record(&record, records)?;
                let at_ms = requested.requested_at_ms;
                let item = request_item(AccountId(account_id), &key);
                file_legacy_item(session, queue, at_ms, &item).await?;
            }
            session
                .query_unpaged(
                    format!(
                        "DELETE FROM {table} WHERE shard = ? AND account_id = ? \
                         AND idempotency_key = ?"
                    ),
                    (shard, account_id, key.as_str()),
                )
                .await
                .map_err(execution_error)?;
            moved += 1;
        }
    }
}

/// Moves the rows of one shard of `pending_releases`: each becomes a release
/// note (the first note kept) with its item under the note's time.
async fn move_legacy_releases(session: &Session, shard: i32) -> StoreResult<usize> {
    let mut moved = 0;
    loop {
        let result = session
            .query_unpaged(
                "SELECT voucher_id, marked_at_ms FROM pending_releases WHERE shard = ? LIMIT ?",
                (shard, LEGACY_PAGE),
            )
            .await
            .map_err(execution_error)?;
        let releases = rows::<(Uuid, i64)>(result, "pending release")?;
        if releases.is_empty() {
            return Ok(moved);
        }
        for (voucher_id, marked_at_ms) in releases {
            let noted = session
                .query_unpaged(
                    "INSERT INTO release_notes (voucher_id, marked_at_ms) VALUES (?, ?) \
                     IF NOT EXISTS",
                    (voucher_id, marked_at_ms),
                )
                .await
                .map_err(execution_error)?;
            let noted = Conditional::from_result(noted, "release note")?;
            let at_ms = if noted.applied {
                marked_at_ms
            } else {
                noted.current_bigint("marked_at_ms").unwrap_or(marked_at_ms)
            };
            file_legacy_item(
                session,
                Queue::PendingReleases,
                at_ms,
                voucher_id.as_bytes(),
            )
            .await?;
            session
                .query_unpaged(
                    "DELETE FROM pending_releases WHERE shard = ? AND voucher_id = ?",
                    (shard, voucher_id),
                )
                .await
                .map_err(execution_error)?;
            moved += 1;
        }
    }
}

/// Files an item moved from a table before version 7, lowering the queue's
/// cursor to its bucket first so no listing passes it by.
async fn file_legacy_item(
    session: &Session,
    queue: Queue,
    at_ms: i64,
    item: &[u8],
) -> StoreResult<()> {
    lower_cursor(session, queue.name(), bucket_of(at_ms)).await?;
    session
        .query_unpaged(
            "INSERT INTO queued_by_time (queue, bucket, item, at_ms) VALUES (?, ?, ?, ?)",
            (queue.name(), bucket_of(at_ms), item, at_ms),
        )
        .await
        .map_err(execution_error)?;
    Ok(())
}

/// The one field a legacy move reads of a redemption or donation record.
#[derive(Debug, serde::Deserialize)]
struct RequestTime {
    /// When the request was made (Unix ms).
    requested_at_ms: i64,
}
