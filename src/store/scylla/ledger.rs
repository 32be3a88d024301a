//! [`LedgerStore`] on CQL, without counters and without a step that can
//! strand an entry id:
//!
//! * `ledger_accounts` holds each account in one partition: static columns are
//!   the head (the last seq, the balance after it and the last entry itself),
//!   and a row per entry id makes appends exactly-once. An append reads the
//!   head and writes one conditional batch: the entry row `IF NOT EXISTS` and
//!   the head `IF seq = ?` (`IF seq = null` for the first). The id and the
//!   balance move together or not at all, so a failure at any point leaves
//!   either a finished entry or nothing, and a retry appends it or finds it.
//!   A refused batch, or one whose answer was lost (a timeout: maybe applied),
//!   is resolved by reading the entry row at `SERIAL`: present and written by
//!   this call means appended, by another call a duplicate; absent means the
//!   head moved, and the append tries again from the new head.
//! * `ledger_entries` holds the entries by seq, one partition per account and
//!   bucket of [`ENTRIES_PER_BUCKET`] seqs, for pages. The appender writes its
//!   entry there after the batch; since the head carries the last entry, the
//!   next append (and every page) writes it again first (idempotently), so a
//!   crash between the two writes loses nothing.
//! * Accounts started before schema version 5 have their head in
//!   `ledger_heads` and their ids in `ledger_entry_ids`: the first append seeds
//!   the new head from the old one (conditionally, with the old last entry's
//!   row), marks it `legacy_ids`, and appends to such accounts also look an id
//!   up in `ledger_entry_ids`.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, first_row, from_bigint, may_have_applied, rows, to_bigint};
use crate::domain::AccountId;
use crate::store::report_facts::ledger_facts;
use crate::store::{
    LedgerAppend, LedgerEntry, LedgerReason, LedgerStore, NewLedgerEntry, StoreError, StoreResult,
};

/// Seqs per `ledger_entries` partition.
const ENTRIES_PER_BUCKET: u64 = 1000;

/// Rounds of read-the-head-then-write before an append gives up (each lost
/// round means another entry of the account was appended in between). Giving
/// up leaves nothing behind: a retry starts afresh.
const HEAD_ATTEMPTS: usize = 64;

/// Columns of `SELECT ... FROM ledger_accounts` for the head.
type HeadRow = (
    Option<i64>,
    Option<i64>,
    Option<Uuid>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<Uuid>,
    Option<bool>,
);

/// Columns of `SELECT ... FROM ledger_accounts` for one entry.
type AccountEntryRow = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<Uuid>,
    Option<i64>,
    Option<Uuid>,
);

/// Columns of `SELECT ... FROM ledger_heads` (before version 5).
type LegacyHeadRow = (i64, i64, Uuid, i64, i64, String, Option<Uuid>);

/// Columns of `SELECT ... FROM ledger_entry_ids` (before version 5).
type LegacyEntryIdRow = (
    Uuid,
    i64,
    i64,
    String,
    Option<Uuid>,
    Option<i64>,
    Option<i64>,
);

/// Columns of `SELECT ... FROM ledger_entries`.
pub(super) type EntryRow = (i64, Uuid, i64, i64, String, Option<Uuid>, i64);

/// An account's head as an append sees it.
struct Head {
    /// The last entry (which carries the seq and the balance).
    last: LedgerEntry,
    /// Whether ids appended before version 5 may lie in `ledger_entry_ids`.
    legacy_ids: bool,
    /// Whether it is in `ledger_accounts` (false: read from `ledger_heads`,
    /// to be seeded before an append).
    seeded: bool,
}

/// An entry row read back, and whether this call wrote it.
struct WrittenEntry {
    /// The stored entry.
    entry: LedgerEntry,
    /// The call that wrote it (`None` for a row seeded from the old tables).
    writer: Option<Uuid>,
}

/// The stored name of a reason.
fn reason_text(reason: LedgerReason) -> &'static str {
    match reason {
        LedgerReason::Connection => "connection",
        LedgerReason::Adjustment => "adjustment",
        LedgerReason::Redemption => "redemption",
        LedgerReason::Refund => "refund",
        LedgerReason::Donation => "donation",
    }
}

