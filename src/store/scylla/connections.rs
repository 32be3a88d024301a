//! [`ConnectionStore`] on CQL. The record lives in `connections`, written once
//! with `IF NOT EXISTS`; the winner of that insert then writes the facts other
//! queries read, each an idempotent upsert:
//!
//! * `connections_by_account`, one partition per person and 30-day bucket
//!   ([`BUCKET_MS`]), newest first, listed by `connection_buckets`, for
//!   `connections_of`;
//! * `pair_last_rewarded`, keyed by the ordered pair and written `USING
//!   TIMESTAMP` of the connection time, so the latest rewarded connection wins
//!   however the writes interleave;
//! * `rewarded_connections_by_day`, one row per rewarded connection under
//!   (person, UTC day), counted with `COUNT(*)` (a partition is bounded by the
//!   daily cap), so a rewritten fact is not counted twice;
//! * the incomplete mark, in the time-bucketed queue of `super::incomplete`,
//!   deleted by `complete_connection`;
//! * the `connection.completed` outbox delivery (`super::outbox`), written
//!   `IF NOT EXISTS` so writing the facts again leaves it as it stands.
//!
//! Last, `facts_written` is set on the record. An insert that finds the record
//! stored without it (its writer stopped between the two steps) writes the facts
//! of the stored record again.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, first_row, from_bigint, rows, to_bigint};
use crate::domain::AccountId;
use crate::domain::connection::{ConnectionMode, RewardWithheld, utc_day};
use crate::outbox;
use crate::store::report_facts::connection_facts;
use crate::store::{
    ConnectionCursor, ConnectionParty, ConnectionRecord, ConnectionStore, InsertConnectionOutcome,
    PairRewardClaim, StoreResult,
};

/// Width of a bucket of a person's connection list (30 days, in ms).
const BUCKET_MS: i64 = 30 * 86_400_000;

/// Columns of `SELECT ... FROM connections`.
pub(super) type ConnectionRow = (
    Uuid,
    i64,
    Option<String>,
    Uuid,
    i64,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<bool>,
    Option<String>,
);

/// A stored record and whether its facts are all written.
pub(super) struct StoredConnection {
    /// The record.
    pub(super) record: ConnectionRecord,
    /// Whether the index rows, reward facts and incomplete mark are written.
    facts_written: bool,
}

/// The bucket of a person's connection list holding time `at_ms`.
fn bucket_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(BUCKET_MS)
}

/// The stored name of a withheld reward.
fn withheld_text(withheld: Option<RewardWithheld>) -> Option<&'static str> {
    withheld.map(RewardWithheld::as_str)
}

/// A withheld reward from its stored name.
fn withheld_from_text(text: Option<String>) -> StoreResult<Option<RewardWithheld>> {
    let Some(text) = text else {
        return Ok(None);
    };
    match text.as_str() {
        "not_co_located" => Ok(Some(RewardWithheld::NotCoLocated)),
        "stale_position" => Ok(Some(RewardWithheld::StalePosition)),
        "pair_cooldown" => Ok(Some(RewardWithheld::PairCooldown)),
        "daily_cap" => Ok(Some(RewardWithheld::DailyCap)),
        other => Err(corrupt(
            "withheld reward",
            format!("unknown reason {other:?}"),
        )),
    }
}

pub(super) fn connection_from_row(
    connection_id: Uuid,
    row: ConnectionRow,
) -> StoreResult<StoredConnection> {
    let (
        citizen_id,
        citizen_points,
        citizen_withheld,
        officer_id,
        officer_points,
        officer_withheld,
        established_at_ms,
        cell_r7,
        zip,
        facts_written,
        mode,
    ) = row;
    Ok(StoredConnection {
        record: ConnectionRecord {
            connection_id,
            citizen: ConnectionParty {
                account_id: AccountId(citizen_id),
                points: citizen_points,
                withheld: withheld_from_text(citizen_withheld)?,
            },
            officer: ConnectionParty {
                account_id: AccountId(officer_id),
                points: officer_points,
                withheld: withheld_from_text(officer_withheld)?,
            },
            established_at_ms,
            mode: ConnectionMode::from_stored(mode.as_deref()),
            cell_r7: cell_r7
                .map(|cell| from_bigint(cell, "connection cell"))
                .transpose()?,
            zip,
        },
        facts_written: facts_written.unwrap_or(false),
    })
}

