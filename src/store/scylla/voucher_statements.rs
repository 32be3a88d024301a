//! The prepared statements of redemptions, stock moves, limit slots and
//! vouchers (schema version 4). Kept apart from `statements` so each file holds
//! one area of the schema.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

/// The statements, one field per query.
#[derive(Debug)]
pub(super) struct VoucherStatements {
    /// Writes a redemption: `IF NOT EXISTS`.
    pub(super) insert_redemption: PreparedStatement,
    /// Reads a redemption's record.
    pub(super) select_redemption: PreparedStatement,
    /// Replaces a redemption: `IF status = 'started' AND attempt = ?`.
    pub(super) update_redemption: PreparedStatement,
    /// Claims an offer's stock-move row: `IF NOT EXISTS`.
    pub(super) claim_stock_move: PreparedStatement,
    /// Records what a claimed move will change: `IF op_id = ?`.
    pub(super) plan_stock_move: PreparedStatement,
    /// Frees an offer's stock-move row: `IF op_id = ?`.
    pub(super) release_stock_move: PreparedStatement,
    /// Reads an offer's stock-move row (serial, so an unfinished round of a
    /// stopped mover is finished first).
    pub(super) select_stock_move: PreparedStatement,
    /// Reads an offer's stock at serial consistency.
    pub(super) select_remaining: PreparedStatement,
    /// Moves an offer's stock: `IF remaining = ?`.
    pub(super) set_remaining: PreparedStatement,
    /// Records an applied stock move (with a TTL).
    pub(super) insert_stock_op: PreparedStatement,
    /// Reads an applied stock move.
    pub(super) select_stock_op: PreparedStatement,
    /// Reads the slots of one (account, offer, window).
    pub(super) select_limit_slots: PreparedStatement,
    /// Takes a slot: `IF NOT EXISTS`, with a TTL of its window.
    pub(super) claim_limit_slot: PreparedStatement,
    /// Frees a slot: `IF holder = ?`.
    pub(super) release_limit_slot: PreparedStatement,
    /// Writes a voucher: `IF NOT EXISTS`.
    pub(super) insert_voucher: PreparedStatement,
    /// Reads a voucher.
    pub(super) select_voucher: PreparedStatement,
    /// Moves a voucher's status: `IF status = ?`.
    pub(super) transition_voucher: PreparedStatement,
    /// Notes a bucket of a person's voucher list.
    pub(super) insert_voucher_bucket: PreparedStatement,
    /// A person's voucher buckets, newest first.
    pub(super) select_voucher_buckets: PreparedStatement,
    /// A person's voucher buckets up to one, newest first.
    pub(super) select_voucher_buckets_up_to: PreparedStatement,
    /// Lists a voucher under its holder.
    pub(super) insert_voucher_by_account: PreparedStatement,
    /// A bucket of a person's vouchers, newest first.
    pub(super) select_vouchers_by_account: PreparedStatement,
    /// A bucket of a person's vouchers before a position, newest first.
    pub(super) select_vouchers_by_account_before: PreparedStatement,
    /// Files an issued voucher under its expiry hour.
    pub(super) insert_voucher_expiry: PreparedStatement,
    /// The vouchers of one expiry hour due by a time.
    pub(super) select_vouchers_due: PreparedStatement,
    /// Unfiles a voucher that left `issued`.
    pub(super) delete_voucher_expiry: PreparedStatement,
    /// Where the expiry sweep starts.
    pub(super) select_expiry_sweep: PreparedStatement,
    /// Moves where the expiry sweep starts.
    pub(super) update_expiry_sweep: PreparedStatement,
    /// Writes an issuer's key.
    pub(super) insert_issuer_key: PreparedStatement,
    /// Reads a key by its hash.
    pub(super) select_issuer_key: PreparedStatement,
    /// Lists a key under its issuer.
    pub(super) insert_issuer_key_by_issuer: PreparedStatement,
    /// The key hashes of an issuer.
    pub(super) select_issuer_keys_by_issuer: PreparedStatement,
    /// The key hash of one key of an issuer.
    pub(super) select_issuer_key_hash: PreparedStatement,
    /// Revokes a key: `IF revoked_at_ms = null`.
    pub(super) revoke_issuer_key: PreparedStatement,
}

