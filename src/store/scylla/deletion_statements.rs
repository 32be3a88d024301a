//! The prepared statements of account deletion (schema version 11): the list
//! of deletions under way and the rows that forget a phone and rewrite an
//! event. Kept apart from `statements` so each file holds one area of the
//! schema.

use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

use super::prepare::Preparer;

/// The statements, one field per query.
#[derive(Debug)]
pub(super) struct DeletionStatements {
    /// Notes a deletion under way (an upsert).
    pub(super) insert_deletion: PreparedStatement,
    /// Lists deletions under way.
    pub(super) select_deletions: PreparedStatement,
    /// Forgets a finished deletion.
    pub(super) delete_deletion: PreparedStatement,
    /// Drops the phone index row if it still names the account.
    pub(super) release_phone: PreparedStatement,
    /// Drops a phone's one-time-code state.
    pub(super) delete_otp_challenge: PreparedStatement,
    /// Sets an account's phone hash and sealed number: emptied by a
    /// deletion, moved to a new master key by a rotation (`key_rotation`).
    pub(super) set_account_phone: PreparedStatement,
    /// Rewrites a stored profile event.
    pub(super) replace_event: PreparedStatement,
}

impl DeletionStatements {
    /// Prepares every statement on `session`.
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            insert_deletion: prepare
                .idempotent(
                    "INSERT INTO account_deletions (shard, account_id, started_at_ms) \
                     VALUES (0, ?, ?)",
                )
                .await?,
            select_deletions: prepare
                .idempotent(
                    "SELECT account_id, started_at_ms FROM account_deletions \
                     WHERE shard = 0 LIMIT ?",
                )
                .await?,
            delete_deletion: prepare
                .idempotent("DELETE FROM account_deletions WHERE shard = 0 AND account_id = ?")
                .await?,
            release_phone: prepare
                .conditional("DELETE FROM accounts_by_phone WHERE phone_hash = ? IF account_id = ?")
                .await?,
            delete_otp_challenge: prepare
                .idempotent("DELETE FROM otp_challenges WHERE phone_hash = ?")
                .await?,
            set_account_phone: prepare
                .idempotent(
                    "UPDATE accounts SET phone_hash = ?, phone_sealed = ? WHERE account_id = ?",
                )
                .await?,
            replace_event: prepare
                .conditional(
                    "UPDATE profile_events SET kind = ? \
                     WHERE account_id = ? AND bucket = ? AND seq = ? IF EXISTS",
                )
                .await?,
        })
    }
}