impl ScyllaStore {
    /// The stored record with this id and whether its facts are written.
    async fn stored_connection(
        &self,
        connection_id: Uuid,
    ) -> StoreResult<Option<StoredConnection>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_connection,
                (connection_id,),
            )
            .await?;
        first_row::<ConnectionRow>(result, "connection")?
            .map(|row| connection_from_row(connection_id, row))
            .transpose()
    }

    /// Writes the index rows, reward facts and incomplete mark of a stored
    /// record, then notes that they are written (every write idempotent).
    async fn write_connection_facts(&self, record: &ConnectionRecord) -> StoreResult<()> {
        let bucket = bucket_of(record.established_at_ms);
        let day = utc_day(record.established_at_ms);
        for party in record.parties() {
            // The bucket is listed before the row lands in it, so a reader never
            // misses a stored row.
            self.execute(
                |connected| &connected.statements.insert_connection_bucket,
                (party.account_id.0, bucket),
            )
            .await?;
            self.execute(
                |connected| &connected.statements.insert_connection_by_account,
                (
                    party.account_id.0,
                    bucket,
                    record.established_at_ms,
                    record.connection_id,
                ),
            )
            .await?;
            if party.points > 0 {
                self.execute(
                    |connected| &connected.statements.insert_rewarded_on_day,
                    (party.account_id.0, day, record.connection_id),
                )
                .await?;
            }
        }
        if record.parties().iter().any(|party| party.points > 0) {
            let (first, second) =
                ordered_pair(record.citizen.account_id, record.officer.account_id);
            self.execute(
                |connected| &connected.statements.upsert_pair_reward,
                (
                    first.0,
                    second.0,
                    record.established_at_ms,
                    record.established_at_ms.saturating_mul(1000),
                ),
            )
            .await?;
        }
        self.write_incomplete_mark(record).await?;
        self.write_outbox_message(outbox::message::connection_completed(record))
            .await?;
        self.write_report_facts(&connection_facts(record)).await?;
        self.execute(
            |connected| &connected.statements.mark_connection_facts_written,
            (record.connection_id,),
        )
        .await?;
        Ok(())
    }
}

/// The two accounts of a pair, smaller id first.
pub(super) fn ordered_pair(first: AccountId, second: AccountId) -> (AccountId, AccountId) {
    if first.0 <= second.0 {
        (first, second)
    } else {
        (second, first)
    }
}

#[async_trait]
impl ConnectionStore for ScyllaStore {
    async fn insert_connection(
        &self,
        record: &ConnectionRecord,
    ) -> StoreResult<InsertConnectionOutcome> {
        let cell_r7 = record
            .cell_r7
            .map(|cell| to_bigint(cell, "connection cell"))
            .transpose()?;
        let insert = self
            .execute_conditional(
                |connected| &connected.statements.insert_connection,
                (
                    record.connection_id,
                    record.citizen.account_id.0,
                    record.citizen.points,
                    withheld_text(record.citizen.withheld),
                    record.officer.account_id.0,
                    record.officer.points,
                    withheld_text(record.officer.withheld),
                    record.established_at_ms,
                    cell_r7,
                    record.zip.as_deref(),
                    record.mode.as_str(),
                ),
                "connection",
            )
            .await?;
        if insert.applied {
            self.write_connection_facts(record).await?;
            return Ok(InsertConnectionOutcome::Inserted);
        }
        let Some(stored) = self.stored_connection(record.connection_id).await? else {
            return Err(corrupt("connection", "refused without a stored record"));
        };
        if !stored.facts_written {
            // Its writer may have stopped before the facts: finish them.
            self.write_connection_facts(&stored.record).await?;
        }
        Ok(InsertConnectionOutcome::Exists(Box::new(stored.record)))
    }

