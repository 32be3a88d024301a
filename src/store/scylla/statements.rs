//! Every CQL statement the backend runs, prepared once per connection. Plain
//! reads and upserts are marked idempotent so the driver may retry them on
//! another connection or node; conditional writes (`IF ...`) are not, since a
//! retried Paxos round may report "not applied" for its own earlier success.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

use super::catalog_statements::CatalogStatements;
use super::deletion_statements::DeletionStatements;
use super::devices::DeviceStatements;
use super::import_statements::ImportStatements;
use super::key_rotation_statements::KeyRotationStatements;
use super::ledger_statements::LedgerStatements;
use super::oidc_identities::OidcIdentityStatements;
use super::outbox_statements::OutboxStatements;
use super::pledge_statements::PledgeStatements;
use super::queue_statements::QueueStatements;
use super::report_rollup_statements::ReportRollupStatements;
use super::report_statements::ReportStatements;
use super::voucher_statements::VoucherStatements;

/// The prepared statements, one field per query.
#[derive(Debug)]
pub(super) struct Statements {
    /// Writes an account row by id.
    pub(super) insert_account: PreparedStatement,
    /// Claims a phone for an account: `IF NOT EXISTS`.
    pub(super) claim_phone: PreparedStatement,
    /// Removes the row of an account that lost the race for its phone.
    pub(super) delete_account: PreparedStatement,
    /// Reads an account by id.
    pub(super) select_account: PreparedStatement,
    /// Reads the account id of a phone.
    pub(super) select_account_id_by_phone: PreparedStatement,
    /// Changes the role of an existing account: `IF EXISTS`.
    pub(super) update_account_role: PreparedStatement,
    /// Writes a token family by id, with a TTL.
    pub(super) insert_family: PreparedStatement,
    /// Writes a token family under its account, with a TTL.
    pub(super) insert_family_by_account: PreparedStatement,
    /// Reads a token family by id.
    pub(super) select_family: PreparedStatement,
    /// Reads every family of an account.
    pub(super) select_families_of: PreparedStatement,
    /// Revokes a family unless it is revoked: `IF revoked_at_ms = null`, with
    /// a TTL longer than any family's.
    pub(super) revoke_family: PreparedStatement,
    /// Copies the revocation time to the per-account table.
    pub(super) revoke_family_by_account: PreparedStatement,
    /// Writes a token with a TTL.
    pub(super) insert_token: PreparedStatement,
    /// Reads a token and the remaining TTL of its row.
    pub(super) select_token: PreparedStatement,
    /// Consumes an unconsumed refresh token: `IF kind = 'refresh' AND consumed_at_ms = null`.
    pub(super) consume_token: PreparedStatement,
    /// Reads when a token was consumed, at `SERIAL` (a consumption whose answer
    /// was lost is visible now or never applies).
    pub(super) select_token_consumed_serial: PreparedStatement,
    /// Reads the challenge of a phone.
    pub(super) select_otp: PreparedStatement,
    /// Writes a first challenge: `IF NOT EXISTS`.
    pub(super) insert_otp: PreparedStatement,
    /// Replaces a challenge at a version: `IF version = ?`.
    pub(super) update_otp: PreparedStatement,
    /// Upserts a roster entry.
    pub(super) upsert_roster: PreparedStatement,
    /// Reads the roster entry of a phone.
    pub(super) select_roster: PreparedStatement,
    /// Reads which of some phones are on the roster (`IN`, one partition each).
    pub(super) select_roster_present: PreparedStatement,
    /// Reads the roster's size (a counter).
    pub(super) select_roster_size: PreparedStatement,
    /// Adds to (or takes from) the roster's size. Not idempotent: a counter.
    pub(super) add_roster_size: PreparedStatement,
    /// Records that an account's event bucket holds events.
    pub(super) insert_event_bucket: PreparedStatement,
    /// Appends an event at a free seq: `IF NOT EXISTS`.
    pub(super) insert_event: PreparedStatement,
    /// Lists an account's event buckets, newest first.
    pub(super) select_buckets: PreparedStatement,
    /// Lists an account's event buckets up to one, newest first.
    pub(super) select_buckets_up_to: PreparedStatement,
    /// Reads the newest events of one bucket.
    pub(super) select_events: PreparedStatement,
    /// Reads the newest events of one bucket below a seq.
    pub(super) select_events_before: PreparedStatement,
    /// Reads a profile view.
    pub(super) select_profile: PreparedStatement,
    /// Replaces a profile view unless a newer one is stored: `IF version <= ?`.
    pub(super) update_profile_if_not_newer: PreparedStatement,
    /// Writes a first profile view: `IF NOT EXISTS`.
    pub(super) insert_profile_if_absent: PreparedStatement,
    /// Writes a connection record once: `IF NOT EXISTS`.
    pub(super) insert_connection: PreparedStatement,
    /// Notes that a record's index rows, reward facts and incomplete mark are written.
    pub(super) mark_connection_facts_written: PreparedStatement,
    /// Reads a connection record by id.
    pub(super) select_connection: PreparedStatement,
    /// Records that a person's connection bucket holds connections.
    pub(super) insert_connection_bucket: PreparedStatement,
    /// Lists a person's connection buckets, newest first.
    pub(super) select_connection_buckets: PreparedStatement,
    /// Lists a person's connection buckets up to one, newest first.
    pub(super) select_connection_buckets_up_to: PreparedStatement,
    /// Writes a person's index row of a connection.
    pub(super) insert_connection_by_account: PreparedStatement,
    /// Reads the newest connection ids of one bucket.
    pub(super) select_connections_by_account: PreparedStatement,
    /// Reads the newest connection ids of one bucket before a cursor.
    pub(super) select_connections_by_account_before: PreparedStatement,
    /// Records a pair's reward, timestamped by its time so the latest wins.
    pub(super) upsert_pair_reward: PreparedStatement,
    /// Reads when a pair was last rewarded.
    pub(super) select_pair_reward: PreparedStatement,
    /// Records that a connection rewarded a person on a day.
    pub(super) insert_rewarded_on_day: PreparedStatement,
    /// Counts the connections that rewarded a person on a day.
    pub(super) count_rewarded_on_day: PreparedStatement,
    /// Reads a ledger entry by id in `ledger_entry_ids` (before version 5).
    pub(super) select_ledger_entry_id: PreparedStatement,
    /// Reads an account's head in `ledger_heads` (before version 5).
    pub(super) select_ledger_head: PreparedStatement,
    /// Writes a ledger entry at its seq.
    pub(super) insert_ledger_entry: PreparedStatement,
    /// Reads the newest entries of one ledger bucket below a seq.
    pub(super) select_ledger_entries_before: PreparedStatement,
    /// Awards a trophy once: `IF NOT EXISTS`.
    pub(super) award_trophy: PreparedStatement,
    /// Reads every trophy a person holds.
    pub(super) select_trophies: PreparedStatement,
    /// Adds one trophy mark.
    pub(super) insert_trophy_mark: PreparedStatement,
    /// Forgets one trophy mark.
    pub(super) delete_trophy_mark: PreparedStatement,
    /// Every trophy mark of a person.
    pub(super) select_trophy_marks: PreparedStatement,
    /// Reads whether an account is disabled.
    pub(super) select_account_status: PreparedStatement,
    /// Marks an account disabled (a time) or enabled (null).
    pub(super) upsert_account_status: PreparedStatement,
    /// Removes a phone's roster entry: `IF EXISTS`.
    pub(super) delete_roster: PreparedStatement,
    /// Appends an audit entry: `IF NOT EXISTS`.
    pub(super) insert_audit_entry: PreparedStatement,
    /// Records that the audit log has entries on a day.
    pub(super) insert_audit_day: PreparedStatement,
    /// Reads the days with audit entries up to a day, newest first.
    pub(super) select_audit_days: PreparedStatement,
    /// Reads the newest audit entries of a day.
    pub(super) select_audit_entries: PreparedStatement,
    /// Reads the newest audit entries of a day older than a (time, id).
    pub(super) select_audit_entries_before: PreparedStatement,
    /// Asks the node for its version (`/readyz`).
    pub(super) ping: PreparedStatement,
    /// The rewards catalog's statements.
    pub(super) catalog: CatalogStatements,
    /// Redemptions, stock moves, limit slots and vouchers.
    pub(super) vouchers: VoucherStatements,
    /// Donations, pledges and statement settlements.
    pub(super) pledges: PledgeStatements,
    /// The ledger and the reward claims.
    pub(super) ledger: LedgerStatements,
    /// The statements of report facts.
    pub(super) reports: ReportStatements,
    /// The statements of report roll-ups (dirty days, rolled-up cells).
    pub(super) report_rollups: ReportRollupStatements,
    /// The time-bucketed queues and their cursors.
    pub(super) queues: QueueStatements,
    /// Import runs, staged chunks and external ids.
    pub(super) imports: ImportStatements,
    /// The transactional outbox.
    pub(super) outbox: OutboxStatements,
    /// Account deletion.
    pub(super) deletion: DeletionStatements,
    /// Master-key rotation.
    pub(super) key_rotation: KeyRotationStatements,
    /// Push devices.
    pub(super) devices: DeviceStatements,
    /// Provider identities.
    pub(super) oidc: OidcIdentityStatements,
}

