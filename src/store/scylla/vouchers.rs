//! [`VoucherStore`] on CQL: `vouchers` by id (the unchanging fields in a blob,
//! the status in a column moved with `IF status = ?`), a person's list in
//! `vouchers_by_account` (one partition per person and 30-day bucket, listed
//! by `voucher_buckets`), release notes in `release_notes` with their items in
//! the `pending_releases` queue of `queued_by_time` (`time_queue`), and
//! issued vouchers filed by expiry hour in `vouchers_by_expiry`, which the
//! sweep reads from the first hour not yet found empty
//! (`voucher_expiry_sweep`) and unfiles as their vouchers leave `issued`.
//! The list rows are written before the voucher, so a listed id may name a
//! voucher whose insert did not land; such rows are skipped. A voucher's
//! report facts are written after each write of it (idempotent upserts).

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, decode_record, encode_record, first_row, rows};
use super::time_queue::{Queue, bucket_of as queue_bucket_of};
use crate::domain::AccountId;
use crate::domain::voucher::{Voucher, VoucherStatus};
use crate::store::report_facts::voucher_facts;
use crate::store::{PendingRelease, StoreResult, VoucherCursor, VoucherStore, VoucherTransition};

/// Width of a bucket of a person's voucher list (30 days, in ms).
const BUCKET_MS: i64 = 30 * 86_400_000;

/// Width of a `vouchers_by_expiry` partition (one hour, in ms).
const EXPIRY_HOUR_MS: i64 = 3_600_000;
/// Hours behind the sweep's present that it keeps looking at, so a voucher
/// filed by a node whose clock runs a little behind is still found.
const EXPIRY_MARGIN_HOURS: i64 = 2;
/// Where a sweep with no recorded start begins: 31 days back.
const FIRST_SWEEP_LOOKBACK_HOURS: i64 = 31 * 24;
/// Expiry hours one call reads at most (an empty hour costs one read).
const EXPIRY_HOURS_PER_CALL: i64 = 1_000;

/// The bucket of a person's voucher list holding time `at_ms`.
fn bucket_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(BUCKET_MS)
}

/// The `vouchers_by_expiry` partition of an expiry time.
fn expiry_hour_of(expires_at_ms: i64) -> i64 {
    expires_at_ms.div_euclid(EXPIRY_HOUR_MS)
}

/// A voucher status from its stored name.
pub(super) fn status_from_text(text: &str) -> StoreResult<VoucherStatus> {
    VoucherStatus::from_text(text)
        .ok_or_else(|| corrupt("voucher status", format!("unknown status {text:?}")))
}

#[async_trait]
impl VoucherStore for ScyllaStore {
    async fn insert_voucher(&self, voucher: &Voucher) -> StoreResult<Voucher> {
        let account_id = voucher.account_id.0;
        let bucket = bucket_of(voucher.issued_at_ms);
        self.execute(
            |connected| &connected.statements.vouchers.insert_voucher_bucket,
            (account_id, bucket),
        )
        .await?;
        self.execute(
            |connected| &connected.statements.vouchers.insert_voucher_by_account,
            (account_id, bucket, voucher.issued_at_ms, voucher.voucher_id),
        )
        .await?;
        if voucher.status == VoucherStatus::Issued {
            self.execute(
                |connected| &connected.statements.vouchers.insert_voucher_expiry,
                (
                    expiry_hour_of(voucher.expires_at_ms),
                    voucher.expires_at_ms,
                    voucher.voucher_id,
                ),
            )
            .await?;
        }
        let inserted = self
            .execute_conditional(
                |connected| &connected.statements.vouchers.insert_voucher,
                (
                    voucher.voucher_id,
                    voucher.status.as_str(),
                    voucher.status_changed_at_ms,
                    encode_record(voucher, "voucher")?,
                ),
                "voucher insert",
            )
            .await?;
        let stored = if inserted.applied {
            voucher.clone()
        } else {
            self.voucher(voucher.voucher_id)
                .await?
                .ok_or_else(|| corrupt("voucher", "the insert found a row the read cannot find"))?
        };
        // After the voucher, and again by a retried insert that finds it.
        self.write_report_facts(&voucher_facts(&stored)).await?;
        Ok(stored)
    }