    async fn connection(&self, connection_id: Uuid) -> StoreResult<Option<ConnectionRecord>> {
        Ok(self
            .stored_connection(connection_id)
            .await?
            .map(|stored| stored.record))
    }

    async fn connections_of(
        &self,
        account_id: AccountId,
        before: Option<ConnectionCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        let mut page = Vec::new();
        if limit == 0 {
            return Ok(page);
        }
        let buckets_result = match before {
            Some(cursor) => {
                self.execute(
                    |connected| &connected.statements.select_connection_buckets_up_to,
                    (account_id.0, bucket_of(cursor.established_at_ms)),
                )
                .await?
            }
            None => {
                self.execute(
                    |connected| &connected.statements.select_connection_buckets,
                    (account_id.0,),
                )
                .await?
            }
        };
        for (bucket,) in rows::<(i64,)>(buckets_result, "connection bucket")? {
            let wanted = i32::try_from(limit - page.len()).unwrap_or(i32::MAX);
            let result = match before {
                Some(cursor) => {
                    self.execute(
                        |connected| &connected.statements.select_connections_by_account_before,
                        (
                            account_id.0,
                            bucket,
                            cursor.established_at_ms,
                            cursor.connection_id,
                            wanted,
                        ),
                    )
                    .await?
                }
                None => {
                    self.execute(
                        |connected| &connected.statements.select_connections_by_account,
                        (account_id.0, bucket, wanted),
                    )
                    .await?
                }
            };
            for (connection_id,) in rows::<(Uuid,)>(result, "connection index")? {
                if let Some(record) = self.connection(connection_id).await? {
                    page.push(record);
                }
            }
            if page.len() >= limit {
                break;
            }
        }
        page.truncate(limit);
        Ok(page)
    }

    async fn last_rewarded_pair_connection_ms(
        &self,
        first: AccountId,
        second: AccountId,
    ) -> StoreResult<Option<i64>> {
        let (first, second) = ordered_pair(first, second);
        let result = self
            .execute(
                |connected| &connected.statements.select_pair_reward,
                (first.0, second.0),
            )
            .await?;
        Ok(first_row::<(Option<i64>,)>(result, "pair reward")?.and_then(|(at_ms,)| at_ms))
    }

    async fn rewarded_connections_on_day(
        &self,
        account_id: AccountId,
        day: i64,
    ) -> StoreResult<u32> {
        let result = self
            .execute(
                |connected| &connected.statements.count_rewarded_on_day,
                (account_id.0, day),
            )
            .await?;
        let count = first_row::<(i64,)>(result, "rewarded count")?.map_or(0, |(count,)| count);
        u32::try_from(count).map_err(|error| corrupt("rewarded count", error))
    }

    async fn claim_daily_reward(
        &self,
        account_id: AccountId,
        day: i64,
        cap: u32,
        connection_id: Uuid,
    ) -> StoreResult<bool> {
        self.claim_day_slot(account_id, day, cap, connection_id)
            .await
    }

    async fn claim_pair_reward(&self, claim: &PairRewardClaim) -> StoreResult<bool> {
        self.claim_pair(claim).await
    }

    async fn release_pair_reward(
        &self,
        first: AccountId,
        second: AccountId,
        connection_id: Uuid,
    ) -> StoreResult<()> {
        self.release_pair(first, second, connection_id).await
    }

    async fn incomplete_connections(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        self.list_incomplete(now_ms, limit).await
    }

    async fn complete_connection(&self, record: &ConnectionRecord) -> StoreResult<()> {
        self.delete_incomplete_mark(record).await
    }
}
