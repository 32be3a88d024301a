//! The prepared statements of donations, pledges and statement settlements
//! (schema version 4). Kept apart from `statements` so each file holds one
//! area of the schema.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

/// The statements, one field per query.
#[derive(Debug)]
pub(super) struct PledgeStatements {
    /// Writes a donation: `IF NOT EXISTS`.
    pub(super) insert_donation: PreparedStatement,
    /// Reads a donation's record.
    pub(super) select_donation: PreparedStatement,
    /// Replaces a donation: `IF status = 'started' AND attempt = ?`.
    pub(super) update_donation: PreparedStatement,
    /// Lists a pledge under its (month, charity).
    pub(super) insert_pledge: PreparedStatement,
    /// Takes a pledge off its list.
    pub(super) delete_pledge: PreparedStatement,
    /// The first pledges of a (month, charity).
    pub(super) select_pledges: PreparedStatement,
    /// The pledges of a (month, charity) after an id.
    pub(super) select_pledges_after: PreparedStatement,
    /// Records a settlement: `IF NOT EXISTS`.
    pub(super) insert_settlement: PreparedStatement,
    /// Reads a settlement (serial, so a refused insert reads the winner).
    pub(super) select_settlement: PreparedStatement,
}

impl PledgeStatements {
    /// Prepares every statement on `session`.
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            insert_donation: prepare.conditional(
                "INSERT INTO donations (account_id, idempotency_key, status, attempt, record) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            select_donation: prepare.serial(
                "SELECT record FROM donations WHERE account_id = ? AND idempotency_key = ?",
            )
            .await?,
            update_donation: prepare.conditional(
                "UPDATE donations SET status = ?, attempt = ?, record = ? \
                 WHERE account_id = ? AND idempotency_key = ? \
                 IF status = 'started' AND attempt = ?",
            )
            .await?,
            insert_pledge: prepare.idempotent(
                "INSERT INTO pledges (month, charity_id, pledge_id, record) VALUES (?, ?, ?, ?)",
            )
            .await?,
            delete_pledge: prepare.idempotent(
                "DELETE FROM pledges WHERE month = ? AND charity_id = ? AND pledge_id = ?",
            )
            .await?,
            select_pledges: prepare.idempotent(
                "SELECT record FROM pledges WHERE month = ? AND charity_id = ? LIMIT ?",
            )
            .await?,
            select_pledges_after: prepare.idempotent(
                "SELECT record FROM pledges \
                 WHERE month = ? AND charity_id = ? AND pledge_id > ? LIMIT ?",
            )
            .await?,
            insert_settlement: prepare.conditional(
                "INSERT INTO statement_settlements (month, record) VALUES (?, ?) IF NOT EXISTS",
            )
            .await?,
            select_settlement: prepare.serial("SELECT record FROM statement_settlements WHERE month = ?")
                .await?,
        })
    }
}
