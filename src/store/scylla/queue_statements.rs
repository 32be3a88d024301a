//! The statements of the time-bucketed queues: the marks of connections whose
//! credits are not complete (`incomplete_connections_by_time`, schema version
//! 6), the started redemptions and donations and the release notes
//! (`queued_by_time`, `release_notes`, version 7), and the cursor rows
//! (`queue_cursors`) saying where a recovery pass starts.
//! The cursor moves by compare-and-set, so a pass that advances it and a node
//! moving older marks in (which lowers it) cannot undo each other.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

/// The prepared statements, one field per query.
#[derive(Debug)]
pub(super) struct QueueStatements {
    /// Writes a connection's incomplete mark in its bucket.
    pub(super) insert_incomplete: PreparedStatement,
    /// Reads the first marks of one bucket, in id order.
    pub(super) select_incomplete: PreparedStatement,
    /// Removes a connection's incomplete mark.
    pub(super) delete_incomplete: PreparedStatement,
    /// Files an item in a queue's bucket.
    pub(super) insert_queued: PreparedStatement,
    /// Reads the first items of one bucket of a queue, in byte order.
    pub(super) select_queued: PreparedStatement,
    /// Removes an item from a queue's bucket.
    pub(super) delete_queued: PreparedStatement,
    /// Notes a voucher's release: `IF NOT EXISTS`, the first note is kept.
    pub(super) insert_release_note: PreparedStatement,
    /// Reads a voucher's release note.
    pub(super) select_release_note: PreparedStatement,
    /// Drops a voucher's release note.
    pub(super) delete_release_note: PreparedStatement,
    /// Reads where a queue's pass starts.
    pub(super) select_cursor: PreparedStatement,
    /// Writes a queue's first cursor: `IF NOT EXISTS`.
    pub(super) insert_cursor: PreparedStatement,
    /// Moves a queue's cursor from the value read: `IF next_bucket = ?`.
    pub(super) move_cursor: PreparedStatement,
}

impl QueueStatements {
    /// Prepares every statement on `session` (already using the keyspace).
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            insert_incomplete: prepare.idempotent(
                "INSERT INTO incomplete_connections_by_time (bucket, connection_id) VALUES (?, ?)",
            )
            .await?,
            select_incomplete: prepare.idempotent(
                "SELECT connection_id FROM incomplete_connections_by_time WHERE bucket = ? LIMIT ?",
            )
            .await?,
            delete_incomplete: prepare.idempotent(
                "DELETE FROM incomplete_connections_by_time WHERE bucket = ? AND connection_id = ?",
            )
            .await?,
            insert_queued: prepare.idempotent(
                "INSERT INTO queued_by_time (queue, bucket, item, at_ms) VALUES (?, ?, ?, ?)",
            )
            .await?,
            select_queued: prepare.idempotent(
                "SELECT item, at_ms FROM queued_by_time WHERE queue = ? AND bucket = ? LIMIT ?",
            )
            .await?,
            delete_queued: prepare.idempotent(
                "DELETE FROM queued_by_time WHERE queue = ? AND bucket = ? AND item = ?",
            )
            .await?,
            insert_release_note: prepare.conditional(
                "INSERT INTO release_notes (voucher_id, marked_at_ms) VALUES (?, ?) IF NOT EXISTS",
            )
            .await?,
            select_release_note: prepare.idempotent(
                "SELECT marked_at_ms FROM release_notes WHERE voucher_id = ?",
            )
            .await?,
            delete_release_note: prepare.idempotent("DELETE FROM release_notes WHERE voucher_id = ?")
                .await?,
            select_cursor: prepare.idempotent("SELECT next_bucket FROM queue_cursors WHERE queue = ?")
                .await?,
            insert_cursor: prepare.conditional(
                "INSERT INTO queue_cursors (queue, next_bucket) VALUES (?, ?) IF NOT EXISTS",
            )
            .await?,
            move_cursor: prepare.conditional(
                "UPDATE queue_cursors SET next_bucket = ? WHERE queue = ? IF next_bucket = ?",
            )
            .await?,
        })
    }
}
