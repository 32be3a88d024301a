//! [`VoucherStore`] on CQL: `vouchers` by id (the unchanging fields in a blob,
//! the status in a column moved with `IF status = ?`), a person's list in
//! `vouchers_by_account` (one partition per person and 30-day bucket, listed
//! by `voucher_buckets`), and `pending_releases` in [`RELEASE_SHARDS`] shards.
//! The list rows are written before the voucher, so a listed id may name a
//! voucher whose insert did not land; such rows are skipped.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, decode_record, encode_record, first_row, rows};
use crate::domain::AccountId;
use crate::domain::voucher::{Voucher, VoucherStatus};
use crate::store::{PendingRelease, StoreResult, VoucherCursor, VoucherStore, VoucherTransition};

/// Width of a bucket of a person's voucher list (30 days, in ms).
const BUCKET_MS: i64 = 30 * 86_400_000;

/// Partitions of `pending_releases`.
const RELEASE_SHARDS: u8 = 16;

/// The bucket of a person's voucher list holding time `at_ms`.
fn bucket_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(BUCKET_MS)
}

/// The `pending_releases` shard of a voucher.
fn release_shard(voucher_id: Uuid) -> i32 {
    let last_byte = voucher_id.as_bytes()[15];
    i32::from(last_byte % RELEASE_SHARDS)
}

/// A voucher status from its stored name.
fn status_from_text(text: &str) -> StoreResult<VoucherStatus> {
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
        if inserted.applied {
            return Ok(voucher.clone());
        }
        self.voucher(voucher.voucher_id)
            .await?
            .ok_or_else(|| corrupt("voucher", "the insert found a row the read cannot find"))
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
            return Ok(VoucherTransition::Refused(self.voucher(voucher_id).await?));
        }
        Ok(VoucherTransition::Applied(Voucher {
            status: to,
            status_changed_at_ms: Some(at_ms),
            ..stored
        }))
    }

    async fn mark_pending_release(&self, release: PendingRelease) -> StoreResult<()> {
        self.execute_conditional(
            |connected| &connected.statements.vouchers.insert_pending_release,
            (
                release_shard(release.voucher_id),
                release.voucher_id,
                release.marked_at_ms,
            ),
            "pending release",
        )
        .await?;
        Ok(())
    }

    async fn pending_releases(&self, limit: usize) -> StoreResult<Vec<PendingRelease>> {
        let wanted = i32::try_from(limit).unwrap_or(i32::MAX);
        let mut found = Vec::new();
        for shard in 0..RELEASE_SHARDS {
            if found.len() >= limit {
                break;
            }
            let result = self
                .execute(
                    |connected| &connected.statements.vouchers.select_pending_releases,
                    (i32::from(shard), wanted),
                )
                .await?;
            for (voucher_id, marked_at_ms) in rows::<(Uuid, i64)>(result, "pending release")? {
                found.push(PendingRelease {
                    voucher_id,
                    marked_at_ms,
                });
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    async fn clear_pending_release(&self, voucher_id: Uuid) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.vouchers.delete_pending_release,
            (release_shard(voucher_id), voucher_id),
        )
        .await?;
        Ok(())
    }
}