/// A reason from its stored name.
fn reason_from_text(text: &str) -> StoreResult<LedgerReason> {
    match text {
        "connection" => Ok(LedgerReason::Connection),
        "adjustment" => Ok(LedgerReason::Adjustment),
        "redemption" => Ok(LedgerReason::Redemption),
        "refund" => Ok(LedgerReason::Refund),
        "donation" => Ok(LedgerReason::Donation),
        other => Err(corrupt(
            "ledger reason",
            format!("unknown reason {other:?}"),
        )),
    }
}

/// The bucket holding `seq`.
fn bucket_of(seq: u64) -> StoreResult<i64> {
    to_bigint(seq / ENTRIES_PER_BUCKET, "ledger bucket")
}

/// A ledger entry from its columns, in `EntryRow` order.
pub(super) fn entry_from_row(account_id: AccountId, row: EntryRow) -> StoreResult<LedgerEntry> {
    let (seq, entry_id, at_ms, delta, reason, reference, balance_after) = row;
    Ok(LedgerEntry {
        entry_id,
        account_id,
        seq: from_bigint(seq, "ledger seq")?,
        at_ms,
        delta,
        reason: reason_from_text(&reason)?,
        reference,
        balance_after,
    })
}

/// The entry an append would write at `seq` after `balance`.
fn next_entry(entry: &NewLedgerEntry, seq: u64, balance_after: i64) -> LedgerEntry {
    LedgerEntry {
        entry_id: entry.entry_id,
        account_id: entry.account_id,
        seq,
        at_ms: entry.at_ms,
        delta: entry.delta,
        reason: entry.reason,
        reference: entry.reference,
        balance_after,
    }
}

/// The head columns of `ledger_accounts`, when the account has a head.
fn head_from_row(account_id: AccountId, row: HeadRow) -> StoreResult<Option<Head>> {
    let (seq, balance, entry_id, at_ms, delta, reason, reference, legacy_ids) = row;
    let (Some(seq), Some(balance), Some(entry_id), Some(at_ms), Some(delta), Some(reason)) =
        (seq, balance, entry_id, at_ms, delta, reason)
    else {
        return Ok(None);
    };
    Ok(Some(Head {
        last: entry_from_row(
            account_id,
            (seq, entry_id, at_ms, delta, reason, reference, balance),
        )?,
        legacy_ids: legacy_ids.unwrap_or(false),
        seeded: true,
    }))
}

impl ScyllaStore {
    /// The head of an account's ledger: from `ledger_accounts`, else (an
    /// account started before version 5, not yet seeded) from `ledger_heads`.
    async fn ledger_head(&self, account_id: AccountId) -> StoreResult<Option<Head>> {
        let result = self
            .execute(
                |connected| &connected.statements.ledger.select_head,
                (account_id.0,),
            )
            .await?;
        if let Some(row) = first_row::<HeadRow>(result, "ledger head")?
            && let Some(head) = head_from_row(account_id, row)?
        {
            return Ok(Some(head));
        }
        let result = self
            .execute(
                |connected| &connected.statements.select_ledger_head,
                (account_id.0,),
            )
            .await?;
        let Some(row) = first_row::<LegacyHeadRow>(result, "ledger head")? else {
            return Ok(None);
        };
        let (seq, balance, entry_id, at_ms, delta, reason, reference) = row;
        Ok(Some(Head {
            last: entry_from_row(
                account_id,
                (seq, entry_id, at_ms, delta, reason, reference, balance),
            )?,
            legacy_ids: true,
            seeded: false,
        }))
    }

