//! [`RosterStore`] on redb: roster entries by phone hash.

use async_trait::async_trait;
use redb::ReadableTableMetadata;

use super::EmbeddedStore;
use super::codec::{encode, get_record, redb_error};
use super::tables::ROSTER;
use crate::store::{PhoneHash, RosterEntry, RosterStore, StoreResult};

#[async_trait]
impl RosterStore for EmbeddedStore {
    async fn upsert_roster_entries(&self, entries: &[RosterEntry]) -> StoreResult<()> {
        let encoded = entries
            .iter()
            .map(|entry| Ok((entry.phone_hash, encode(entry)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        // One transaction: a failure part way rolls back the entries before it.
        self.write(move |transaction| {
            let mut roster = transaction.open_table(ROSTER).map_err(redb_error)?;
            for (phone, entry) in &encoded {
                roster
                    .insert(&phone.0, entry.as_slice())
                    .map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn roster_entry(&self, phone: &PhoneHash) -> StoreResult<Option<RosterEntry>> {
        let phone = *phone;
        self.read(move |transaction| {
            let roster = transaction.open_table(ROSTER).map_err(redb_error)?;
            get_record(&roster, &phone.0)
        })
        .await
    }

    async fn roster_size(&self) -> StoreResult<u64> {
        self.read(|transaction| {
            let roster = transaction.open_table(ROSTER).map_err(redb_error)?;
            roster.len().map_err(redb_error)
        })
        .await
    }

    async fn remove_roster_entry(&self, phone: &PhoneHash) -> StoreResult<bool> {
        let phone = *phone;
        self.write(move |transaction| {
            let mut roster = transaction.open_table(ROSTER).map_err(redb_error)?;
            let removed = roster.remove(&phone.0).map_err(redb_error)?.is_some();
            Ok(removed)
        })
        .await
    }
}
