//! The prepared statements of report facts (schema versions 9 and 13). Kept apart
//! from `statements` so each file holds one area of the schema.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

/// The statements, one field per query.
#[derive(Debug)]
pub(super) struct ReportStatements {
    /// Writes a fact under its (metric, day): an idempotent upsert.
    pub(super) insert_fact: PreparedStatement,
    /// Reads every fact of a (metric, day).
    pub(super) select_facts: PreparedStatement,
    /// Drops every fact of a (metric, day).
    pub(super) delete_facts: PreparedStatement,
    /// Pages through every connection record.
    pub(super) scan_connections: PreparedStatement,
    /// Pages through every listed ledger entry.
    pub(super) scan_ledger_entries: PreparedStatement,
    /// Writes an availability stretch: an idempotent upsert.
    pub(super) insert_availability: PreparedStatement,
    /// Pages through every availability stretch.
    pub(super) scan_availability: PreparedStatement,
    /// Pages through every voucher.
    pub(super) scan_vouchers: PreparedStatement,
    /// Pages through every donation.
    pub(super) scan_donations: PreparedStatement,
}

impl ReportStatements {
    /// Prepares every statement on `session`.
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        let paged = |text: &'static str| async move {
            let mut statement = session.prepare(text).await?;
            statement.set_is_idempotent(true);
            statement.set_page_size(super::reports::SCAN_PAGE_ROWS);
            Ok::<_, PrepareError>(statement)
        };
        Ok(Self {
            insert_fact: prepare
                .idempotent(
                    "INSERT INTO report_facts \
                 (metric, day, fact_id, at_ms, zip, roles, amount, person, partner) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .await?,
            select_facts: prepare
                .idempotent(
                    "SELECT fact_id, at_ms, zip, roles, amount, person, partner FROM report_facts \
                 WHERE metric = ? AND day = ?",
                )
                .await?,
            delete_facts: prepare
                .idempotent("DELETE FROM report_facts WHERE metric = ? AND day = ?")
                .await?,
            scan_connections: paged(
                "SELECT connection_id, citizen_id, citizen_points, citizen_withheld, officer_id, \
                 officer_points, officer_withheld, established_at_ms, cell_r7, zip, facts_written, \
                 mode FROM connections",
            )
            .await?,
            scan_ledger_entries: paged(
                "SELECT account_id, seq, entry_id, at_ms, delta, reason, reference, balance_after \
                 FROM ledger_entries",
            )
            .await?,
            insert_availability: prepare
                .idempotent(
                    "INSERT INTO availability_windows (window_id, started_at_ms, ended_at_ms, zip) \
                     VALUES (?, ?, ?, ?)",
                )
                .await?,
            scan_availability: paged(
                "SELECT window_id, started_at_ms, ended_at_ms, zip FROM availability_windows",
            )
            .await?,
            scan_vouchers: paged("SELECT status, status_changed_at_ms, record FROM vouchers")
                .await?,
            scan_donations: paged("SELECT record FROM donations").await?,
        })
    }
}