    /// Starts an account's `ledger_accounts` head from its `ledger_heads` row,
    /// unless a head is there already. Whatever the outcome (applied, refused
    /// by a seed that came first, or unanswered), the caller reads the head
    /// again.
    async fn seed_head(&self, last: &LedgerEntry) -> StoreResult<()> {
        self.write_ledger_entry(last).await?;
        let seq = to_bigint(last.seq, "ledger seq")?;
        let reason = reason_text(last.reason);
        let seeded = self
            .execute_conditional_batch(
                |connected| &connected.statements.ledger.seed_from_legacy.0,
                (
                    (
                        last.account_id.0,
                        last.entry_id,
                        seq,
                        last.at_ms,
                        last.delta,
                        reason,
                        last.reference,
                        last.balance_after,
                    ),
                    (
                        seq,
                        last.balance_after,
                        last.entry_id,
                        last.at_ms,
                        last.delta,
                        reason,
                        last.reference,
                        last.account_id.0,
                    ),
                ),
                "ledger head seed",
            )
            .await;
        match seeded {
            Ok(_applied_or_not) => Ok(()),
            Err(error) if may_have_applied(&error) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// An account's entry row, read at `SERIAL` (so a write whose answer was
    /// lost is either visible now or never applies).
    async fn written_entry(
        &self,
        account_id: AccountId,
        entry_id: Uuid,
    ) -> StoreResult<Option<WrittenEntry>> {
        let result = self
            .execute(
                |connected| &connected.statements.ledger.select_entry_serial,
                (account_id.0, entry_id),
            )
            .await?;
        let Some(row) = first_row::<AccountEntryRow>(result, "ledger entry")? else {
            return Ok(None);
        };
        let (seq, at_ms, delta, reason, reference, balance_after, writer) = row;
        let (Some(seq), Some(at_ms), Some(delta), Some(reason), Some(balance_after)) =
            (seq, at_ms, delta, reason, balance_after)
        else {
            return Ok(None);
        };
        Ok(Some(WrittenEntry {
            entry: entry_from_row(
                account_id,
                (
                    seq,
                    entry_id,
                    at_ms,
                    delta,
                    reason,
                    reference,
                    balance_after,
                ),
            )?,
            writer,
        }))
    }

    /// The entry with this id of an account started before version 5, as
    /// `ledger_entry_ids` holds it once placed (an id claimed but never
    /// placed was never appended: its claim is ignored).
    async fn legacy_entry(
        &self,
        account_id: AccountId,
        entry_id: Uuid,
    ) -> StoreResult<Option<LedgerEntry>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_ledger_entry_id,
                (entry_id,),
            )
            .await?;
        let Some(row) = first_row::<LegacyEntryIdRow>(result, "ledger entry id")? else {
            return Ok(None);
        };
        let (owner, at_ms, delta, reason, reference, seq, balance_after) = row;
        let (Some(seq), Some(balance_after)) = (seq, balance_after) else {
            return Ok(None);
        };
        if owner != account_id.0 {
            return Ok(None);
        }
        Ok(Some(entry_from_row(
            account_id,
            (
                seq,
                entry_id,
                at_ms,
                delta,
                reason,
                reference,
                balance_after,
            ),
        )?))
    }

