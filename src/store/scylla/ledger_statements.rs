//! The statements of the ledger (`ledger_accounts`, with the older
//! `ledger_heads` and `ledger_entry_ids` read for accounts started before
//! schema version 5) and of the reward claims (`reward_day_slots`,
//! `pair_reward_claims`). Conditional writes are not idempotent; the reads that
//! decide what a refused or unanswered one did run at `SERIAL`, which also
//! finishes any Paxos round still open on the partition.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;

/// The prepared statements, one field per query.
#[derive(Debug)]
pub(super) struct LedgerStatements {
    /// Reads an account's head (the static columns).
    pub(super) select_head: PreparedStatement,
    /// Reads one entry row of an account at `SERIAL`.
    pub(super) select_entry_serial: PreparedStatement,
    /// Appends an entry after the head: the entry `IF NOT EXISTS` and the head
    /// `IF seq = ?`, in one conditional batch.
    pub(super) append_after: PreparedBatch,
    /// Appends an account's first entry: the entry `IF NOT EXISTS` and the
    /// head `IF seq = null`.
    pub(super) append_first: PreparedBatch,
    /// Starts a head from an account's `ledger_heads` row (`IF seq = null`)
    /// with the row of that head's last entry.
    pub(super) seed_from_legacy: PreparedBatch,
    /// Reads the slots taken on a person's day at `SERIAL`.
    pub(super) select_day_slots: PreparedStatement,
    /// Takes a slot: `IF NOT EXISTS`, with a TTL.
    pub(super) claim_day_slot: PreparedStatement,
    /// Reads a pair's claim at `SERIAL`.
    pub(super) select_pair_claim: PreparedStatement,
    /// Takes a pair's reward: `IF connection_id = ?` (the holder read).
    pub(super) claim_pair: PreparedStatement,
    /// Takes a pair's reward nobody holds: `IF connection_id = null`.
    pub(super) claim_free_pair: PreparedStatement,
    /// Gives a pair's reward back to the previous holder: `IF connection_id = ?`.
    pub(super) release_pair: PreparedStatement,
}

/// A batch of prepared statements (the driver's `Batch` has no `Debug`).
pub(super) struct PreparedBatch(pub(super) Batch);

impl std::fmt::Debug for PreparedBatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PreparedBatch")
            .field("statements", &self.0.statements.len())
            .finish()
    }
}

/// The head update of an append (the batch's second statement).
const ADVANCE_HEAD: &str = "UPDATE ledger_accounts SET seq = ?, balance = ?, last_entry_id = ?, \
     last_at_ms = ?, last_delta = ?, last_reason = ?, last_reference = ? WHERE account_id = ?";

impl LedgerStatements {
    /// Prepares every statement on `session`.
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        let insert_entry = prepare.conditional(
            "INSERT INTO ledger_accounts (account_id, entry_id, entry_seq, at_ms, delta, reason, \
             reference, balance_after, writer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
                .to_owned(),
        )
        .await?;
        let batch = |statements: Vec<PreparedStatement>| {
            let mut batch = Batch::new(BatchType::Logged);
            batch.set_is_idempotent(false);
            for statement in statements {
                batch.append_statement(statement);
            }
            PreparedBatch(batch)
        };
        let append_after = batch(vec![
            insert_entry.clone(),
            prepare
                .conditional(format!("{ADVANCE_HEAD} IF seq = ?"))
                .await?,
        ]);
        let append_first = batch(vec![
            insert_entry,
            prepare
                .conditional(format!("{ADVANCE_HEAD} IF seq = null"))
                .await?,
        ]);
        let seed_from_legacy =
            batch(vec![
            prepare.idempotent(
                "INSERT INTO ledger_accounts (account_id, entry_id, entry_seq, at_ms, delta, \
                 reason, reference, balance_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    .to_owned(),
            )
            .await?,
            prepare.conditional(
                "UPDATE ledger_accounts SET seq = ?, balance = ?, last_entry_id = ?, \
                 last_at_ms = ?, last_delta = ?, last_reason = ?, last_reference = ?, \
                 legacy_ids = true WHERE account_id = ? IF seq = null"
                    .to_owned(),
            )
            .await?,
        ]);
        Ok(Self {
            select_head: prepare.idempotent(
                "SELECT seq, balance, last_entry_id, last_at_ms, last_delta, last_reason, \
                 last_reference, legacy_ids FROM ledger_accounts WHERE account_id = ? LIMIT 1"
                    .to_owned(),
            )
            .await?,
            select_entry_serial: prepare.serial(
                "SELECT entry_seq, at_ms, delta, reason, reference, balance_after, writer \
                 FROM ledger_accounts WHERE account_id = ? AND entry_id = ?"
                    .to_owned(),
            )
            .await?,
            append_after,
            append_first,
            seed_from_legacy,
            select_day_slots: prepare.serial(
                "SELECT slot, connection_id FROM reward_day_slots WHERE account_id = ? AND day = ?"
                    .to_owned(),
            )
            .await?,
            claim_day_slot: prepare.conditional(
                "INSERT INTO reward_day_slots (account_id, day, slot, connection_id) \
                 VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?"
                    .to_owned(),
            )
            .await?,
            select_pair_claim: prepare.serial(
                "SELECT connection_id, at_ms, previous_connection_id, previous_at_ms \
                 FROM pair_reward_claims WHERE first_id = ? AND second_id = ?"
                    .to_owned(),
            )
            .await?,
            claim_pair: prepare.conditional(
                "UPDATE pair_reward_claims USING TTL ? SET connection_id = ?, at_ms = ?, \
                 previous_connection_id = ?, previous_at_ms = ? \
                 WHERE first_id = ? AND second_id = ? IF connection_id = ?"
                    .to_owned(),
            )
            .await?,
            claim_free_pair: prepare.conditional(
                "UPDATE pair_reward_claims USING TTL ? SET connection_id = ?, at_ms = ?, \
                 previous_connection_id = null, previous_at_ms = null \
                 WHERE first_id = ? AND second_id = ? IF connection_id = null"
                    .to_owned(),
            )
            .await?,
            release_pair: prepare.conditional(
                "UPDATE pair_reward_claims USING TTL ? SET connection_id = ?, at_ms = ?, \
                 previous_connection_id = null, previous_at_ms = null \
                 WHERE first_id = ? AND second_id = ? IF connection_id = ?"
                    .to_owned(),
            )
            .await?,
        })
    }
}
