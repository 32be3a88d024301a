//! [`ReportStore`] of the measuring decorator: each call timed under its
//! method's name, like every other store call.

use async_trait::async_trait;

use super::InstrumentedStore;
use crate::domain::voucher::Voucher;
use crate::store::report_records::{CellSelection, ReportCell, ReportFact, RollUpPass};
use crate::store::{
    AvailabilityRecord, ConnectionRecord, Donation, LedgerEntry, ReportStore, ScanPage, StoreResult,
};

#[async_trait]
impl ReportStore for InstrumentedStore {
    async fn report_cells(&self, selection: CellSelection) -> StoreResult<Vec<ReportCell>> {
        self.timed("report_cells", self.inner.report_cells(selection))
            .await
    }

    async fn add_report_facts(&self, facts: &[ReportFact]) -> StoreResult<()> {
        self.timed("add_report_facts", self.inner.add_report_facts(facts))
            .await
    }

    async fn clear_report_cells(&self, from_day: i64, to_day: i64) -> StoreResult<()> {
        self.timed(
            "clear_report_cells",
            self.inner.clear_report_cells(from_day, to_day),
        )
        .await
    }

    async fn roll_up_reports(&self) -> StoreResult<RollUpPass> {
        self.timed("roll_up_reports", self.inner.roll_up_reports())
            .await
    }

    async fn scan_connections(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<ConnectionRecord>> {
        self.timed(
            "scan_connections",
            self.inner.scan_connections(cursor, limit),
        )
        .await
    }

    async fn scan_ledger_entries(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<LedgerEntry>> {
        self.timed(
            "scan_ledger_entries",
            self.inner.scan_ledger_entries(cursor, limit),
        )
        .await
    }

    async fn record_availability(&self, record: &AvailabilityRecord) -> StoreResult<()> {
        self.timed(
            "record_availability",
            self.inner.record_availability(record),
        )
        .await
    }

    async fn scan_availability(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<AvailabilityRecord>> {
        self.timed(
            "scan_availability",
            self.inner.scan_availability(cursor, limit),
        )
        .await
    }

    async fn scan_vouchers(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Voucher>> {
        self.timed("scan_vouchers", self.inner.scan_vouchers(cursor, limit))
            .await
    }

    async fn scan_donations(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Donation>> {
        self.timed("scan_donations", self.inner.scan_donations(cursor, limit))
            .await
    }
}
