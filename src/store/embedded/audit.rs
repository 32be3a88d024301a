//! [`AuditStore`] on redb: entries keyed by time then id, so a page is one
//! reverse range scan.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, TableDefinition};
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{decode, encode, redb_error};
use super::tables::{AUDIT_LOG, TimeIdKey, time_id_key};
use crate::store::{AuditCursor, AuditEntry, AuditStore, StoreResult};

#[async_trait]
impl AuditStore for EmbeddedStore {
    async fn append_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        let key = time_id_key(entry.at_ms, entry.entry_id);
        let encoded = encode(entry)?;
        self.write(move |transaction| {
            let mut log = transaction.open_table(AUDIT_LOG).map_err(redb_error)?;
            // Append-only: an entry already stored under this key stays as it is.
            if log.get(&key).map_err(redb_error)?.is_none() {
                log.insert(&key, encoded.as_slice()).map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn audit_entries(
        &self,
        before: Option<AuditCursor>,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>> {
        let before = before.map(|cursor| (cursor.at_ms, cursor.entry_id));
        self.read(move |transaction| newest_by_time(transaction, AUDIT_LOG, before, limit))
            .await
    }
}

/// Up to `limit` records of a table keyed by time then id, newest first,
/// strictly before the (time, id) `before` when given: the audit log and the
/// import runs.
pub(super) fn newest_by_time<T: serde::de::DeserializeOwned>(
    transaction: &ReadTransaction,
    definition: TableDefinition<&TimeIdKey, &[u8]>,
    before: Option<(i64, Uuid)>,
    limit: usize,
) -> StoreResult<Vec<T>> {
    let table = transaction.open_table(definition).map_err(redb_error)?;
    let rows = match before {
        Some((at_ms, id)) => {
            let end = time_id_key(at_ms, id);
            table.range::<&TimeIdKey>(..&end)
        }
        None => table.range::<&TimeIdKey>(..),
    }
    .map_err(redb_error)?;
    rows.rev()
        .take(limit)
        .map(|row| {
            let (_key, value) = row.map_err(redb_error)?;
            decode(value.value())
        })
        .collect()
}
