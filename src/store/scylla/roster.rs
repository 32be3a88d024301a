//! [`RosterStore`] on CQL: the `roster` table by phone. An import is written in
//! logged batches of [`ROSTER_BATCH_ENTRIES`] (each batch all or nothing);
//! upserts are idempotent, so a failed import is simply run again. The size
//! is a counter (`roster_size`, schema version 6) that each batch adds the
//! phones it put on the roster to (read before the batch) and each removal
//! that applied takes one from, so reading it never scans the roster.

use std::collections::HashSet;

use async_trait::async_trait;
use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::Counter;

use super::ScyllaStore;
use super::codec::{Conditional, execution_error, first_row, hash32, rows};
use crate::store::{PhoneHash, RosterEntry, RosterStore, StoreResult};

/// Entries per logged batch, well under the default 50 KiB batch size limit.
const ROSTER_BATCH_ENTRIES: usize = 100;

/// Columns of `SELECT ... FROM roster`.
pub(super) type RosterRow = (Vec<u8>, Vec<u8>, String, String, String, i64);

#[async_trait]
impl RosterStore for ScyllaStore {
    async fn upsert_roster_entries(&self, entries: &[RosterEntry]) -> StoreResult<()> {
        let connected = self.connected()?;
        for chunk in entries.chunks(ROSTER_BATCH_ENTRIES) {
            let added = self.phones_not_on_roster(chunk).await?;
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
            if added > 0 {
                self.execute(
                    |connected| &connected.statements.add_roster_size,
                    (Counter(i64::try_from(added).unwrap_or(i64::MAX)),),
                )
                .await?;
            }
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
            .execute(|connected| &connected.statements.select_roster_size, ())
            .await?;
        let count = first_row::<(Option<Counter>,)>(result, "roster size")?
            .and_then(|(count,)| count)
            .map_or(0, |Counter(count)| count);
        // A counter gone below zero (a removal counted twice) reads as empty.
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn remove_roster_entry(&self, phone: &PhoneHash) -> StoreResult<bool> {
        let removal = self
            .execute_conditional(
                |connected| &connected.statements.delete_roster,
                (phone.0.as_slice(),),
                "roster removal",
            )
            .await?;
        if removal.applied {
            self.execute(
                |connected| &connected.statements.add_roster_size,
                (Counter(-1),),
            )
            .await?;
        }
        Ok(removal.applied)
    }
}

impl ScyllaStore {
    /// How many distinct phones of `entries` are not on the roster yet.
    async fn phones_not_on_roster(&self, entries: &[RosterEntry]) -> StoreResult<usize> {
        let phones: HashSet<&[u8]> = entries
            .iter()
            .map(|entry| entry.phone_hash.0.as_slice())
            .collect();
        let result = self
            .execute(
                |connected| &connected.statements.select_roster_present,
                (phones.iter().copied().collect::<Vec<&[u8]>>(),),
            )
            .await?;
        let present = rows::<(Vec<u8>,)>(result, "roster phone")?;
        Ok(phones.len().saturating_sub(present.len()))
    }
}

/// Counts the roster once into `roster_size` for a keyspace written before
/// schema version 6 (a full scan, this once). The first node to count claims
/// the step in `schema_version`, so two nodes upgrading together count once.
pub(super) async fn seed_roster_size(session: &Session) -> StoreResult<()> {
    let counted = session
        .query_unpaged("SELECT COUNT(*) FROM roster", ())
        .await
        .map_err(execution_error)?;
    let officers = first_row::<(i64,)>(counted, "roster count")?.map_or(0, |(count,)| count);
    let claimed = session
        .query_unpaged(
            "INSERT INTO schema_version (component, version, applied_at_ms) \
             VALUES ('heyblue_roster_size', 6, 0) IF NOT EXISTS",
            (),
        )
        .await
        .map_err(execution_error)?;
    if !Conditional::from_result(claimed, "roster size seed")?.applied || officers == 0 {
        return Ok(());
    }
    session
        .query_unpaged(
            "UPDATE roster_size SET officers = officers + ? WHERE name = 'roster'",
            (Counter(officers),),
        )
        .await
        .map_err(execution_error)?;
    tracing::info!(officers, "roster size counted");
    Ok(())
}
