//! [`ReportStore`] on CQL. A fact is one row of `report_facts` under its
//! (metric, UTC day), keyed by its id: writing it again (a retried insert, a
//! recovery pass, the next ledger append listing an entry, a rebuild)
//! rewrites the same row, so it is counted once. The facts of a connection
//! are written with its other facts before `facts_written` is set; the facts
//! of a ledger entry with its row in `ledger_entries`; those of a voucher
//! after each write of it, of a donation after the update completing it, of
//! an availability stretch after its row (`report_scans`), unless the store
//! was opened with report upkeep off. After the facts of a write, their
//! (metric, day)s are marked dirty; cells are rolled up from the facts of
//! dirty days and read from `report_rollups` (`report_rollups.rs`), so a
//! read never folds more facts than those of the days written since the last
//! roll-up.

use std::collections::BTreeSet;

use async_trait::async_trait;
use futures::stream::{self, StreamExt, TryStreamExt};
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, rows};
use super::connections::{ConnectionRow, connection_from_row};
use super::ledger::{EntryRow, entry_from_row};
use crate::domain::AccountId;
use crate::domain::voucher::Voucher;
use crate::store::report_records::{
    CellSelection, ReportCell, ReportFact, ReportMetric, ReportRole, ReportUpkeep, RollUpPass,
};
use crate::store::{
    AvailabilityRecord, ConnectionRecord, Donation, LedgerEntry, ReportStore, ScanPage, StoreResult,
};

/// Rows of a page of a scan over a whole table when the caller's limit
/// does not fit a page size.
pub(super) const SCAN_PAGE_ROWS: i32 = 1_000;
/// Fact rows written at once (a bulk load or rebuild adds many).
const CONCURRENT_FACT_WRITES: usize = 32;

/// Columns of `SELECT ... FROM report_facts`.
type FactRow = (
    Uuid,
    i64,
    Option<String>,
    String,
    i64,
    Option<Uuid>,
    Option<Uuid>,
);

/// Columns of the scan of `connections`: the id, then [`ConnectionRow`].
type ScannedConnectionRow = (
    Uuid,
    Uuid,
    i64,
    Option<String>,
    Uuid,
    i64,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<bool>,
    Option<String>,
);

/// Columns of the scan of `ledger_entries`: the account, then [`EntryRow`].
type ScannedEntryRow = (Uuid, i64, Uuid, i64, i64, String, Option<Uuid>, i64);

