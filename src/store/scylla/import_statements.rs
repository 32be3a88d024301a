//! The statements of the import pipeline (schema version 7): runs by id,
//! staged chunks by (run, chunk), external ids by (kind, ref). Every write is
//! a plain upsert, so each is idempotent and safe to retry.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

/// The prepared statements, one field per query.
#[derive(Debug)]
pub(super) struct ImportStatements {
    /// Writes a run.
    pub(super) upsert_run: PreparedStatement,
    /// Reads a run by id.
    pub(super) select_run: PreparedStatement,
    /// Reads every run (they are few).
    pub(super) select_runs: PreparedStatement,
    /// Writes a staged chunk.
    pub(super) upsert_staged: PreparedStatement,
    /// Reads a staged chunk.
    pub(super) select_staged: PreparedStatement,
    /// Drops a staged chunk.
    pub(super) delete_staged: PreparedStatement,
    /// Writes what an external id wrote.
    pub(super) upsert_ref: PreparedStatement,
    /// Reads what an external id wrote.
    pub(super) select_ref: PreparedStatement,
}

impl ImportStatements {
    /// Prepares every statement on `session` (already using the keyspace).
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            upsert_run: prepare
                .idempotent(
                    "INSERT INTO import_runs (run_id, started_at_ms, record) VALUES (?, ?, ?)",
                )
                .await?,
            select_run: prepare
                .idempotent("SELECT record FROM import_runs WHERE run_id = ?")
                .await?,
            select_runs: prepare.idempotent("SELECT record FROM import_runs").await?,
            upsert_staged: prepare
                .idempotent("INSERT INTO import_staged (run_id, chunk, rows) VALUES (?, ?, ?)")
                .await?,
            select_staged: prepare
                .idempotent("SELECT rows FROM import_staged WHERE run_id = ? AND chunk = ?")
                .await?,
            delete_staged: prepare
                .idempotent("DELETE FROM import_staged WHERE run_id = ? AND chunk = ?")
                .await?,
            upsert_ref: prepare
                .idempotent("INSERT INTO import_refs (kind, ref, record) VALUES (?, ?, ?)")
                .await?,
            select_ref: prepare
                .idempotent("SELECT record FROM import_refs WHERE kind = ? AND ref = ?")
                .await?,
        })
    }
}
