//! [`ReportStore`] on redb. A fact adds to its cells in the write transaction
//! of the record it comes from (`insert_connection`, `append_ledger_entry`,
//! `insert_voucher`, `transition_voucher`, `update_donation`,
//! `record_availability`), and its id is kept under its day in the same
//! transaction, so a fact is counted once whoever writes it again; distinct
//! people are kept per cell. Cells are keyed metric, level, day, hour, role,
//! area (then partner, in the table of metrics kept per partner), so a report
//! reads one range per (metric, level) and a rebuild drops one range per
//! (metric, level) from its first day on.

use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::EmbeddedStore;
use super::codec::redb_error;
use super::report_scans::{AVAILABILITY, record_availability_in, scan_fixed, scan_slices};
use super::tables::{CONNECTIONS, DONATIONS, LEDGER, VOUCHERS, biased};
use crate::domain::voucher::Voucher;
use crate::store::report_facts::connection_facts;
use crate::store::report_records::{
    AreaLevel, CellKey, ReportCell, ReportFact, ReportMetric, ReportRole,
};
use crate::store::{
    AvailabilityRecord, ConnectionRecord, Donation, LedgerEntry, ReportStore, ScanPage, StoreResult,
};

/// Bytes of an area in a key: up to five ASCII digits, zero-padded.
const AREA_BYTES: usize = 5;
/// Bytes of a cell key: metric, level, biased day, hour, role, area.
const CELL_KEY_BYTES: usize = 1 + 1 + 8 + 1 + 1 + AREA_BYTES;
/// Bytes of a cell key of a metric kept per partner: a cell key, then the
/// partner's id.
const PARTNER_CELL_KEY_BYTES: usize = CELL_KEY_BYTES + 16;
/// Bytes of a person-in-cell key: level, biased day, hour, role, area, person.
const PERSON_KEY_BYTES: usize = 1 + 8 + 1 + 1 + AREA_BYTES + 16;
/// Bytes of a fact id key: biased day, fact id.
const FACT_KEY_BYTES: usize = 8 + 16;

/// Key of a cell.
type CellKeyBytes = [u8; CELL_KEY_BYTES];
/// Key of a cell of a metric kept per partner.
type PartnerCellKeyBytes = [u8; PARTNER_CELL_KEY_BYTES];
/// Key of a person counted in a `participants` cell.
type PersonKeyBytes = [u8; PERSON_KEY_BYTES];
/// Key of a counted fact.
type FactKeyBytes = [u8; FACT_KEY_BYTES];

/// Report cells: their count or sum.
pub(super) const REPORT_CELLS: TableDefinition<&CellKeyBytes, i64> =
    TableDefinition::new("report_cells");
/// Cells of the metrics kept per partner (vouchers, pledges): their count.
/// A table of its own, so the keys of the other cells keep their layout.
pub(super) const REPORT_PARTNER_CELLS: TableDefinition<&PartnerCellKeyBytes, i64> =
    TableDefinition::new("report_partner_cells");
/// The people counted in each `participants` cell.
pub(super) const REPORT_PEOPLE: TableDefinition<&PersonKeyBytes, ()> =
    TableDefinition::new("report_people");
/// The facts counted, by day.
pub(super) const REPORT_FACTS: TableDefinition<&FactKeyBytes, ()> =
    TableDefinition::new("report_facts");

/// Creates the report tables.
pub(super) fn create_tables(transaction: &WriteTransaction) -> StoreResult<()> {
    transaction.open_table(REPORT_CELLS).map_err(redb_error)?;
    transaction
        .open_table(REPORT_PARTNER_CELLS)
        .map_err(redb_error)?;
    transaction.open_table(AVAILABILITY).map_err(redb_error)?;
    transaction.open_table(REPORT_PEOPLE).map_err(redb_error)?;
    transaction.open_table(REPORT_FACTS).map_err(redb_error)?;
    Ok(())
}