    async fn voucher(&self, voucher_id: Uuid) -> StoreResult<Option<Voucher>> {
        let result = self
            .execute(
                |connected| &connected.statements.vouchers.select_voucher,
                (voucher_id,),
            )
            .await?;
        type Row = (Option<String>, Option<i64>, Option<Vec<u8>>);
        let Some((Some(status), status_changed_at_ms, Some(record))) =
            first_row::<Row>(result, "voucher")?
        else {
            return Ok(None);
        };
        let mut voucher: Voucher = decode_record(&record, "voucher")?;
        voucher.status = status_from_text(&status)?;
        voucher.status_changed_at_ms = status_changed_at_ms;
        Ok(Some(voucher))
    }

    async fn vouchers_of(
        &self,
        account_id: AccountId,
        before: Option<VoucherCursor>,
        limit: usize,
    ) -> StoreResult<Vec<Voucher>> {
        let mut page = Vec::new();
        if limit == 0 {
            return Ok(page);
        }
        let buckets = match before {
            Some(cursor) => {
                self.execute(
                    |connected| &connected.statements.vouchers.select_voucher_buckets_up_to,
                    (account_id.0, bucket_of(cursor.issued_at_ms)),
                )
                .await?
            }
            None => {
                self.execute(
                    |connected| &connected.statements.vouchers.select_voucher_buckets,
                    (account_id.0,),
                )
                .await?
            }
        };
        for (bucket,) in rows::<(i64,)>(buckets, "voucher bucket")? {
            let wanted = i32::try_from(limit - page.len()).unwrap_or(i32::MAX);
            let result = match before {
                Some(cursor) => {
                    self.execute(
                        |connected| {
                            &connected
                                .statements
                                .vouchers
                                .select_vouchers_by_account_before
                        },
                        (
                            account_id.0,
                            bucket,
                            cursor.issued_at_ms,
                            cursor.voucher_id,
                            wanted,
                        ),
                    )
                    .await?
                }
                None => {
                    self.execute(
                        |connected| &connected.statements.vouchers.select_vouchers_by_account,
                        (account_id.0, bucket, wanted),
                    )
                    .await?
                }
            };
            for (voucher_id,) in rows::<(Uuid,)>(result, "voucher index")? {
                if let Some(voucher) = self.voucher(voucher_id).await? {
                    page.push(voucher);
                }
            }
            if page.len() >= limit {
                break;
            }
        }
        page.truncate(limit);
        Ok(page)
    }

    async fn transition_voucher(
        &self,
        voucher_id: Uuid,
        from: VoucherStatus,
        to: VoucherStatus,
        at_ms: i64,
    ) -> StoreResult<VoucherTransition> {
        let Some(stored) = self.voucher(voucher_id).await? else {
            return Ok(VoucherTransition::Refused(None));
        };
        let changed = self
            .execute_conditional(
                |connected| &connected.statements.vouchers.transition_voucher,
                (to.as_str(), at_ms, voucher_id, from.as_str()),
                "voucher status",
            )
            .await?;
        if !changed.applied {
            let found = self.voucher(voucher_id).await?;
            // A retried change that finds it made writes the facts the
            // first call may not have reached (idempotent upserts).
            if let Some(found) = &found {
                self.write_report_facts(&voucher_facts(found)).await?;
            }
            return Ok(VoucherTransition::Refused(found));
        }
        let changed = Voucher {
            status: to,
            status_changed_at_ms: Some(at_ms),
            ..stored
        };
        self.write_report_facts(&voucher_facts(&changed)).await?;
        Ok(VoucherTransition::Applied(changed))
    }

