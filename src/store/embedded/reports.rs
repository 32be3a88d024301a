//! [`ReportStore`] on redb. A fact adds to its cells in the write transaction
//! of the record it comes from (`insert_connection`, `append_ledger_entry`,
//! `insert_voucher`, `transition_voucher`, `update_donation`,
//! `record_availability`), unless the store was opened with report upkeep
//! off, and its id is kept under its day in the same transaction, so a fact
//! is counted once whoever writes it again; distinct people are kept per
//! cell, at every grain. Cells are keyed metric, grain, level, role, day,
//! hour, area (then partner, in the table of metrics kept per partner; see
//! `report_keys`), so a report reads one range per (metric, grain, level,
//! role) and a rebuild drops one such range from its first day on. The cells
//! a call adds to are summed in memory first and each written once, in key
//! order.

use std::collections::BTreeMap;

use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::EmbeddedStore;
use super::codec::redb_error;
use super::report_keys::{
    CellKeyBytes, FACT_KEY_BYTES, FactKeyBytes, PartnerCellKeyBytes, PersonKeyBytes,
    cell_day_bytes, cell_from_bytes, cell_key_bytes, cell_range_start, fact_key_bytes,
    person_day_bytes, person_key_bytes, person_range_start,
};
use super::report_layout::create_aggregate_tables;
use super::report_scans::{AVAILABILITY, record_availability_in, scan_fixed, scan_slices};
use super::tables::{CONNECTIONS, DONATIONS, LEDGER, VOUCHERS, biased};
use crate::domain::voucher::Voucher;
use crate::store::report_area::ReportArea;
use crate::store::report_facts::connection_facts;
use crate::store::report_records::{
    AreaLevel, CellKey, CellSelection, Grain, ReportCell, ReportFact, ReportMetric, ReportRole,
    ReportUpkeep,
};
use crate::store::{
    AvailabilityRecord, ConnectionRecord, Donation, LedgerEntry, ReportStore, ScanPage, StoreResult,
};

/// Report cells: their count or sum.
pub(super) const REPORT_CELLS: TableDefinition<&CellKeyBytes, i64> =
    TableDefinition::new("report_grain_cells");
/// Cells of the metrics kept per partner (vouchers, pledges): their count.
/// A table of its own, so the keys of the other cells keep their layout.
pub(super) const REPORT_PARTNER_CELLS: TableDefinition<&PartnerCellKeyBytes, i64> =
    TableDefinition::new("report_grain_partner_cells");
/// The people counted in each `participants` cell.
pub(super) const REPORT_PEOPLE: TableDefinition<&PersonKeyBytes, ()> =
    TableDefinition::new("report_grain_people");
/// The facts counted, by day.
pub(super) const REPORT_FACTS: TableDefinition<&FactKeyBytes, ()> =
    TableDefinition::new("report_facts");
/// Creates the report tables (the aggregates' layout is brought up to date
/// after, see `report_layout`).
pub(super) fn create_tables(transaction: &WriteTransaction) -> StoreResult<()> {
    transaction.open_table(AVAILABILITY).map_err(redb_error)?;
    create_aggregate_tables(transaction)
}

/// Adds each summed amount to its cell in `table`, in key order.
fn apply<const N: usize>(
    transaction: &WriteTransaction,
    table: TableDefinition<&'static [u8; N], i64>,
    sums: BTreeMap<[u8; N], i64>,
) -> StoreResult<()> {
    if sums.is_empty() {
        return Ok(());
    }
    let mut cells = transaction.open_table(table).map_err(redb_error)?;
    for (bytes, amount) in sums {
        let before = cells
            .get(&bytes)
            .map_err(redb_error)?
            .map_or(0, |stored| stored.value());
        cells
            .insert(&bytes, before.saturating_add(amount))
            .map_err(redb_error)?;
    }
    Ok(())
}

/// Where the cells of a metric and role are kept. Some equal others by
/// construction, and are not written: a connection counts once for
/// everyone and once for each role, so its cells by role are its cells for
/// everyone; points are credited to a citizen or an officer, so the cells
/// for everyone are the sums of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    /// Written and read as they are.
    Stored,
    /// Read as the cells of another role.
    SameAs(ReportRole),
    /// Read as the sums of the cells of two roles.
    SumOf(ReportRole, ReportRole),
}

/// Where the cells of `metric` and `role` are kept.
fn kept(metric: ReportMetric, role: ReportRole) -> Kept {
    match (metric, role) {
        (ReportMetric::Connections, ReportRole::Citizen | ReportRole::Officer) => {
            Kept::SameAs(ReportRole::All)
        }
        (ReportMetric::PointsCredited, ReportRole::All) => {
            Kept::SumOf(ReportRole::Citizen, ReportRole::Officer)
        }
        _ => Kept::Stored,
    }
}

