//! A person's lists (connections, vouchers): an index of (account id, time,
//! id) keys with no value beside the records by id. One reverse range scan
//! reads a page newest first, from the newest or strictly before a position.

use redb::{ReadTransaction, TableDefinition};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::codec::{get_record, redb_error};
use super::tables::{ConnectionIndexKey, UuidKey, connection_id_of, connection_index_key};
use crate::domain::AccountId;
use crate::store::StoreResult;

/// Up to `limit` records of `account_id`'s list in `index`, newest first,
/// strictly before `before` (time, id) when given; ids the index names but
/// `records` lacks are skipped.
pub(super) fn newest_first<T: DeserializeOwned>(
    transaction: &ReadTransaction,
    index: TableDefinition<&ConnectionIndexKey, ()>,
    records: TableDefinition<&UuidKey, &[u8]>,
    account_id: AccountId,
    before: Option<(i64, Uuid)>,
    limit: usize,
) -> StoreResult<Vec<T>> {
    let index = transaction.open_table(index).map_err(redb_error)?;
    let records = transaction.open_table(records).map_err(redb_error)?;
    let first = connection_index_key(account_id, i64::MIN, Uuid::nil());
    let rows = match before {
        Some((at_ms, id)) => {
            let end = connection_index_key(account_id, at_ms, id);
            index.range::<&ConnectionIndexKey>(&first..&end)
        }
        None => {
            let end = connection_index_key(account_id, i64::MAX, Uuid::max());
            index.range::<&ConnectionIndexKey>(&first..=&end)
        }
    }
    .map_err(redb_error)?;
    let mut page = Vec::new();
    for row in rows.rev().take(limit) {
        let (key, _no_value) = row.map_err(redb_error)?;
        if let Some(record) = get_record(&records, connection_id_of(key.value()).as_bytes())? {
            page.push(record);
        }
    }
    Ok(page)
}
