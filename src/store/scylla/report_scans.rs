//! The records CQL reports are recomputed from, paged through for
//! `heyblue reports rebuild` (vouchers, donations, availability stretches),
//! and the writing of an availability stretch: its row in
//! `availability_windows` first, then its facts, both idempotent upserts, so
//! a retry after a failure in between writes the same rows again.

use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{decode_record, rows};
use super::vouchers::status_from_text;
use crate::domain::voucher::Voucher;
use crate::store::report_facts::availability_facts;
use crate::store::{AvailabilityRecord, Donation, ScanPage, StoreResult};

/// Columns of the scan of `availability_windows`.
type AvailabilityRow = (Uuid, i64, i64, Option<String>);
/// Columns of the scan of `vouchers`.
type VoucherRow = (Option<String>, Option<i64>, Option<Vec<u8>>);
/// Columns of the scan of `donations`.
type DonationRow = (Option<Vec<u8>>,);

impl ScyllaStore {
    /// Writes an availability stretch, then its facts.
    pub(super) async fn write_availability(&self, record: &AvailabilityRecord) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.reports.insert_availability,
            (
                record.window_id,
                record.started_at_ms,
                record.ended_at_ms,
                record.zip.as_deref(),
            ),
        )
        .await?;
        self.write_report_facts(&availability_facts(record)).await
    }

    /// A page of availability stretches.
    pub(super) async fn availability_page(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<AvailabilityRecord>> {
        let (result, next) = self
            .execute_page(
                |connected| &connected.statements.reports.scan_availability,
                (),
                cursor,
                limit,
            )
            .await?;
        let records = rows::<AvailabilityRow>(result, "availability stretch")?
            .into_iter()
            .map(
                |(window_id, started_at_ms, ended_at_ms, zip)| AvailabilityRecord {
                    window_id,
                    started_at_ms,
                    ended_at_ms,
                    zip,
                },
            )
            .collect();
        Ok(ScanPage { records, next })
    }

    /// A page of vouchers (rows whose insert did not land are skipped).
    pub(super) async fn voucher_page(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Voucher>> {
        let (result, next) = self
            .execute_page(
                |connected| &connected.statements.reports.scan_vouchers,
                (),
                cursor,
                limit,
            )
            .await?;
        let mut records = Vec::new();
        for (status, status_changed_at_ms, record) in rows::<VoucherRow>(result, "voucher")? {
            let (Some(status), Some(record)) = (status, record) else {
                continue;
            };
            let mut voucher: Voucher = decode_record(&record, "voucher")?;
            voucher.status = status_from_text(&status)?;
            voucher.status_changed_at_ms = status_changed_at_ms;
            records.push(voucher);
        }
        Ok(ScanPage { records, next })
    }

    /// A page of donations.
    pub(super) async fn donation_page(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Donation>> {
        let (result, next) = self
            .execute_page(
                |connected| &connected.statements.reports.scan_donations,
                (),
                cursor,
                limit,
            )
            .await?;
        let records = rows::<DonationRow>(result, "donation")?
            .into_iter()
            .filter_map(|(record,)| record)
            .map(|record| decode_record(&record, "donation"))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ScanPage { records, next })
    }
}