/// The stored cells of `table` that `selection` wants, as written.
fn read_stored<const N: usize>(
    transaction: &redb::ReadTransaction,
    table: TableDefinition<&'static [u8; N], i64>,
    selection: CellSelection,
) -> StoreResult<Vec<ReportCell>> {
    let cells = transaction.open_table(table).map_err(redb_error)?;
    let prefix = (
        selection.metric.tag(),
        selection.grain,
        selection.level,
        selection.role,
    );
    let start = cell_range_start::<N>(prefix, selection.from_day);
    let end = cell_range_start::<N>(prefix, selection.to_day.saturating_add(1));
    let mut found = Vec::new();
    for row in cells.range::<&[u8; N]>(&start..&end).map_err(redb_error)? {
        let (key, value) = row.map_err(redb_error)?;
        if let Some(cell) = cell_from_bytes(selection.metric, key.value(), value.value()) {
            found.push(cell);
        }
    }
    Ok(found)
}

/// Where a cell is within its role: the order cells are read in.
fn place(cell: &ReportCell) -> (i64, u8, ReportArea, Option<uuid::Uuid>) {
    (cell.key.day, cell.key.hour, cell.key.area, cell.key.partner)
}

/// The sums of two lists of cells in read order, as one list in read
/// order.
fn merged(left: Vec<ReportCell>, right: Vec<ReportCell>) -> Vec<ReportCell> {
    let mut sums = Vec::with_capacity(left.len().max(right.len()));
    let mut right = right.into_iter().peekable();
    for cell in left {
        while let Some(before) = right.next_if(|other| place(other) < place(&cell)) {
            sums.push(before);
        }
        match right.next_if(|other| place(other) == place(&cell)) {
            Some(same) => sums.push(ReportCell {
                value: cell.value.saturating_add(same.value),
                ..cell
            }),
            None => sums.push(cell),
        }
    }
    sums.extend(right);
    sums
}

/// The cells of `table` that `selection` wants, in read order (day, hour,
/// area, partner).
fn read_cells<const N: usize>(
    transaction: &redb::ReadTransaction,
    table: TableDefinition<&'static [u8; N], i64>,
    selection: CellSelection,
) -> StoreResult<Vec<ReportCell>> {
    let relabel = |mut cells: Vec<ReportCell>| {
        for cell in &mut cells {
            cell.key.role = selection.role;
        }
        cells
    };
    match kept(selection.metric, selection.role) {
        Kept::Stored => read_stored(transaction, table, selection),
        Kept::SameAs(role) => Ok(relabel(read_stored(
            transaction,
            table,
            CellSelection { role, ..selection },
        )?)),
        Kept::SumOf(left, right) => {
            let left = read_stored(
                transaction,
                table,
                CellSelection {
                    role: left,
                    ..selection
                },
            )?;
            let right = read_stored(
                transaction,
                table,
                CellSelection {
                    role: right,
                    ..selection
                },
            )?;
            Ok(relabel(merged(left, right)))
        }
    }
}

/// Adds each fact not counted yet to its cells, within `transaction`. Fact
/// ids, people keys and cells are each written in key order.
pub(super) fn add_facts(transaction: &WriteTransaction, facts: &[ReportFact]) -> StoreResult<()> {
    let mut fact_keys: Vec<(FactKeyBytes, usize)> = facts
        .iter()
        .enumerate()
        .map(|(index, fact)| (fact_key_bytes(fact.day(), fact.fact_id), index))
        .collect();
    fact_keys.sort_unstable();
    let mut new = vec![false; facts.len()];
    {
        let mut counted = transaction.open_table(REPORT_FACTS).map_err(redb_error)?;
        for (key, index) in &fact_keys {
            new[*index] = counted.insert(key, ()).map_err(redb_error)?.is_none();
        }
    }
    drop(fact_keys);
    let mut sums: BTreeMap<CellKeyBytes, i64> = BTreeMap::new();
    let mut partner_sums: BTreeMap<PartnerCellKeyBytes, i64> = BTreeMap::new();
    let mut add = |key: &CellKey, amount: i64| {
        let sum = if key.partner.is_some() {
            partner_sums.entry(cell_key_bytes(key)).or_default()
        } else {
            sums.entry(cell_key_bytes(key)).or_default()
        };
        *sum = sum.saturating_add(amount);
    };
    let mut people: Vec<(PersonKeyBytes, CellKey)> = Vec::new();
    for fact in facts
        .iter()
        .zip(&new)
        .filter(|(_, new)| **new)
        .map(|(fact, _)| fact)
    {
        for key in fact.cell_keys() {
            if kept(key.metric, key.role) != Kept::Stored {
                continue;
            }
            if fact.metric.is_distinct() {
                if let Some(person) = fact.person {
                    people.push((person_key_bytes(&key, person.0), key));
                }
            } else {
                add(&key, fact.amount);
            }
        }
    }
    people.sort_unstable_by_key(|entry| entry.0);
    {
        let mut counted = transaction.open_table(REPORT_PEOPLE).map_err(redb_error)?;
        for (person_key, key) in &people {
            if counted
                .insert(person_key, ())
                .map_err(redb_error)?
                .is_none()
            {
                add(key, 1);
            }
        }
    }
    apply(transaction, REPORT_CELLS, sums)?;
    apply(transaction, REPORT_PARTNER_CELLS, partner_sums)
}

