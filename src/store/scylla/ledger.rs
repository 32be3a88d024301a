//! [`LedgerStore`] on CQL, without counters:
//!
//! * `ledger_entry_ids` makes appends exactly-once: an append first claims its
//!   entry id with `IF NOT EXISTS`; of concurrent appends of one id exactly one
//!   claims it, and the others wait until the claimer has placed the entry and
//!   return it as a duplicate.
//! * `ledger_heads` holds, per account, the last seq, the balance after it and
//!   the last entry itself. The claimer moves the head by one entry with
//!   compare-and-set on `seq` (`IF seq = ?`, or `IF NOT EXISTS` for the first),
//!   retrying on a lost round, so seqs have no gaps and the balance is exactly
//!   the sum of the entries the head has passed.
//! * `ledger_entries` holds the entries, one partition per account and bucket of
//!   [`ENTRIES_PER_BUCKET`] seqs. The winner of a head move writes its entry
//!   there; since the head carries the last entry, the next appender writes it
//!   again first (idempotently), so a crash between the two writes loses nothing.

use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, first_row, from_bigint, rows, to_bigint};
use crate::domain::AccountId;
use crate::store::{
    LedgerAppend, LedgerEntry, LedgerReason, LedgerStore, NewLedgerEntry, StoreError, StoreResult,
};

/// Seqs per `ledger_entries` partition.
const ENTRIES_PER_BUCKET: u64 = 1000;

/// Compare-and-set rounds on the head before an append gives up (each lost
/// round means another entry of the account was appended in between).
const HEAD_ATTEMPTS: usize = 64;

/// How long a duplicate append waits for the claimer of its id to place it.
const CLAIM_WAIT: Duration = Duration::from_secs(10);

/// Pause between two looks at a claimed but not yet placed entry id.
const CLAIM_POLL: Duration = Duration::from_millis(20);

/// Columns of `SELECT ... FROM ledger_heads`.
type HeadRow = (i64, i64, Uuid, i64, i64, String, Option<Uuid>);

/// Columns of `SELECT ... FROM ledger_entry_ids`.
type EntryIdRow = (
    Uuid,
    i64,
    i64,
    String,
    Option<Uuid>,
    Option<i64>,
    Option<i64>,
);

/// Columns of `SELECT ... FROM ledger_entries`.
type EntryRow = (i64, Uuid, i64, i64, String, Option<Uuid>, i64);

/// Where a claimed entry id stands.
enum ClaimState {
    /// Nobody holds the id (a refused debit released it).
    Free,
    /// Claimed, not yet appended.
    Pending,
    /// Appended: the stored entry.
    Placed(LedgerEntry),
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

/// The last entry of a ledger, as its head row carries it.
fn head_entry(account_id: AccountId, row: HeadRow) -> StoreResult<LedgerEntry> {
    let (seq, balance, entry_id, at_ms, delta, reason, reference) = row;
    Ok(LedgerEntry {
        entry_id,
        account_id,
        seq: from_bigint(seq, "ledger seq")?,
        at_ms,
        delta,
        reason: reason_from_text(&reason)?,
        reference,
        balance_after: balance,
    })
}

fn entry_from_row(account_id: AccountId, row: EntryRow) -> StoreResult<LedgerEntry> {
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

impl ScyllaStore {
    /// The last entry of an account's ledger (which carries the balance).
    async fn ledger_head(&self, account_id: AccountId) -> StoreResult<Option<LedgerEntry>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_ledger_head,
                (account_id.0,),
            )
            .await?;
        first_row::<HeadRow>(result, "ledger head")?
            .map(|row| head_entry(account_id, row))
            .transpose()
    }

    /// Writes an entry at its seq and notes the seq under its id (idempotent).
    async fn write_ledger_entry(&self, entry: &LedgerEntry) -> StoreResult<()> {
        let seq = to_bigint(entry.seq, "ledger seq")?;
        self.execute(
            |connected| &connected.statements.insert_ledger_entry,
            (
                entry.account_id.0,
                bucket_of(entry.seq)?,
                seq,
                entry.entry_id,
                entry.at_ms,
                entry.delta,
                reason_text(entry.reason),
                entry.reference,
                entry.balance_after,
            ),
        )
        .await?;
        self.execute(
            |connected| &connected.statements.place_ledger_entry,
            (seq, entry.balance_after, entry.entry_id),
        )
        .await?;
        Ok(())
    }

