//! The layout of the embedded store's report aggregates, and bringing a store
//! of an older layout up to date when it opens. The layout's version is kept
//! in a table of its own; a store whose aggregates were written under another
//! layout (or under none: the hourly-only tables before cells had grains) has
//! them dropped and recomputed from its records — connections, ledger
//! entries, vouchers, donations, availability stretches — one page of
//! records per write transaction, before the store serves anything. The
//! version is written last, so a recomputation cut short starts over at the
//! next open.

use std::time::Instant;

use redb::{Database, ReadableDatabase, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;

use super::codec::redb_error;
use super::report_scans::{AVAILABILITY, scan_fixed, scan_slices};
use super::reports::{REPORT_CELLS, REPORT_FACTS, REPORT_PARTNER_CELLS, REPORT_PEOPLE, add_facts};
use super::tables::{CONNECTIONS, DONATIONS, LEDGER, VOUCHERS};
use crate::store::report_facts::{
    availability_facts, connection_facts, donation_facts, ledger_facts, voucher_facts,
};
use crate::store::report_records::ReportFact;
use crate::store::{ScanPage, StoreResult};

/// The layout of the report tables this build writes. Raise it whenever the
/// cells a fact adds to change: stores of another version recompute their
/// aggregates when they open. 2: hour, day and month cells; 3: cells equal
/// to others by construction not written (see `reports::kept`).
pub(super) const REPORT_LAYOUT_VERSION: u64 = 3;
/// The one key of [`REPORT_LAYOUT`].
const LAYOUT_KEY: &str = "report_cells";
/// The layout version of the report tables.
pub(super) const REPORT_LAYOUT: TableDefinition<&str, u64> = TableDefinition::new("report_layout");
/// The tables of hourly cells only, before cells had grains (layout 1, which
/// had no version written).
const FORMER_TABLES: [&str; 3] = ["report_cells", "report_partner_cells", "report_people"];
/// Records read per write transaction of a recomputation.
const RECOMPUTE_PAGE: usize = 2_000;

/// What bringing the layout up to date did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct LayoutUpgrade {
    /// The version found (`None`: no version written).
    pub(super) from_version: Option<u64>,
    /// Whether aggregates were recomputed (the version was not current).
    pub(super) recomputed: bool,
    /// Records read.
    pub(super) records: u64,
    /// Facts added.
    pub(super) facts: u64,
}

/// Brings the report aggregates of `database` to [`REPORT_LAYOUT_VERSION`]:
/// nothing when it is current, else drops them and recomputes them from the
/// records. Logs what it did when the store had a layout or records.
pub(super) fn bring_up_to_date(database: &Database) -> StoreResult<LayoutUpgrade> {
    let from_version = stored_version(database)?;
    if from_version == Some(REPORT_LAYOUT_VERSION) {
        return Ok(LayoutUpgrade {
            from_version,
            ..LayoutUpgrade::default()
        });
    }
    let started = Instant::now();
    let dropped_former = drop_aggregates(database)?;
    let mut upgrade = LayoutUpgrade {
        from_version,
        recomputed: true,
        ..LayoutUpgrade::default()
    };
    recompute(
        database,
        CONNECTIONS,
        scan_fixed,
        connection_facts,
        &mut upgrade,
    )?;
    recompute(database, LEDGER, scan_fixed, ledger_facts, &mut upgrade)?;
    recompute(database, VOUCHERS, scan_fixed, voucher_facts, &mut upgrade)?;
    recompute(
        database,
        DONATIONS,
        scan_slices,
        donation_facts,
        &mut upgrade,
    )?;
    recompute(
        database,
        AVAILABILITY,
        scan_fixed,
        availability_facts,
        &mut upgrade,
    )?;
    let transaction = database.begin_write().map_err(redb_error)?;
    transaction
        .open_table(REPORT_LAYOUT)
        .map_err(redb_error)?
        .insert(LAYOUT_KEY, REPORT_LAYOUT_VERSION)
        .map_err(redb_error)?;
    transaction.commit().map_err(redb_error)?;
    if from_version.is_some() || dropped_former || upgrade.records > 0 {
        tracing::warn!(
            from_version = from_version.unwrap_or(1),
            to_version = REPORT_LAYOUT_VERSION,
            records = upgrade.records,
            facts = upgrade.facts,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "report aggregates of an older layout recomputed from the records"
        );
    }
    Ok(upgrade)
}

/// The layout version written in `database`, if any.
fn stored_version(database: &Database) -> StoreResult<Option<u64>> {
    let transaction = database.begin_read().map_err(redb_error)?;
    let table = match transaction.open_table(REPORT_LAYOUT) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(other) => return Err(redb_error(other)),
    };
    Ok(table
        .get(LAYOUT_KEY)
        .map_err(redb_error)?
        .map(|stored| stored.value()))
}

/// Drops every report aggregate (cells, people sets, counted facts, and the
/// tables of the former layout) and creates the tables empty; returns
/// whether a former table was there.
fn drop_aggregates(database: &Database) -> StoreResult<bool> {
    let transaction = database.begin_write().map_err(redb_error)?;
    let mut dropped_former = false;
    for name in FORMER_TABLES {
        let former: TableDefinition<&[u8], i64> = TableDefinition::new(name);
        dropped_former |= transaction.delete_table(former).map_err(redb_error)?;
    }
    transaction.delete_table(REPORT_CELLS).map_err(redb_error)?;
    transaction
        .delete_table(REPORT_PARTNER_CELLS)
        .map_err(redb_error)?;
    transaction
        .delete_table(REPORT_PEOPLE)
        .map_err(redb_error)?;
    transaction.delete_table(REPORT_FACTS).map_err(redb_error)?;
    create_aggregate_tables(&transaction)?;
    transaction.commit().map_err(redb_error)?;
    Ok(dropped_former)
}

/// Creates the aggregate tables (and the layout table) when missing.
pub(super) fn create_aggregate_tables(transaction: &WriteTransaction) -> StoreResult<()> {
    transaction.open_table(REPORT_CELLS).map_err(redb_error)?;
    transaction
        .open_table(REPORT_PARTNER_CELLS)
        .map_err(redb_error)?;
    transaction.open_table(REPORT_PEOPLE).map_err(redb_error)?;
    transaction.open_table(REPORT_FACTS).map_err(redb_error)?;
    transaction.open_table(REPORT_LAYOUT).map_err(redb_error)?;
    Ok(())
}

/// Adds the facts of every record of `table` (scanned with `scan`), one
/// page per write transaction.
fn recompute<K, T>(
    database: &Database,
    table: TableDefinition<K, &'static [u8]>,
    scan: impl Fn(
        &redb::ReadTransaction,
        TableDefinition<K, &'static [u8]>,
        Option<Vec<u8>>,
        usize,
    ) -> StoreResult<ScanPage<T>>,
    facts_of: impl Fn(&T) -> Vec<ReportFact>,
    upgrade: &mut LayoutUpgrade,
) -> StoreResult<()>
where
    K: redb::Key + 'static,
    T: DeserializeOwned,
{
    let mut cursor = None;
    loop {
        let page = {
            let transaction = database.begin_read().map_err(redb_error)?;
            scan(&transaction, table, cursor, RECOMPUTE_PAGE)?
        };
        let facts: Vec<ReportFact> = page.records.iter().flat_map(&facts_of).collect();
        upgrade.records += page.records.len() as u64;
        upgrade.facts += facts.len() as u64;
        let transaction = database.begin_write().map_err(redb_error)?;
        add_facts(&transaction, &facts)?;
        transaction.commit().map_err(redb_error)?;
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}
