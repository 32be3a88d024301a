//! Finds which tables of an embedded store still hold any of some byte
//! strings, in keys or values: the check behind the promise that a deleted
//! account's phone and name are gone from every row. Every table of the file
//! is read through its definition; a table this scan does not know is
//! reported, so a new table cannot slip past it.

use std::collections::BTreeSet;
use std::path::Path;

use redb::{Key, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, TableDefinition, Value};

use super::DATABASE_FILE_NAME;
use super::codec::redb_error;
use super::report_layout::REPORT_LAYOUT;
use super::report_scans::AVAILABILITY;
use super::reports::{REPORT_CELLS, REPORT_FACTS, REPORT_PARTNER_CELLS, REPORT_PEOPLE};
use super::tables::*;
use crate::store::{StoreError, StoreResult};

/// What a scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RowScan {
    /// Tables with a row holding one of the byte strings.
    pub tables_holding: BTreeSet<String>,
    /// Tables in the file that the scan does not know (and so did not read).
    pub unknown_tables: BTreeSet<String>,
}

/// Scans every table of the store in `data_dir` (not open in another process)
/// for rows holding any of `needles`.
pub fn scan_rows(data_dir: &Path, needles: &[&[u8]]) -> StoreResult<RowScan> {
    let database = ReadOnlyDatabase::open(data_dir.join(DATABASE_FILE_NAME))
        .map_err(|error| StoreError::Backend(format!("cannot open the store: {error}")))?;
    let transaction = database.begin_read().map_err(redb_error)?;
    let mut scan = Scan {
        transaction: &transaction,
        needles,
        known: BTreeSet::new(),
        found: RowScan::default(),
    };
    scan.table(ACCOUNTS)?;
    scan.table(ACCOUNT_IDS_BY_PHONE)?;
    scan.table(TOKEN_FAMILIES)?;
    scan.table(FAMILIES_BY_ACCOUNT)?;
    scan.table(TOKENS)?;
    scan.table(OTP_CHALLENGES)?;
    scan.table(ROSTER)?;
    scan.table(PROFILE_EVENTS)?;
    scan.table(PROFILES)?;
    scan.table(ACCOUNT_DELETIONS)?;
    scan.table(CONNECTIONS)?;
    scan.table(CONNECTIONS_BY_ACCOUNT)?;
    scan.table(INCOMPLETE_CONNECTIONS)?;
    scan.table(PAIR_LAST_REWARDED)?;
    scan.table(DAILY_REWARDED)?;
    scan.table(REWARD_DAY_SLOTS)?;
    scan.table(PAIR_REWARD_CLAIMS)?;
    scan.table(LEDGER)?;
    scan.table(LEDGER_IDS)?;
    scan.table(BALANCES)?;
    scan.table(TROPHIES)?;
    scan.table(EXPIRING_ROWS)?;
    scan.table(TROPHY_MARKS)?;
    scan.table(AUDIT_LOG)?;
    scan.table(RETAILERS)?;
    scan.table(MUNICIPALITIES)?;
    scan.table(CHARITIES)?;
    scan.table(REWARD_OFFERS)?;
    scan.table(REWARD_OFFERS_BY_AREA)?;
    scan.table(REDEMPTIONS)?;
    scan.table(STARTED_REDEMPTIONS)?;
    scan.table(STOCK_OPS)?;
    scan.table(LIMIT_SLOTS)?;
    scan.table(VOUCHERS)?;
    scan.table(VOUCHERS_BY_ACCOUNT)?;
    scan.table(VOUCHERS_BY_EXPIRY)?;
    scan.table(ISSUER_KEYS)?;
    scan.table(ISSUER_KEYS_BY_ISSUER)?;
    scan.table(IMPORT_RUNS)?;
    scan.table(IMPORT_RUN_KEYS)?;
    scan.table(IMPORT_STAGED)?;
    scan.table(IMPORT_REFS)?;
    scan.table(PENDING_RELEASES)?;
    scan.table(DONATIONS)?;
    scan.table(STARTED_DONATIONS)?;
    scan.table(PLEDGES)?;
    scan.table(STATEMENT_SETTLEMENTS)?;
    scan.table(OUTBOX_DELIVERIES)?;
    scan.table(OUTBOX_DUE)?;
    scan.table(OUTBOX_ENDPOINTS)?;
    scan.table(DEVICES)?;
    scan.table(OIDC_IDENTITIES)?;
    scan.table(OIDC_IDENTITIES_BY_ACCOUNT)?;
    scan.table(REPORT_CELLS)?;
    scan.table(REPORT_PARTNER_CELLS)?;
    scan.table(AVAILABILITY)?;
    scan.table(REPORT_PEOPLE)?;
    scan.table(REPORT_FACTS)?;
    scan.table(REPORT_LAYOUT)?;
    let present = transaction.list_tables().map_err(redb_error)?;
    let known = std::mem::take(&mut scan.known);
    let mut found = scan.found;
    found.unknown_tables = present
        .map(|table| redb::TableHandle::name(&table).to_owned())
        .filter(|name| !known.contains(name))
        .collect();
    Ok(found)
}

/// One scan's state.
struct Scan<'a> {
    transaction: &'a ReadTransaction,
    needles: &'a [&'a [u8]],
    known: BTreeSet<String>,
    found: RowScan,
}

impl Scan<'_> {
    /// Reads every row of `definition`'s table.
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        definition: TableDefinition<K, V>,
    ) -> StoreResult<()> {
        let name = redb::TableHandle::name(&definition).to_owned();
        self.known.insert(name.clone());
        let table = match self.transaction.open_table(definition) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(error) => return Err(redb_error(error)),
        };
        for row in redb::ReadableTable::iter(&table).map_err(redb_error)? {
            let (key, value) = row.map_err(redb_error)?;
            let key_value = key.value();
            let value_value = value.value();
            let key_bytes = K::as_bytes(&key_value);
            let value_bytes = V::as_bytes(&value_value);
            if self.holds_needle(key_bytes.as_ref()) || self.holds_needle(value_bytes.as_ref()) {
                self.found.tables_holding.insert(name);
                return Ok(());
            }
        }
        Ok(())
    }

    fn holds_needle(&self, bytes: &[u8]) -> bool {
        self.needles.iter().any(|needle| {
            !needle.is_empty() && bytes.windows(needle.len()).any(|window| window == *needle)
        })
    }
}
