//! Preparing a statement with the retry policy its kind of write allows, in one
//! place for every statements module.

use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;

/// Prepares statements on one session (already using the keyspace).
#[derive(Clone, Copy)]
pub(super) struct Preparer<'a>(pub(super) &'a Session);

impl Preparer<'_> {
    /// Reads and upserts: running twice has the effect of running once, so the
    /// driver may retry them.
    pub(super) async fn idempotent(
        self,
        text: impl Into<String>,
    ) -> Result<PreparedStatement, PrepareError> {
        let mut statement = self.0.prepare(text.into()).await?;
        statement.set_is_idempotent(true);
        Ok(statement)
    }

    /// Conditional writes: never retried blindly, because a retried Paxos round
    /// may report "not applied" for its own earlier success.
    pub(super) async fn conditional(
        self,
        text: impl Into<String>,
    ) -> Result<PreparedStatement, PrepareError> {
        let mut statement = self.0.prepare(text.into()).await?;
        statement.set_is_idempotent(false);
        Ok(statement)
    }

    /// Reads at `SERIAL`, which see the outcome of every conditional write
    /// before them (they decide what an unanswered one did).
    pub(super) async fn serial(
        self,
        text: impl Into<String>,
    ) -> Result<PreparedStatement, PrepareError> {
        let mut statement = self.idempotent(text).await?;
        statement.set_consistency(Consistency::Serial);
        Ok(statement)
    }
}