impl VoucherStatements {
    /// Prepares every statement on `session`.
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            insert_redemption: prepare.conditional(
                "INSERT INTO redemptions (account_id, idempotency_key, status, attempt, record) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            select_redemption: prepare.idempotent(
                "SELECT record FROM redemptions WHERE account_id = ? AND idempotency_key = ?",
            )
            .await?,
            update_redemption: prepare.conditional(
                "UPDATE redemptions SET status = ?, attempt = ?, record = ? \
                 WHERE account_id = ? AND idempotency_key = ? \
                 IF status = 'started' AND attempt = ?",
            )
            .await?,
            claim_stock_move: prepare.conditional(
                "INSERT INTO offer_stock_moves (offer_id, op_id, claimed_at_ms) \
                 VALUES (?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            plan_stock_move: prepare.conditional(
                "UPDATE offer_stock_moves SET from_remaining = ?, to_remaining = ? \
                 WHERE offer_id = ? IF op_id = ?",
            )
            .await?,
            release_stock_move: prepare.conditional(
                "DELETE FROM offer_stock_moves WHERE offer_id = ? IF op_id = ?",
            )
            .await?,
            select_stock_move: prepare.serial(
                "SELECT op_id, from_remaining, to_remaining, claimed_at_ms \
                 FROM offer_stock_moves WHERE offer_id = ?",
            )
            .await?,
            select_remaining: prepare.serial(
                "SELECT total_quantity, remaining FROM reward_offers WHERE offer_id = ?",
            )
            .await?,
            set_remaining: prepare.conditional(
                "UPDATE reward_offers SET remaining = ? WHERE offer_id = ? IF remaining = ?",
            )
            .await?,
            insert_stock_op: prepare.idempotent(
                "INSERT INTO offer_stock_ops (op_id, offer_id, remaining_after) \
                 VALUES (?, ?, ?) USING TTL 2592000",
            )
            .await?,
            select_stock_op: prepare.idempotent(
                "SELECT remaining_after FROM offer_stock_ops WHERE op_id = ?",
            )
            .await?,
            select_limit_slots: prepare.idempotent(
                "SELECT slot, holder FROM limit_slots \
                 WHERE account_id = ? AND offer_id = ? AND limit_window = ?",
            )
            .await?,
            claim_limit_slot: prepare.conditional(
                "INSERT INTO limit_slots (account_id, offer_id, limit_window, slot, holder) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?",
            )
            .await?,
            release_limit_slot: prepare.conditional(
                "DELETE FROM limit_slots WHERE account_id = ? AND offer_id = ? \
                 AND limit_window = ? AND slot = ? IF holder = ?",
            )
            .await?,
            insert_voucher: prepare.conditional(
                "INSERT INTO vouchers (voucher_id, status, status_changed_at_ms, record) \
                 VALUES (?, ?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            select_voucher: prepare.idempotent(
                "SELECT status, status_changed_at_ms, record FROM vouchers WHERE voucher_id = ?",
            )
            .await?,
            transition_voucher: prepare.conditional(
                "UPDATE vouchers SET status = ?, status_changed_at_ms = ? \
                 WHERE voucher_id = ? IF status = ?",
            )
            .await?,
            insert_voucher_bucket: prepare.idempotent(
                "INSERT INTO voucher_buckets (account_id, bucket) VALUES (?, ?)",
            )
            .await?,
            select_voucher_buckets: prepare.idempotent(
                "SELECT bucket FROM voucher_buckets WHERE account_id = ?",
            )
            .await?,
            select_voucher_buckets_up_to: prepare.idempotent(
                "SELECT bucket FROM voucher_buckets WHERE account_id = ? AND bucket <= ?",
            )
            .await?,
            insert_voucher_by_account: prepare.idempotent(
                "INSERT INTO vouchers_by_account (account_id, bucket, issued_at_ms, voucher_id) \
                 VALUES (?, ?, ?, ?)",
            )
            .await?,
            select_vouchers_by_account: prepare.idempotent(
                "SELECT voucher_id FROM vouchers_by_account \
                 WHERE account_id = ? AND bucket = ? LIMIT ?",
            )
            .await?,
            select_vouchers_by_account_before: prepare.idempotent(
                "SELECT voucher_id FROM vouchers_by_account \
                 WHERE account_id = ? AND bucket = ? AND (issued_at_ms, voucher_id) < (?, ?) \
                 LIMIT ?",
            )
            .await?,
            insert_voucher_expiry: prepare.idempotent(
                "INSERT INTO vouchers_by_expiry (expiry_hour, expires_at_ms, voucher_id) \
                 VALUES (?, ?, ?)",
            )
            .await?,
            select_vouchers_due: prepare.idempotent(
                "SELECT expires_at_ms, voucher_id FROM vouchers_by_expiry \
                 WHERE expiry_hour = ? AND expires_at_ms <= ? LIMIT ?",
            )
            .await?,
            delete_voucher_expiry: prepare.idempotent(
                "DELETE FROM vouchers_by_expiry \
                 WHERE expiry_hour = ? AND expires_at_ms = ? AND voucher_id = ?",
            )
            .await?,
            select_expiry_sweep: prepare.idempotent(
                "SELECT next_hour FROM voucher_expiry_sweep WHERE name = 'vouchers'",
            )
            .await?,
            update_expiry_sweep: prepare.idempotent(
                "UPDATE voucher_expiry_sweep SET next_hour = ? WHERE name = 'vouchers'",
            )
            .await?,
            insert_issuer_key: prepare.idempotent(
                "INSERT INTO issuer_keys (key_hash, revoked_at_ms, record) VALUES (?, ?, ?)",
            )
            .await?,
            select_issuer_key: prepare.idempotent(
                "SELECT revoked_at_ms, record FROM issuer_keys WHERE key_hash = ?",
            )
            .await?,
            insert_issuer_key_by_issuer: prepare.idempotent(
                "INSERT INTO issuer_keys_by_issuer (issuer_id, key_id, key_hash) VALUES (?, ?, ?)",
            )
            .await?,
            select_issuer_keys_by_issuer: prepare.idempotent(
                "SELECT key_hash FROM issuer_keys_by_issuer WHERE issuer_id = ?",
            )
            .await?,
            select_issuer_key_hash: prepare.idempotent(
                "SELECT key_hash FROM issuer_keys_by_issuer WHERE issuer_id = ? AND key_id = ?",
            )
            .await?,
            revoke_issuer_key: prepare.conditional(
                "UPDATE issuer_keys SET revoked_at_ms = ? WHERE key_hash = ? IF revoked_at_ms = null",
            )
            .await?,
        })
    }
}
