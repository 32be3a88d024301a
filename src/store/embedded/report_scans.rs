//! The records reports are recomputed from, as the embedded store pages
//! through them for `heyblue reports rebuild` (connections, ledger entries,
//! vouchers, donations, availability stretches), and the table of
//! availability stretches, written with their facts in one transaction.

use std::ops::Bound;

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;

use super::codec::{decode, encode, redb_error};
use super::reports::add_facts_kept;
use super::tables::UuidKey;
use crate::store::report_facts::availability_facts;
use crate::store::{AvailabilityRecord, ReportUpkeep, ScanPage, StoreError, StoreResult};

/// Officers' availability stretches, by id (no person, no position).
pub(super) const AVAILABILITY: TableDefinition<&UuidKey, &[u8]> =
    TableDefinition::new("availability_windows");

/// Writes `record` and adds its facts (when `upkeep` says so), unless a
/// stretch with its id is stored.
pub(super) fn record_availability_in(
    transaction: &WriteTransaction,
    record: &AvailabilityRecord,
    upkeep: ReportUpkeep,
) -> StoreResult<()> {
    let mut stretches = transaction.open_table(AVAILABILITY).map_err(redb_error)?;
    if stretches
        .get(record.window_id.as_bytes())
        .map_err(redb_error)?
        .is_some()
    {
        return Ok(());
    }
    stretches
        .insert(record.window_id.as_bytes(), encode(record)?.as_slice())
        .map_err(redb_error)?;
    drop(stretches);
    add_facts_kept(transaction, &availability_facts(record), upkeep)
}

/// The end of a page: where the next one starts, when this one is full.
fn page_of<T>(records: Vec<T>, last: Option<Vec<u8>>, limit: usize) -> ScanPage<T> {
    let next = if records.len() == limit { last } else { None };
    ScanPage { records, next }
}

/// Scans the records of a table with fixed-size keys after `cursor` (a
/// key), decoding each.
pub(super) fn scan_fixed<const N: usize, T: DeserializeOwned>(
    transaction: &ReadTransaction,
    table: TableDefinition<&'static [u8; N], &'static [u8]>,
    cursor: Option<Vec<u8>>,
    limit: usize,
) -> StoreResult<ScanPage<T>> {
    let opened = transaction.open_table(table).map_err(redb_error)?;
    let after = match cursor {
        Some(bytes) => Some(
            <[u8; N]>::try_from(bytes.as_slice())
                .map_err(|_| StoreError::Corrupt("scan cursor of the wrong length".to_owned()))?,
        ),
        None => None,
    };
    let rows = match &after {
        Some(after) => opened.range::<&[u8; N]>((Bound::Excluded(after), Bound::Unbounded)),
        None => opened.range::<&[u8; N]>(..),
    }
    .map_err(redb_error)?;
    let mut records = Vec::new();
    let mut last = None;
    for row in rows.take(limit) {
        let (key, value) = row.map_err(redb_error)?;
        records.push(decode(value.value())?);
        last = Some(key.value().to_vec());
    }
    Ok(page_of(records, last, limit))
}

/// Scans the records of a table with byte-string keys after `cursor`.
pub(super) fn scan_slices<T: DeserializeOwned>(
    transaction: &ReadTransaction,
    table: TableDefinition<&'static [u8], &'static [u8]>,
    cursor: Option<Vec<u8>>,
    limit: usize,
) -> StoreResult<ScanPage<T>> {
    let opened = transaction.open_table(table).map_err(redb_error)?;
    let rows = match &cursor {
        Some(after) => opened.range::<&[u8]>((Bound::Excluded(after.as_slice()), Bound::Unbounded)),
        None => opened.range::<&[u8]>(..),
    }
    .map_err(redb_error)?;
    let mut records = Vec::new();
    let mut last = None;
    for row in rows.take(limit) {
        let (key, value) = row.map_err(redb_error)?;
        records.push(decode(value.value())?);
        last = Some(key.value().to_vec());
    }
    Ok(page_of(records, last, limit))
}