/// Adds the facts of a newly written connection, within its transaction,
/// when `upkeep` says so.
pub(super) fn add_connection_facts(
    transaction: &WriteTransaction,
    record: &ConnectionRecord,
    upkeep: ReportUpkeep,
) -> StoreResult<()> {
    add_facts_kept(transaction, &connection_facts(record), upkeep)
}

/// Adds `facts` within `transaction` when `upkeep` says so.
pub(super) fn add_facts_kept(
    transaction: &WriteTransaction,
    facts: &[ReportFact],
    upkeep: ReportUpkeep,
) -> StoreResult<()> {
    match upkeep {
        ReportUpkeep::Maintain => add_facts(transaction, facts),
        ReportUpkeep::Skip => Ok(()),
    }
}

/// Removes every key of `table` from `start` on that `keep_going` accepts.
fn remove_from<const N: usize, V: redb::Value + 'static>(
    transaction: &WriteTransaction,
    table: TableDefinition<&'static [u8; N], V>,
    start: [u8; N],
    keep_going: impl Fn(&[u8; N]) -> bool,
) -> StoreResult<()> {
    let mut opened = transaction.open_table(table).map_err(redb_error)?;
    let mut doomed = Vec::new();
    for row in opened.range::<&[u8; N]>(&start..).map_err(redb_error)? {
        let (key, _) = row.map_err(redb_error)?;
        let key = *key.value();
        if !keep_going(&key) {
            break;
        }
        doomed.push(key);
    }
    for key in doomed {
        opened.remove(&key).map_err(redb_error)?;
    }
    Ok(())
}

#[async_trait]
impl ReportStore for EmbeddedStore {
    async fn report_cells(&self, selection: CellSelection) -> StoreResult<Vec<ReportCell>> {
        self.read(move |transaction| {
            if selection.metric.has_partner() {
                read_cells(transaction, REPORT_PARTNER_CELLS, selection)
            } else {
                read_cells(transaction, REPORT_CELLS, selection)
            }
        })
        .await
    }

    async fn add_report_facts(&self, facts: &[ReportFact]) -> StoreResult<()> {
        let facts = facts.to_vec();
        self.write(move |transaction| add_facts(transaction, &facts))
            .await
    }

    async fn clear_report_cells(&self, from_day: i64, to_day: i64) -> StoreResult<()> {
        let last_day = biased(to_day);
        self.write(move |transaction| {
            for metric in ReportMetric::ALL {
                for grain in Grain::ALL {
                    for level in AreaLevel::ALL {
                        for role in ReportRole::ALL {
                            let prefix = (metric.tag(), grain, level, role);
                            let same = |key: &[u8]| {
                                key[..4] == [metric.tag(), grain.tag(), level.tag(), role.tag()]
                                    && cell_day_bytes(key) <= &last_day[..]
                            };
                            if metric.has_partner() {
                                let start = cell_range_start(prefix, from_day);
                                remove_from(transaction, REPORT_PARTNER_CELLS, start, |key| {
                                    same(key)
                                })?;
                            } else {
                                let start = cell_range_start(prefix, from_day);
                                remove_from(transaction, REPORT_CELLS, start, |key| same(key))?;
                            }
                        }
                    }
                }
            }
            for grain in Grain::ALL {
                for level in AreaLevel::ALL {
                    for role in ReportRole::ALL {
                        let start = person_range_start(grain, level, role, from_day);
                        remove_from(transaction, REPORT_PEOPLE, start, |key| {
                            key[..3] == start[..3] && person_day_bytes(key) <= &last_day[..]
                        })?;
                    }
                }
            }
            let mut start = [0; FACT_KEY_BYTES];
            start[..8].copy_from_slice(&biased(from_day));
            remove_from(transaction, REPORT_FACTS, start, |key| {
                key[..8] <= last_day[..]
            })
        })
        .await
    }

    /// Nothing is ever dirty: cells are written in each fact's transaction.
    async fn roll_up_reports(&self) -> StoreResult<crate::store::report_records::RollUpPass> {
        Ok(crate::store::report_records::RollUpPass::default())
    }

    async fn scan_connections(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<ConnectionRecord>> {
        self.read(move |transaction| scan_fixed(transaction, CONNECTIONS, cursor, limit))
            .await
    }

    async fn scan_ledger_entries(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<LedgerEntry>> {
        self.read(move |transaction| scan_fixed(transaction, LEDGER, cursor, limit))
            .await
    }

    async fn record_availability(&self, record: &AvailabilityRecord) -> StoreResult<()> {
        let record = record.clone();
        let upkeep = self.report_upkeep;
        self.write(move |transaction| record_availability_in(transaction, &record, upkeep))
            .await
    }

    async fn scan_availability(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<AvailabilityRecord>> {
        self.read(move |transaction| scan_fixed(transaction, AVAILABILITY, cursor, limit))
            .await
    }

    async fn scan_vouchers(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Voucher>> {
        self.read(move |transaction| scan_fixed(transaction, VOUCHERS, cursor, limit))
            .await
    }

    async fn scan_donations(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Donation>> {
        self.read(move |transaction| scan_slices(transaction, DONATIONS, cursor, limit))
            .await
    }
}
