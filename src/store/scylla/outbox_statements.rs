//! The statements of the transactional outbox (schema version 8): deliveries
//! by message id, changed by conditional writes on their version; the due
//! queue by bucket and time; the by-state listing rows.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

/// The prepared statements, one field per query.
#[derive(Debug)]
pub(super) struct OutboxStatements {
    /// Writes a new delivery: `IF NOT EXISTS`.
    pub(super) insert_delivery: PreparedStatement,
    /// Reads a delivery and its version.
    pub(super) select_delivery: PreparedStatement,
    /// Replaces a delivery: `IF version = ?`.
    pub(super) replace_delivery: PreparedStatement,
    /// Files a delivery in the due queue.
    pub(super) insert_due: PreparedStatement,
    /// Reads the rows of one bucket due by a time, earliest first.
    pub(super) select_due: PreparedStatement,
    /// Removes a row of the due queue.
    pub(super) delete_due: PreparedStatement,
    /// Lists a delivery under its state and day.
    pub(super) insert_by_state: PreparedStatement,
    /// Reads the newest rows of one state and day.
    pub(super) select_by_state: PreparedStatement,
    /// Removes a delivery's row under a state and day.
    pub(super) delete_by_state: PreparedStatement,
    /// Writes an endpoint.
    pub(super) upsert_endpoint: PreparedStatement,
    /// Reads every endpoint (they are few).
    pub(super) select_endpoints: PreparedStatement,
}

impl OutboxStatements {
    /// Prepares every statement on `session` (already using the keyspace).
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            insert_delivery: prepare
                .conditional(
                    "INSERT INTO outbox_deliveries (message_id, version, record) VALUES (?, ?, ?) \
                 IF NOT EXISTS",
                )
                .await?,
            select_delivery: prepare
                .idempotent("SELECT version, record FROM outbox_deliveries WHERE message_id = ?")
                .await?,
            replace_delivery: prepare
                .conditional(
                    "UPDATE outbox_deliveries SET version = ?, record = ? WHERE message_id = ? \
                 IF version = ?",
                )
                .await?,
            insert_due: prepare
                .idempotent(
                    "INSERT INTO outbox_due (bucket, due_at_ms, message_id) VALUES (?, ?, ?)",
                )
                .await?,
            select_due: prepare
                .idempotent(
                    "SELECT due_at_ms, message_id FROM outbox_due WHERE bucket = ? \
                 AND due_at_ms <= ?",
                )
                .await?,
            delete_due: prepare
                .idempotent(
                    "DELETE FROM outbox_due WHERE bucket = ? AND due_at_ms = ? AND message_id = ?",
                )
                .await?,
            insert_by_state: prepare
                .idempotent(
                    "INSERT INTO outbox_by_state (state, day, since_ms, message_id) \
                 VALUES (?, ?, ?, ?)",
                )
                .await?,
            select_by_state: prepare
                .idempotent(
                    "SELECT since_ms, message_id FROM outbox_by_state WHERE state = ? AND day = ? \
                 LIMIT ?",
                )
                .await?,
            delete_by_state: prepare
                .idempotent(
                    "DELETE FROM outbox_by_state WHERE state = ? AND day = ? AND since_ms = ? \
                 AND message_id = ?",
                )
                .await?,
            upsert_endpoint: prepare
                .idempotent("INSERT INTO outbox_endpoints (endpoint_id, record) VALUES (?, ?)")
                .await?,
            select_endpoints: prepare
                .idempotent("SELECT record FROM outbox_endpoints")
                .await?,
        })
    }
}
