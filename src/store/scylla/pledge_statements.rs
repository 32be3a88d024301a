//! The prepared statements of donations, pledges and statement settlements
//! (schema version 4). Kept apart from `statements` so each file holds one
//! area of the schema.

use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::Consistency;
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
        let idempotent = |text: &'static str| async move {
            let mut statement = session.prepare(text).await?;
            statement.set_is_idempotent(true);
            Ok::<_, PrepareError>(statement)
        };
        let conditional = |text: &'static str| async move {
            let mut statement = session.prepare(text).await?;
            statement.set_is_idempotent(false);
            Ok::<_, PrepareError>(statement)
        };
        let serial = |text: &'static str| async move {
            let mut statement = session.prepare(text).await?;
            statement.set_is_idempotent(true);
            statement.set_consistency(Consistency::Serial);
            Ok::<_, PrepareError>(statement)
        };
        Ok(Self {
            insert_donation: conditional(
                "INSERT INTO donations (account_id, idempotency_key, status, attempt, record) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            select_donation: serial(
                "SELECT record FROM donations WHERE account_id = ? AND idempotency_key = ?",
            )
            .await?,
            update_donation: conditional(
                "UPDATE donations SET status = ?, attempt = ?, record = ? \
                 WHERE account_id = ? AND idempotency_key = ? \
                 IF status = 'started' AND attempt = ?",
            )
            .await?,
            insert_pledge: idempotent(
                "INSERT INTO pledges (month, charity_id, pledge_id, record) VALUES (?, ?, ?, ?)",
            )
            .await?,
            delete_pledge: idempotent(
                "DELETE FROM pledges WHERE month = ? AND charity_id = ? AND pledge_id = ?",
            )
            .await?,
            select_pledges: idempotent(
                "SELECT record FROM pledges WHERE month = ? AND charity_id = ? LIMIT ?",
            )
            .await?,
            select_pledges_after: idempotent(
                "SELECT record FROM pledges \
                 WHERE month = ? AND charity_id = ? AND pledge_id > ? LIMIT ?",
            )
            .await?,
            insert_settlement: conditional(
                "INSERT INTO statement_settlements (month, record) VALUES (?, ?) IF NOT EXISTS",
            )
            .await?,
            select_settlement: serial("SELECT record FROM statement_settlements WHERE month = ?")
                .await?,
        })
    }
}
