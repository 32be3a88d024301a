//! [`AuditStore`] on CQL: `audit_log` partitioned by UTC day (newest first
//! within it) and `audit_days`, the list of days with entries. A page walks
//! back day by day from the cursor's day until it is full.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::rows;
use crate::domain::AccountId;
use crate::store::{AuditCursor, AuditEntry, AuditStore, StoreResult};

/// Milliseconds in a UTC day.
const DAY_MS: i64 = 86_400_000;

/// Columns of `SELECT ... FROM audit_log`.
type AuditRow = (i64, Uuid, String, String, Option<Uuid>, String);

/// The UTC day (days since the Unix epoch) of a time.
fn day_of(at_ms: i64) -> i32 {
    i32::try_from(at_ms.div_euclid(DAY_MS)).unwrap_or(i32::MAX)
}

fn entry_from_row(row: AuditRow) -> AuditEntry {
    let (at_ms, entry_id, actor, action, target, detail) = row;
    AuditEntry {
        entry_id,
        at_ms,
        actor,
        action,
        target: target.map(AccountId),
        detail,
    }
}

#[async_trait]
impl AuditStore for ScyllaStore {
    async fn append_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        let day = day_of(entry.at_ms);
        // The day first: a page finds an entry only through its day.
        self.execute(|connected| &connected.statements.insert_audit_day, (day,))
            .await?;
        // Not applied means an entry with this key is stored: append-only, kept.
        self.execute_conditional(
            |connected| &connected.statements.insert_audit_entry,
            (
                day,
                entry.at_ms,
                entry.entry_id,
                entry.actor.as_str(),
                entry.action.as_str(),
                entry.target.map(|target| target.0),
                entry.detail.as_str(),
            ),
            "audit entry",
        )
        .await?;
        Ok(())
    }

    async fn audit_entries(
        &self,
        before: Option<AuditCursor>,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>> {
        let last_day = before.map_or(i32::MAX, |cursor| day_of(cursor.at_ms));
        let days = self
            .execute(
                |connected| &connected.statements.select_audit_days,
                (last_day,),
            )
            .await?;
        let mut entries = Vec::with_capacity(limit);
        for (day,) in rows::<(i32,)>(days, "audit days")? {
            let wanted = limit - entries.len();
            if wanted == 0 {
                break;
            }
            let wanted = i32::try_from(wanted).unwrap_or(i32::MAX);
            let page = match before.filter(|cursor| day_of(cursor.at_ms) == day) {
                Some(cursor) => {
                    self.execute(
                        |connected| &connected.statements.select_audit_entries_before,
                        (day, cursor.at_ms, cursor.entry_id, wanted),
                    )
                    .await?
                }
                None => {
                    self.execute(
                        |connected| &connected.statements.select_audit_entries,
                        (day, wanted),
                    )
                    .await?
                }
            };
            entries.extend(
                rows::<AuditRow>(page, "audit entries")?
                    .into_iter()
                    .map(entry_from_row),
            );
        }
        Ok(entries)
    }
}