/// The area bytes of a key.
fn area_bytes(area: &str) -> [u8; AREA_BYTES] {
    let mut bytes = [0; AREA_BYTES];
    for (slot, byte) in bytes.iter_mut().zip(area.bytes()) {
        *slot = byte;
    }
    bytes
}

/// The area of the area bytes of a key.
fn area_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take_while(|byte| **byte != 0)
        .map(|byte| char::from(*byte))
        .collect()
}

/// The key of a cell in its table (`N` is [`CELL_KEY_BYTES`], or
/// [`PARTNER_CELL_KEY_BYTES`] with the partner after it).
fn cell_key_bytes<const N: usize>(key: &CellKey) -> [u8; N] {
    let mut bytes = [0; N];
    bytes[0] = key.metric.tag();
    bytes[1] = key.level.tag();
    bytes[2..10].copy_from_slice(&biased(key.day));
    bytes[10] = key.hour;
    bytes[11] = key.role.tag();
    bytes[12..CELL_KEY_BYTES].copy_from_slice(&area_bytes(&key.area));
    if let Some(partner) = key.partner {
        bytes[CELL_KEY_BYTES..].copy_from_slice(partner.as_bytes());
    }
    bytes
}

/// The first cell key of (metric, level) on `day`.
fn cell_range_start<const N: usize>(metric: ReportMetric, level: AreaLevel, day: i64) -> [u8; N] {
    let mut bytes = [0; N];
    bytes[0] = metric.tag();
    bytes[1] = level.tag();
    bytes[2..10].copy_from_slice(&biased(day));
    bytes
}

fn cell_from_bytes(metric: ReportMetric, bytes: &[u8], value: i64) -> Option<ReportCell> {
    let mut day = [0; 8];
    day.copy_from_slice(&bytes[2..10]);
    let day = (u64::from_be_bytes(day) ^ (1 << 63)) as i64;
    let partner = (bytes.len() == PARTNER_CELL_KEY_BYTES)
        .then(|| uuid::Uuid::from_slice(&bytes[CELL_KEY_BYTES..]).ok())
        .flatten();
    Some(ReportCell {
        key: CellKey {
            metric,
            level: AreaLevel::from_tag(bytes[1])?,
            day,
            hour: bytes[10],
            area: area_text(&bytes[12..CELL_KEY_BYTES]),
            role: ReportRole::from_tag(bytes[11])?,
            partner,
        },
        value,
    })
}

/// Adds `amount` to the cell at `key` of `cells`.
fn bump<const N: usize>(
    cells: &mut redb::Table<&'static [u8; N], i64>,
    key: &CellKey,
    amount: i64,
) -> StoreResult<()> {
    let bytes = cell_key_bytes::<N>(key);
    let before = cells
        .get(&bytes)
        .map_err(redb_error)?
        .map_or(0, |stored| stored.value());
    cells
        .insert(&bytes, before.saturating_add(amount))
        .map_err(redb_error)?;
    Ok(())
}

/// The cells of `table` for (metric, level) on days `from_day..=to_day`.
fn read_cells<const N: usize>(
    transaction: &redb::ReadTransaction,
    table: TableDefinition<&'static [u8; N], i64>,
    metric: ReportMetric,
    level: AreaLevel,
    from_day: i64,
    to_day: i64,
) -> StoreResult<Vec<ReportCell>> {
    let cells = transaction.open_table(table).map_err(redb_error)?;
    let start = cell_range_start::<N>(metric, level, from_day);
    let end = cell_range_start::<N>(metric, level, to_day.saturating_add(1));
    let mut found = Vec::new();
    for row in cells.range::<&[u8; N]>(&start..&end).map_err(redb_error)? {
        let (key, value) = row.map_err(redb_error)?;
        if let Some(cell) = cell_from_bytes(metric, key.value(), value.value()) {
            found.push(cell);
        }
    }
    Ok(found)
}