    async fn expired_vouchers(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Uuid>> {
        let now_hour = expiry_hour_of(now_ms);
        let recorded = self
            .execute(
                |connected| &connected.statements.vouchers.select_expiry_sweep,
                (),
            )
            .await?;
        let start = first_row::<(Option<i64>,)>(recorded, "expiry sweep")?
            .and_then(|(next_hour,)| next_hour)
            .unwrap_or(now_hour - FIRST_SWEEP_LOOKBACK_HOURS);
        let mut due = Vec::new();
        let mut next_start = start;
        let last_hour = now_hour.min(start + EXPIRY_HOURS_PER_CALL);
        for hour in start..=last_hour {
            let wanted = i32::try_from(limit - due.len()).unwrap_or(i32::MAX);
            let result = self
                .execute(
                    |connected| &connected.statements.vouchers.select_vouchers_due,
                    (hour, now_ms, wanted),
                )
                .await?;
            let mut still_issued = 0;
            for (expires_at_ms, voucher_id) in rows::<(i64, Uuid)>(result, "voucher expiry")? {
                let issued = self
                    .voucher(voucher_id)
                    .await?
                    .is_some_and(|voucher| voucher.status == VoucherStatus::Issued);
                if issued {
                    due.push(voucher_id);
                    still_issued += 1;
                } else {
                    // Cancelled, redeemed or expired meanwhile: unfiled now.
                    self.execute(
                        |connected| &connected.statements.vouchers.delete_voucher_expiry,
                        (hour, expires_at_ms, voucher_id),
                    )
                    .await?;
                }
            }
            // The start moves past an hour only while every hour before it was
            // found empty, and never into the last hours, where a node whose
            // clock runs behind may still file a voucher.
            if still_issued == 0 && next_start == hour && hour < now_hour - EXPIRY_MARGIN_HOURS {
                next_start = hour + 1;
            }
            if due.len() >= limit {
                break;
            }
        }
        if next_start != start {
            self.execute(
                |connected| &connected.statements.vouchers.update_expiry_sweep,
                (next_start,),
            )
            .await?;
        }
        Ok(due)
    }

    async fn mark_pending_release(&self, release: PendingRelease) -> StoreResult<()> {
        // The note first: an item is only ever filed under its note's time,
        // so clearing the note by voucher finds the item.
        let noted = self
            .execute_conditional(
                |connected| &connected.statements.queues.insert_release_note,
                (release.voucher_id, release.marked_at_ms),
                "release note",
            )
            .await?;
        let marked_at_ms = if noted.applied {
            release.marked_at_ms
        } else {
            noted
                .current_bigint("marked_at_ms")
                .ok_or_else(|| corrupt("release note", "refused without the stored note"))?
        };
        self.enqueue(
            Queue::PendingReleases,
            marked_at_ms,
            release.voucher_id.as_bytes(),
        )
        .await
    }

    async fn pending_releases(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<PendingRelease>> {
        let mut found = Vec::new();
        for queued in self.queued(Queue::PendingReleases, now_ms, limit).await? {
            let voucher_id =
                Uuid::from_slice(&queued.item).map_err(|error| corrupt("release item", error))?;
            if self.release_note_bucket(voucher_id).await? == Some(queued.bucket) {
                found.push(PendingRelease {
                    voucher_id,
                    marked_at_ms: queued.at_ms,
                });
            } else {
                // Cleared, or not its note's item: stale.
                self.dequeue(Queue::PendingReleases, queued.bucket, &queued.item)
                    .await?;
            }
        }
        Ok(found)
    }

    async fn clear_pending_release(&self, voucher_id: Uuid) -> StoreResult<()> {
        if let Some(bucket) = self.release_note_bucket(voucher_id).await? {
            self.dequeue(Queue::PendingReleases, bucket, voucher_id.as_bytes())
                .await?;
        }
        self.execute(
            |connected| &connected.statements.queues.delete_release_note,
            (voucher_id,),
        )
        .await?;
        Ok(())
    }
}

impl ScyllaStore {
    /// The queue bucket of a voucher's release note, if it has one.
    async fn release_note_bucket(&self, voucher_id: Uuid) -> StoreResult<Option<i64>> {
        let result = self
            .execute(
                |connected| &connected.statements.queues.select_release_note,
                (voucher_id,),
            )
            .await?;
        Ok(first_row::<(i64,)>(result, "release note")?
            .map(|(marked_at_ms,)| queue_bucket_of(marked_at_ms)))
    }
}