    /// Writes an entry at its seq in `ledger_entries` (idempotent).
    async fn write_ledger_entry(&self, entry: &LedgerEntry) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.insert_ledger_entry,
            (
                entry.account_id.0,
                bucket_of(entry.seq)?,
                to_bigint(entry.seq, "ledger seq")?,
                entry.entry_id,
                entry.at_ms,
                entry.delta,
                reason_text(entry.reason),
                entry.reference,
                entry.balance_after,
            ),
        )
        .await?;
        self.write_report_facts(&ledger_facts(entry)).await
    }

    /// Writes an appended entry into `ledger_entries`. The balance has moved
    /// already, and the head carries the entry until the next append or page
    /// writes it, so a failure here is only logged.
    async fn write_appended_entry(&self, entry: &LedgerEntry) {
        if let Err(error) = self.write_ledger_entry(entry).await {
            tracing::warn!(
                %error,
                entry_id = %entry.entry_id,
                "ledger entry appended but not yet listed; the next append lists it"
            );
        }
    }

    /// One round of an append: reads the head and writes the entry after it.
    /// `None` when the head moved meanwhile (the caller tries again).
    async fn try_append(
        &self,
        entry: &NewLedgerEntry,
        writer: Uuid,
    ) -> StoreResult<Option<LedgerAppend>> {
        let account_id = entry.account_id;
        let head = self.ledger_head(account_id).await?;
        if let Some(head) = &head {
            if !head.seeded {
                self.seed_head(&head.last).await?;
                return Ok(None);
            }
            if head.legacy_ids
                && let Some(stored) = self.legacy_entry(account_id, entry.entry_id).await?
            {
                return Ok(Some(LedgerAppend::Duplicate(stored)));
            }
            // Roll the last entry forward in case its writer stopped early.
            self.write_ledger_entry(&head.last).await?;
        }
        let (last_seq, balance) = head
            .as_ref()
            .map_or((0, 0), |head| (head.last.seq, head.last.balance_after));
        let balance_after = balance.saturating_add(entry.delta);
        if entry.delta < 0 && balance_after < 0 {
            // A retried debit that was appended is a duplicate, not a refusal.
            if let Some(written) = self.written_entry(account_id, entry.entry_id).await? {
                return Ok(Some(LedgerAppend::Duplicate(written.entry)));
            }
            return Ok(Some(LedgerAppend::InsufficientBalance { balance }));
        }
        let stored = next_entry(entry, last_seq + 1, balance_after);
        let seq = to_bigint(stored.seq, "ledger seq")?;
        let reason = reason_text(stored.reason);
        let row = (
            account_id.0,
            stored.entry_id,
            seq,
            stored.at_ms,
            stored.delta,
            reason,
            stored.reference,
            balance_after,
            writer,
        );
        let new_head = (
            seq,
            balance_after,
            stored.entry_id,
            stored.at_ms,
            stored.delta,
            reason,
            stored.reference,
            account_id.0,
        );
        let written = match head {
            Some(_) => {
                let (seq, balance, entry_id, at_ms, delta, reason, reference, account) = new_head;
                self.execute_conditional_batch(
                    |connected| &connected.statements.ledger.append_after.0,
                    (
                        row,
                        (
                            seq,
                            balance,
                            entry_id,
                            at_ms,
                            delta,
                            reason,
                            reference,
                            account,
                            to_bigint(last_seq, "ledger seq")?,
                        ),
                    ),
                    "ledger append",
                )
                .await
            }
            None => {
                self.execute_conditional_batch(
                    |connected| &connected.statements.ledger.append_first.0,
                    (row, new_head),
                    "ledger append",
                )
                .await
            }
        };
        match written {
            Ok(answer) if answer.applied => {
                self.write_appended_entry(&stored).await;
                return Ok(Some(LedgerAppend::Appended(stored)));
            }
            Ok(_refused) => {}
            Err(error) if may_have_applied(&error) => {
                tracing::debug!(%error, entry_id = %stored.entry_id, "ledger append unanswered; reading back");
            }
            Err(error) => return Err(error),
        }
        // Refused (the id exists, or the head moved) or unanswered: the entry
        // row at SERIAL tells which.
        match self.written_entry(account_id, entry.entry_id).await? {
            Some(written) if written.writer == Some(writer) => {
                self.write_appended_entry(&written.entry).await;
                Ok(Some(LedgerAppend::Appended(written.entry)))
            }
            Some(written) => Ok(Some(LedgerAppend::Duplicate(written.entry))),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl LedgerStore for ScyllaStore {
    async fn append_ledger_entry(&self, entry: &NewLedgerEntry) -> StoreResult<LedgerAppend> {
        let writer = Uuid::new_v4();
        for _attempt in 0..HEAD_ATTEMPTS {
            if let Some(outcome) = self.try_append(entry, writer).await? {
                return Ok(outcome);
            }
        }
        Err(StoreError::Unavailable(format!(
            "ledger of {} kept changing during {HEAD_ATTEMPTS} appends",
            entry.account_id.0
        )))
    }

    async fn balance(&self, account_id: AccountId) -> StoreResult<i64> {
        Ok(self
            .ledger_head(account_id)
            .await?
            .map_or(0, |head| head.last.balance_after))
    }

    async fn ledger_page(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<LedgerEntry>> {
        let mut page = Vec::new();
        if limit == 0 {
            return Ok(page);
        }
        let Some(Head { last, .. }) = self.ledger_head(account_id).await? else {
            return Ok(page);
        };
        // The head's entry may not be in `ledger_entries` yet if its writer
        // stopped early; writing it again is harmless.
        self.write_ledger_entry(&last).await?;
        let newest = match before_seq {
            Some(before_seq) => last.seq.min(before_seq.saturating_sub(1)),
            None => last.seq,
        };
        if newest == 0 {
            return Ok(page);
        }
        let below = to_bigint(newest + 1, "ledger seq")?;
        let mut bucket = bucket_of(newest)?;
        while bucket >= 0 && page.len() < limit {
            let wanted = i32::try_from(limit - page.len()).unwrap_or(i32::MAX);
            let result = self
                .execute(
                    |connected| &connected.statements.select_ledger_entries_before,
                    (account_id.0, bucket, below, wanted),
                )
                .await?;
            for row in rows::<EntryRow>(result, "ledger entry")? {
                page.push(entry_from_row(account_id, row)?);
            }
            bucket -= 1;
        }
        page.truncate(limit);
        Ok(page)
    }
}
