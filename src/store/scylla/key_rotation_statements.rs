//! The prepared statements of a master-key rotation: full scans of
//! `accounts` and `roster` (paged by the driver). The write that gives an
//! account its phone's new lookup key and seal is the deletion's
//! `set_account_phone`. Kept apart from `statements` so each file holds one
//! area of the schema.

use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

use super::prepare::Preparer;

/// The statements, one field per query.
#[derive(Debug)]
pub(super) struct KeyRotationStatements {
    /// Reads every account, a page at a time.
    pub(super) scan_accounts: PreparedStatement,
    /// Reads every roster entry, a page at a time.
    pub(super) scan_roster: PreparedStatement,
}

impl KeyRotationStatements {
    /// Prepares every statement on `session`.
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            scan_accounts: prepare
                .idempotent(
                    "SELECT account_id, phone_hash, phone_sealed, role, created_at_ms \
                     FROM accounts",
                )
                .await?,
            scan_roster: prepare
                .idempotent(
                    "SELECT phone_hash, phone_sealed, display_name, badge, department, \
                     updated_at_ms FROM roster",
                )
                .await?,
        })
    }
}