/// The stored form of a fact's roles: their names, comma-separated.
fn roles_text(roles: &[ReportRole]) -> String {
    roles
        .iter()
        .map(|role| role.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn fact_from_row(metric: ReportMetric, row: FactRow) -> StoreResult<ReportFact> {
    let (fact_id, at_ms, zip, roles, amount, person, partner) = row;
    let roles = roles
        .split(',')
        .map(|name| ReportRole::parse(name).ok_or_else(|| corrupt("report fact role", name)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ReportFact {
        fact_id,
        metric,
        at_ms,
        zip,
        roles,
        amount,
        person: person.map(AccountId),
        partner,
    })
}

impl ScyllaStore {
    /// Writes each fact's row of a record just written (idempotent upserts),
    /// unless report upkeep is off.
    pub(super) async fn write_report_facts(&self, facts: &[ReportFact]) -> StoreResult<()> {
        match self.report_upkeep {
            ReportUpkeep::Maintain => self.write_fact_rows(facts).await,
            ReportUpkeep::Skip => Ok(()),
        }
    }

    /// Writes each fact's row (idempotent upserts, [`CONCURRENT_FACT_WRITES`]
    /// at a time), then marks their (metric, day)s dirty.
    async fn write_fact_rows(&self, facts: &[ReportFact]) -> StoreResult<()> {
        // By index: a stream mapping borrowed facts to futures borrowing
        // them again is not `Send` for every lifetime, as the traits need.
        stream::iter(0..facts.len())
            .map(|index| self.write_fact_row(&facts[index]))
            .buffer_unordered(CONCURRENT_FACT_WRITES)
            .try_for_each(|_| async { Ok(()) })
            .await?;
        let days: BTreeSet<(ReportMetric, i64)> =
            facts.iter().map(|fact| (fact.metric, fact.day())).collect();
        self.mark_days_dirty(&days).await
    }

    /// Writes one fact's row (an idempotent upsert).
    async fn write_fact_row(&self, fact: &ReportFact) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.reports.insert_fact,
            (
                fact.metric.as_str(),
                fact.day(),
                fact.fact_id,
                fact.at_ms,
                fact.zip.as_deref(),
                roles_text(&fact.roles),
                fact.amount,
                fact.person.map(|person| person.0),
                fact.partner,
            ),
        )
        .await
        .map(|_| ())
    }

    /// Every fact of (`metric`, `day`).
    pub(super) async fn facts_of_day(
        &self,
        metric: ReportMetric,
        day: i64,
    ) -> StoreResult<Vec<ReportFact>> {
        let result = self
            .execute(
                |connected| &connected.statements.reports.select_facts,
                (metric.as_str(), day),
            )
            .await?;
        let fact_rows = rows::<FactRow>(result, "report fact")?;
        self.rollups.count_fact_rows(fact_rows.len());
        fact_rows
            .into_iter()
            .map(|row| fact_from_row(metric, row))
            .collect()
    }
}

#[async_trait]
impl ReportStore for ScyllaStore {
    async fn report_cells(&self, selection: CellSelection) -> StoreResult<Vec<ReportCell>> {
        self.rolled_up_cells(selection).await
    }

    async fn add_report_facts(&self, facts: &[ReportFact]) -> StoreResult<()> {
        self.write_fact_rows(facts).await
    }

    /// Deletes the facts of the days and marks them dirty: the next roll-up
    /// of each (by the next read of it, or the background pass) replaces its
    /// cells and those of its month with a fold of what is left.
    async fn clear_report_cells(&self, from_day: i64, to_day: i64) -> StoreResult<()> {
        let mut cleared = BTreeSet::new();
        for metric in ReportMetric::ALL {
            for day in from_day..=to_day {
                self.execute(
                    |connected| &connected.statements.reports.delete_facts,
                    (metric.as_str(), day),
                )
                .await?;
                cleared.insert((metric, day));
            }
        }
        self.mark_days_dirty(&cleared).await
    }

    async fn roll_up_reports(&self) -> StoreResult<RollUpPass> {
        self.roll_up_every_metric().await
    }

    async fn scan_connections(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<ConnectionRecord>> {
        let (result, next) = self
            .execute_page(
                |connected| &connected.statements.reports.scan_connections,
                (),
                cursor,
                limit,
            )
            .await?;
        let records = rows::<ScannedConnectionRow>(result, "connection")?
            .into_iter()
            .map(|row| {
                let (id, citizen, points, withheld, officer, officer_points, officer_withheld) =
                    (row.0, row.1, row.2, row.3, row.4, row.5, row.6);
                let stored: ConnectionRow = (
                    citizen,
                    points,
                    withheld,
                    officer,
                    officer_points,
                    officer_withheld,
                    row.7,
                    row.8,
                    row.9,
                    row.10,
                    row.11,
                );
                connection_from_row(id, stored).map(|stored| stored.record)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ScanPage { records, next })
    }

    async fn scan_ledger_entries(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<LedgerEntry>> {
        let (result, next) = self
            .execute_page(
                |connected| &connected.statements.reports.scan_ledger_entries,
                (),
                cursor,
                limit,
            )
            .await?;
        let records = rows::<ScannedEntryRow>(result, "ledger entry")?
            .into_iter()
            .map(|row| {
                let (account_id, seq, entry_id, at_ms, delta, reason, reference, balance) = row;
                let stored: EntryRow = (seq, entry_id, at_ms, delta, reason, reference, balance);
                entry_from_row(AccountId(account_id), stored)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ScanPage { records, next })
    }

    async fn record_availability(&self, record: &AvailabilityRecord) -> StoreResult<()> {
        self.write_availability(record).await
    }

    async fn scan_availability(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<AvailabilityRecord>> {
        self.availability_page(cursor, limit).await
    }

    async fn scan_vouchers(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Voucher>> {
        self.voucher_page(cursor, limit).await
    }

    async fn scan_donations(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Donation>> {
        self.donation_page(cursor, limit).await
    }
}
