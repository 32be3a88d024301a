//! [`RosterStore`] on CQL: the `roster` table by phone. An import is written in
//! logged batches of [`ROSTER_BATCH_ENTRIES`] (each batch all or nothing);
//! upserts are idempotent, so a failed import is simply run again.

use async_trait::async_trait;
use scylla::statement::batch::{Batch, BatchType};

use super::ScyllaStore;
use super::codec::{corrupt, execution_error, first_row, hash32};
use crate::store::{PhoneHash, RosterEntry, RosterStore, StoreResult};

/// Entries per logged batch, well under the default 50 KiB batch size limit.
const ROSTER_BATCH_ENTRIES: usize = 100;

/// Columns of `SELECT ... FROM roster`.
type RosterRow = (Vec<u8>, Vec<u8>, String, String, String, i64);

#[async_trait]
impl RosterStore for ScyllaStore {
    async fn upsert_roster_entries(&self, entries: &[RosterEntry]) -> StoreResult<()> {
        let connected = self.connected()?;
        for chunk in entries.chunks(ROSTER_BATCH_ENTRIES) {
            let mut batch = Batch::new(BatchType::Logged);
            batch.set_is_idempotent(true);
            let mut values = Vec::with_capacity(chunk.len());
            for entry in chunk {
                batch.append_statement(connected.statements.upsert_roster.clone());
                values.push((
                    entry.phone_hash.0.as_slice(),
                    entry.phone_sealed.as_slice(),
                    entry.display_name.as_str(),
                    entry.badge.as_str(),
                    entry.department.as_str(),
                    entry.updated_at_ms,
                ));
            }
            connected
                .session
                .batch(&batch, values)
                .await
                .map_err(execution_error)?;
        }
        Ok(())
    }

    async fn roster_entry(&self, phone: &PhoneHash) -> StoreResult<Option<RosterEntry>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_roster,
                (phone.0.as_slice(),),
            )
            .await?;
        let Some(row) = first_row::<RosterRow>(result, "roster entry")? else {
            return Ok(None);
        };
        let (phone_hash, phone_sealed, display_name, badge, department, updated_at_ms) = row;
        Ok(Some(RosterEntry {
            phone_hash: PhoneHash(hash32(phone_hash, "roster phone hash")?),
            phone_sealed,
            display_name,
            badge,
            department,
            updated_at_ms,
        }))
    }

    async fn roster_size(&self) -> StoreResult<u64> {
        let result = self
            .execute(|connected| &connected.statements.count_roster, ())
            .await?;
        let count = first_row::<(i64,)>(result, "roster count")?.map_or(0, |(count,)| count);
        u64::try_from(count).map_err(|_| corrupt("roster count", count))
    }

    async fn remove_roster_entry(&self, phone: &PhoneHash) -> StoreResult<bool> {
        let removal = self
            .execute_conditional(
                |connected| &connected.statements.delete_roster,
                (phone.0.as_slice(),),
                "roster removal",
            )
            .await?;
        Ok(removal.applied)
    }
}