fn person_key_bytes(key: &CellKey, person: uuid::Uuid) -> PersonKeyBytes {
    let mut bytes = [0; PERSON_KEY_BYTES];
    bytes[0] = key.level.tag();
    bytes[1..9].copy_from_slice(&biased(key.day));
    bytes[9] = key.hour;
    bytes[10] = key.role.tag();
    bytes[11..16].copy_from_slice(&area_bytes(&key.area));
    bytes[16..].copy_from_slice(person.as_bytes());
    bytes
}

fn fact_key_bytes(day: i64, fact_id: uuid::Uuid) -> FactKeyBytes {
    let mut bytes = [0; FACT_KEY_BYTES];
    bytes[..8].copy_from_slice(&biased(day));
    bytes[8..].copy_from_slice(fact_id.as_bytes());
    bytes
}

/// Adds each fact not counted yet to its cells, within `transaction`.
pub(super) fn add_facts(transaction: &WriteTransaction, facts: &[ReportFact]) -> StoreResult<()> {
    let mut counted = transaction.open_table(REPORT_FACTS).map_err(redb_error)?;
    let mut cells = transaction.open_table(REPORT_CELLS).map_err(redb_error)?;
    let mut partner_cells = transaction
        .open_table(REPORT_PARTNER_CELLS)
        .map_err(redb_error)?;
    let mut people = transaction.open_table(REPORT_PEOPLE).map_err(redb_error)?;
    for fact in facts {
        let fact_key = fact_key_bytes(fact.day(), fact.fact_id);
        if counted.insert(&fact_key, ()).map_err(redb_error)?.is_some() {
            continue;
        }
        for key in fact.cell_keys() {
            let amount = if fact.metric.is_distinct() {
                let Some(person) = fact.person else {
                    continue;
                };
                let person_key = person_key_bytes(&key, person.0);
                if people
                    .insert(&person_key, ())
                    .map_err(redb_error)?
                    .is_some()
                {
                    continue;
                }
                1
            } else {
                fact.amount
            };
            if key.partner.is_some() {
                bump(&mut partner_cells, &key, amount)?;
            } else {
                bump(&mut cells, &key, amount)?;
            }
        }
    }
    Ok(())
}

/// Adds the facts of a newly written connection, within its transaction.
pub(super) fn add_connection_facts(
    transaction: &WriteTransaction,
    record: &ConnectionRecord,
) -> StoreResult<()> {
    add_facts(transaction, &connection_facts(record))
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
    async fn report_cells(
        &self,
        metric: ReportMetric,
        level: AreaLevel,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<ReportCell>> {
        self.read(move |transaction| {
            if metric.has_partner() {
                read_cells(
                    transaction,
                    REPORT_PARTNER_CELLS,
                    metric,
                    level,
                    from_day,
                    to_day,
                )
            } else {
                read_cells(transaction, REPORT_CELLS, metric, level, from_day, to_day)
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
                for level in AreaLevel::ALL {
                    let in_span = |key: &[u8]| {
                        key[0] == metric.tag()
                            && key[1] == level.tag()
                            && key[2..10] <= last_day[..]
                    };
                    if metric.has_partner() {
                        let start = cell_range_start(metric, level, from_day);
                        remove_from(transaction, REPORT_PARTNER_CELLS, start, |key| in_span(key))?;
                    } else {
                        let start = cell_range_start(metric, level, from_day);
                        remove_from(transaction, REPORT_CELLS, start, |key| in_span(key))?;
                    }
                }
            }
            for level in AreaLevel::ALL {
                let mut start = [0; PERSON_KEY_BYTES];
                start[0] = level.tag();
                start[1..9].copy_from_slice(&biased(from_day));
                remove_from(transaction, REPORT_PEOPLE, start, |key| {
                    key[0] == level.tag() && key[1..9] <= last_day[..]
                })?;
            }
            let mut start = [0; FACT_KEY_BYTES];
            start[..8].copy_from_slice(&biased(from_day));
            remove_from(transaction, REPORT_FACTS, start, |key| {
                key[..8] <= last_day[..]
            })
        })
        .await
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
        self.write(move |transaction| record_availability_in(transaction, &record))
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
