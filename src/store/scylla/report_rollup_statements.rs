//! The prepared statements of report roll-ups (schema version 15): the
//! dirty-day marks and the rolled-up cells. Kept apart from
//! `report_statements` (the facts) so each file holds one area of the schema.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

/// The statements, one field per query.
#[derive(Debug)]
pub(super) struct ReportRollupStatements {
    /// Marks a (metric, day) dirty for one writer, at the writer's next
    /// timestamp: an upsert of the writer's row.
    pub(super) upsert_mark: PreparedStatement,
    /// Reads the marks of a metric over a range of days, with the timestamp
    /// each was last written at, up to a limit.
    pub(super) select_marks: PreparedStatement,
    /// Deletes one mark as of the timestamp it was read at: a later write of
    /// the same row survives.
    pub(super) delete_mark: PreparedStatement,
    /// Writes one part of the cells of one hour of a period, at the time its
    /// roll-up started.
    pub(super) insert_rollup: PreparedStatement,
    /// Deletes a period's partition as of just before a roll-up started:
    /// every row an earlier roll-up wrote that this one did not rewrite.
    pub(super) delete_rollup_partition: PreparedStatement,
    /// Reads every row of a period's partition.
    pub(super) select_rollups: PreparedStatement,
}

impl ReportRollupStatements {
    /// Prepares every statement on `session`.
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            upsert_mark: prepare
                .idempotent(
                    "INSERT INTO report_dirty_days (metric, day, writer, marked_at_ms) \
                     VALUES (?, ?, ?, ?) USING TIMESTAMP ?",
                )
                .await?,
            select_marks: prepare
                .idempotent(
                    "SELECT day, writer, WRITETIME(marked_at_ms) FROM report_dirty_days \
                     WHERE metric = ? AND day >= ? AND day <= ? LIMIT ?",
                )
                .await?,
            delete_mark: prepare
                .idempotent(
                    "DELETE FROM report_dirty_days USING TIMESTAMP ? \
                     WHERE metric = ? AND day = ? AND writer = ?",
                )
                .await?,
            insert_rollup: prepare
                .idempotent(
                    "INSERT INTO report_rollups \
                     (metric, grain, level, role, period_day, hour, part, cells) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?",
                )
                .await?,
            delete_rollup_partition: prepare
                .idempotent(
                    "DELETE FROM report_rollups USING TIMESTAMP ? WHERE metric = ? AND grain = ? \
                     AND level = ? AND role = ? AND period_day = ?",
                )
                .await?,
            select_rollups: prepare
                .idempotent(
                    "SELECT hour, part, cells FROM report_rollups WHERE metric = ? AND grain = ? \
                     AND level = ? AND role = ? AND period_day = ?",
                )
                .await?,
        })
    }
}