/// Whether the driver may retry a statement.
#[derive(Debug, Clone, Copy)]
enum Retry {
    /// Reads and upserts: running twice has the effect of running once.
    Idempotent,
    /// Conditional writes: answered once, never retried blindly.
    Conditional,
    /// Reads at `SERIAL`, which decide what a conditional write did.
    SerialRead,
}

impl Statements {
    /// Prepares every statement on `session` (already using the keyspace).
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        use Retry::{Conditional, Idempotent, SerialRead};
        let preparer = Preparer(session);
        let prepare = |text: &'static str, retry: Retry| async move {
            match retry {
                Idempotent => preparer.idempotent(text).await,
                Conditional => preparer.conditional(text).await,
                SerialRead => preparer.serial(text).await,
            }
        };
        Ok(Self {
            insert_account: prepare(
                "INSERT INTO accounts (account_id, phone_hash, phone_sealed, role, created_at_ms) \
                 VALUES (?, ?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            claim_phone: prepare(
                "INSERT INTO accounts_by_phone (phone_hash, account_id) VALUES (?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            delete_account: prepare("DELETE FROM accounts WHERE account_id = ?", Idempotent)
                .await?,
            select_account: prepare(
                "SELECT account_id, phone_hash, phone_sealed, role, created_at_ms \
                 FROM accounts WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            select_account_id_by_phone: prepare(
                "SELECT account_id FROM accounts_by_phone WHERE phone_hash = ?",
                Idempotent,
            )
            .await?,
            update_account_role: prepare(
                "UPDATE accounts SET role = ? WHERE account_id = ? IF EXISTS",
                Conditional,
            )
            .await?,
            insert_family: prepare(
                "INSERT INTO token_families (family_id, account_id, created_at_ms, revoked_at_ms) \
                 VALUES (?, ?, ?, ?) USING TTL ?",
                Idempotent,
            )
            .await?,
            insert_family_by_account: prepare(
                "INSERT INTO token_families_by_account \
                 (account_id, family_id, created_at_ms, revoked_at_ms) VALUES (?, ?, ?, ?) \
                 USING TTL ?",
                Idempotent,
            )
            .await?,
            select_family: prepare(
                "SELECT family_id, account_id, created_at_ms, revoked_at_ms \
                 FROM token_families WHERE family_id = ?",
                Idempotent,
            )
            .await?,
            select_families_of: prepare(
                "SELECT family_id, account_id, created_at_ms, revoked_at_ms \
                 FROM token_families_by_account WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            revoke_family: prepare(
                "UPDATE token_families USING TTL ? SET revoked_at_ms = ? WHERE family_id = ? \
                 IF revoked_at_ms = null",
                Conditional,
            )
            .await?,
            revoke_family_by_account: prepare(
                "UPDATE token_families_by_account USING TTL ? SET revoked_at_ms = ? \
                 WHERE account_id = ? AND family_id = ?",
                Idempotent,
            )
            .await?,
            insert_token: prepare(
                "INSERT INTO tokens (token_hash, kind, family_id, account_id, issued_at_ms, \
                 expires_at_ms, consumed_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?",
                Idempotent,
            )
            .await?,
            select_token: prepare(
                "SELECT kind, family_id, account_id, issued_at_ms, expires_at_ms, consumed_at_ms, \
                 TTL(kind) FROM tokens WHERE token_hash = ?",
                Idempotent,
            )
            .await?,
            consume_token: prepare(
                "UPDATE tokens USING TTL ? SET consumed_at_ms = ? WHERE token_hash = ? \
                 IF kind = 'refresh' AND consumed_at_ms = null",
                Conditional,
            )
            .await?,
            select_token_consumed_serial: prepare(
                "SELECT kind, consumed_at_ms FROM tokens WHERE token_hash = ?",
                SerialRead,
            )
            .await?,
            select_otp: prepare(
                "SELECT code_hash, expires_at_ms, failed_attempts, recent_sends_ms, version \
                 FROM otp_challenges WHERE phone_hash = ?",
                Idempotent,
            )
            .await?,
            insert_otp: prepare(
                "INSERT INTO otp_challenges (phone_hash, code_hash, expires_at_ms, \
                 failed_attempts, recent_sends_ms, version) VALUES (?, ?, ?, ?, ?, ?) \
                 IF NOT EXISTS USING TTL ?",
                Conditional,
            )
            .await?,
            update_otp: prepare(
                "UPDATE otp_challenges USING TTL ? SET code_hash = ?, expires_at_ms = ?, \
                 failed_attempts = ?, recent_sends_ms = ?, version = ? WHERE phone_hash = ? \
                 IF version = ?",
                Conditional,
            )
            .await?,
            upsert_roster: prepare(
                "INSERT INTO roster (phone_hash, phone_sealed, display_name, badge, department, \
                 updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_roster: prepare(
                "SELECT phone_hash, phone_sealed, display_name, badge, department, updated_at_ms \
                 FROM roster WHERE phone_hash = ?",
                Idempotent,
            )
            .await?,
            select_roster_present: prepare(
                "SELECT phone_hash FROM roster WHERE phone_hash IN ?",
                Idempotent,
            )
            .await?,
            select_roster_size: prepare(
                "SELECT officers FROM roster_size WHERE name = 'roster'",
                Idempotent,
            )
            .await?,
            add_roster_size: prepare(
                "UPDATE roster_size SET officers = officers + ? WHERE name = 'roster'",
                Conditional,
            )
            .await?,
            insert_event_bucket: prepare(
                "INSERT INTO profile_event_buckets (account_id, bucket) VALUES (?, ?)",
                Idempotent,
            )
            .await?,
            insert_event: prepare(
                "INSERT INTO profile_events (account_id, bucket, seq, at_ms, kind) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            select_buckets: prepare(
                "SELECT bucket FROM profile_event_buckets WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            select_buckets_up_to: prepare(
                "SELECT bucket FROM profile_event_buckets WHERE account_id = ? AND bucket <= ?",
                Idempotent,
            )
            .await?,
            select_events: prepare(
                "SELECT seq, at_ms, kind FROM profile_events \
                 WHERE account_id = ? AND bucket = ? LIMIT ?",
                Idempotent,
            )
            .await?,
            select_events_before: prepare(
                "SELECT seq, at_ms, kind FROM profile_events \
                 WHERE account_id = ? AND bucket = ? AND seq < ? LIMIT ?",
                Idempotent,
            )
            .await?,
            select_profile: prepare(
                "SELECT display_name, bio, avatar_url, share_to_social, role, created_at_ms, \
                 updated_at_ms, version, share_name FROM profiles WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            update_profile_if_not_newer: prepare(
                "UPDATE profiles SET display_name = ?, bio = ?, avatar_url = ?, \
                 share_to_social = ?, role = ?, created_at_ms = ?, updated_at_ms = ?, version = ?, \
                 share_name = ? WHERE account_id = ? IF version <= ?",
                Conditional,
            )
            .await?,
            insert_profile_if_absent: prepare(
                "INSERT INTO profiles (account_id, display_name, bio, avatar_url, \
                 share_to_social, role, created_at_ms, updated_at_ms, version, share_name) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            insert_connection: prepare(
                "INSERT INTO connections (connection_id, citizen_id, citizen_points, citizen_withheld, officer_id, officer_points, officer_withheld, established_at_ms, cell_r7, zip, mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            mark_connection_facts_written: prepare(
                "UPDATE connections SET facts_written = true WHERE connection_id = ?",
                Idempotent,
            )
            .await?,
            select_connection: prepare(
                "SELECT citizen_id, citizen_points, citizen_withheld, officer_id, officer_points, officer_withheld, established_at_ms, cell_r7, zip, facts_written, mode FROM connections WHERE connection_id = ?",
                Idempotent,
            )
            .await?,
            insert_connection_bucket: prepare(
                "INSERT INTO connection_buckets (account_id, bucket) VALUES (?, ?)",
                Idempotent,
            )
            .await?,
            select_connection_buckets: prepare(
                "SELECT bucket FROM connection_buckets WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            select_connection_buckets_up_to: prepare(
                "SELECT bucket FROM connection_buckets WHERE account_id = ? AND bucket <= ?",
                Idempotent,
            )
            .await?,
            insert_connection_by_account: prepare(
                "INSERT INTO connections_by_account (account_id, bucket, established_at_ms, connection_id) VALUES (?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_connections_by_account: prepare(
                "SELECT connection_id FROM connections_by_account WHERE account_id = ? AND bucket = ? LIMIT ?",
                Idempotent,
            )
            .await?,
            select_connections_by_account_before: prepare(
                "SELECT connection_id FROM connections_by_account WHERE account_id = ? AND bucket = ? AND (established_at_ms, connection_id) < (?, ?) LIMIT ?",
                Idempotent,
            )
            .await?,
            upsert_pair_reward: prepare(
                "INSERT INTO pair_last_rewarded (first_id, second_id, established_at_ms) VALUES (?, ?, ?) USING TIMESTAMP ?",
                Idempotent,
            )
            .await?,
            select_pair_reward: prepare(
                "SELECT established_at_ms FROM pair_last_rewarded WHERE first_id = ? AND second_id = ?",
                Idempotent,
            )
            .await?,
            insert_rewarded_on_day: prepare(
                "INSERT INTO rewarded_connections_by_day (account_id, day, connection_id) VALUES (?, ?, ?)",
                Idempotent,
            )
            .await?,
            count_rewarded_on_day: prepare(
                "SELECT COUNT(*) FROM rewarded_connections_by_day WHERE account_id = ? AND day = ?",
                Idempotent,
            )
            .await?,
            select_ledger_entry_id: prepare(
                "SELECT account_id, at_ms, delta, reason, reference, seq, balance_after FROM ledger_entry_ids WHERE entry_id = ?",
                Idempotent,
            )
            .await?,
            select_ledger_head: prepare(
                "SELECT seq, balance, entry_id, at_ms, delta, reason, reference FROM ledger_heads WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            insert_ledger_entry: prepare(
                "INSERT INTO ledger_entries (account_id, bucket, seq, entry_id, at_ms, delta, reason, reference, balance_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_ledger_entries_before: prepare(
                "SELECT seq, entry_id, at_ms, delta, reason, reference, balance_after FROM ledger_entries WHERE account_id = ? AND bucket = ? AND seq < ? LIMIT ?",
                Idempotent,
            )
            .await?,
            award_trophy: prepare(
                "INSERT INTO trophies (account_id, trophy, awarded_at_ms, connection_id) VALUES (?, ?, ?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            select_trophies: prepare(
                "SELECT trophy, awarded_at_ms, connection_id FROM trophies WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            insert_trophy_mark: prepare(
                "INSERT INTO trophy_marks (account_id, kind, mark) VALUES (?, ?, ?)",
                Idempotent,
            )
            .await?,
            delete_trophy_mark: prepare(
                "DELETE FROM trophy_marks WHERE account_id = ? AND kind = ? AND mark = ?",
                Idempotent,
            )
            .await?,
            select_trophy_marks: prepare(
                "SELECT kind, mark FROM trophy_marks WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            select_account_status: prepare(
                "SELECT disabled_at_ms FROM account_status WHERE account_id = ?",
                Idempotent,
            )
            .await?,
            upsert_account_status: prepare(
                "INSERT INTO account_status (account_id, disabled_at_ms) VALUES (?, ?)",
                Idempotent,
            )
            .await?,
            delete_roster: prepare(
                "DELETE FROM roster WHERE phone_hash = ? IF EXISTS",
                Conditional,
            )
            .await?,
            insert_audit_entry: prepare(
                "INSERT INTO audit_log (day, at_ms, entry_id, actor, action, target, detail) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            insert_audit_day: prepare(
                "INSERT INTO audit_days (bucket, day) VALUES (0, ?)",
                Idempotent,
            )
            .await?,
            select_audit_days: prepare(
                "SELECT day FROM audit_days WHERE bucket = 0 AND day <= ?",
                Idempotent,
            )
            .await?,
            select_audit_entries: prepare(
                "SELECT at_ms, entry_id, actor, action, target, detail FROM audit_log \
                 WHERE day = ? LIMIT ?",
                Idempotent,
            )
            .await?,
            select_audit_entries_before: prepare(
                "SELECT at_ms, entry_id, actor, action, target, detail FROM audit_log \
                 WHERE day = ? AND (at_ms, entry_id) < (?, ?) LIMIT ?",
                Idempotent,
            )
            .await?,
            ping: prepare("SELECT release_version FROM system.local", Idempotent).await?,
            catalog: CatalogStatements::prepare(session).await?,
            vouchers: VoucherStatements::prepare(session).await?,
            pledges: PledgeStatements::prepare(session).await?,
            ledger: LedgerStatements::prepare(session).await?,
            queues: QueueStatements::prepare(session).await?,
            imports: ImportStatements::prepare(session).await?,
            outbox: OutboxStatements::prepare(session).await?,
            devices: DeviceStatements::prepare(session).await?,
            oidc: OidcIdentityStatements::prepare(session).await?,
            reports: ReportStatements::prepare(session).await?,
            report_rollups: ReportRollupStatements::prepare(session).await?,
            deletion: DeletionStatements::prepare(session).await?,
            key_rotation: KeyRotationStatements::prepare(session).await?,
        })
    }
}