    /// Where the claim of an entry id stands.
    async fn claim_state(&self, entry_id: Uuid) -> StoreResult<ClaimState> {
        let result = self
            .execute(
                |connected| &connected.statements.select_ledger_entry_id,
                (entry_id,),
            )
            .await?;
        let Some(row) = first_row::<EntryIdRow>(result, "ledger entry id")? else {
            return Ok(ClaimState::Free);
        };
        let (account_id, at_ms, delta, reason, reference, seq, balance_after) = row;
        let (Some(seq), Some(balance_after)) = (seq, balance_after) else {
            return Ok(ClaimState::Pending);
        };
        Ok(ClaimState::Placed(LedgerEntry {
            entry_id,
            account_id: AccountId(account_id),
            seq: from_bigint(seq, "ledger seq")?,
            at_ms,
            delta,
            reason: reason_from_text(&reason)?,
            reference,
            balance_after,
        }))
    }

    /// Appends an entry whose id this call claimed: moves the head by
    /// compare-and-set, then writes the entry.
    async fn append_claimed(&self, entry: &NewLedgerEntry) -> StoreResult<LedgerAppend> {
        let account_id = entry.account_id;
        for _attempt in 0..HEAD_ATTEMPTS {
            let head = self.ledger_head(account_id).await?;
            if let Some(last) = &head {
                // Roll the last entry forward in case its writer stopped early.
                self.write_ledger_entry(last).await?;
            }
            let (last_seq, balance) = head
                .as_ref()
                .map_or((0, 0), |last| (last.seq, last.balance_after));
            let balance_after = balance.saturating_add(entry.delta);
            if entry.delta < 0 && balance_after < 0 {
                self.execute_conditional(
                    |connected| &connected.statements.release_ledger_entry,
                    (entry.entry_id,),
                    "ledger entry release",
                )
                .await?;
                return Ok(LedgerAppend::InsufficientBalance { balance });
            }
            let stored = LedgerEntry {
                entry_id: entry.entry_id,
                account_id,
                seq: last_seq + 1,
                at_ms: entry.at_ms,
                delta: entry.delta,
                reason: entry.reason,
                reference: entry.reference,
                balance_after,
            };
            let seq = to_bigint(stored.seq, "ledger seq")?;
            let reason = reason_text(stored.reason);
            let moved = if head.is_some() {
                self.execute_conditional(
                    |connected| &connected.statements.advance_ledger_head,
                    (
                        seq,
                        balance_after,
                        stored.entry_id,
                        stored.at_ms,
                        stored.delta,
                        reason,
                        stored.reference,
                        account_id.0,
                        to_bigint(last_seq, "ledger seq")?,
                    ),
                    "ledger head",
                )
                .await?
            } else {
                self.execute_conditional(
                    |connected| &connected.statements.insert_ledger_head,
                    (
                        account_id.0,
                        seq,
                        balance_after,
                        stored.entry_id,
                        stored.at_ms,
                        stored.delta,
                        reason,
                        stored.reference,
                    ),
                    "ledger head",
                )
                .await?
            };
            if moved.applied {
                self.write_ledger_entry(&stored).await?;
                return Ok(LedgerAppend::Appended(stored));
            }
        }
        Err(StoreError::Unavailable(format!(
            "ledger of {} kept changing during {HEAD_ATTEMPTS} appends",
            account_id.0
        )))
    }
}

#[async_trait]
impl LedgerStore for ScyllaStore {
    async fn append_ledger_entry(&self, entry: &NewLedgerEntry) -> StoreResult<LedgerAppend> {
        let deadline = tokio::time::Instant::now() + CLAIM_WAIT;
        loop {
            let claim = self
                .execute_conditional(
                    |connected| &connected.statements.claim_ledger_entry,
                    (
                        entry.entry_id,
                        entry.account_id.0,
                        entry.at_ms,
                        entry.delta,
                        reason_text(entry.reason),
                        entry.reference,
                    ),
                    "ledger entry claim",
                )
                .await?;
            if claim.applied {
                return self.append_claimed(entry).await;
            }
            match self.claim_state(entry.entry_id).await? {
                ClaimState::Placed(stored) => return Ok(LedgerAppend::Duplicate(stored)),
                ClaimState::Free => continue,
                ClaimState::Pending => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "ledger entry {} is claimed but was not appended within {} s",
                    entry.entry_id,
                    CLAIM_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(CLAIM_POLL).await;
        }
    }

    async fn balance(&self, account_id: AccountId) -> StoreResult<i64> {
        Ok(self
            .ledger_head(account_id)
            .await?
            .map_or(0, |last| last.balance_after))
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
        let Some(last) = self.ledger_head(account_id).await? else {
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
