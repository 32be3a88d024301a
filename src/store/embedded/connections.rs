//! [`ConnectionStore`] on redb. Inserting a connection writes
//! the record, both people's index rows, the pair's last reward, both people's
//! daily counters, the incomplete mark and the outbox delivery of the
//! connection in one write transaction.

use async_trait::async_trait;
use redb::{ReadableTable, WriteTransaction};
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{decode, encode, get_record, redb_error};
use super::expiry::{self, Expiring};
use super::outbox::write_outbox_message;
use super::person_lists::newest_first;
use super::tables::{
    CONNECTIONS, CONNECTIONS_BY_ACCOUNT, DAILY_REWARDED, INCOMPLETE_CONNECTIONS,
    PAIR_LAST_REWARDED, PAIR_REWARD_CLAIMS, REWARD_DAY_SLOTS, connection_index_key, day_key,
    pair_key,
};
use crate::domain::AccountId;
use crate::domain::connection::utc_day;
use crate::outbox;
use crate::store::{
    ConnectionCursor, ConnectionRecord, ConnectionStore, InsertConnectionOutcome, PairRewardClaim,
    StoreResult,
};

/// The connection holding a pair's reward, and the holder it replaced.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(super) struct PairHolder {
    /// The holding connection.
    connection_id: Uuid,
    /// When it was established (Unix ms).
    pub(super) at_ms: i64,
    /// The holder before it (its id and time), restored by a release.
    previous: Option<(Uuid, i64)>,
}

#[async_trait]
impl ConnectionStore for EmbeddedStore {
    async fn insert_connection(
        &self,
        record: &ConnectionRecord,
    ) -> StoreResult<InsertConnectionOutcome> {
        let record = record.clone();
        let encoded = encode(&record)?;
        let upkeep = self.report_upkeep;
        self.write(move |transaction| {
            let mut connections = transaction.open_table(CONNECTIONS).map_err(redb_error)?;
            let id = *record.connection_id.as_bytes();
            if let Some(existing) = get_record::<16, ConnectionRecord>(&connections, &id)? {
                return Ok(InsertConnectionOutcome::Exists(Box::new(existing)));
            }
            connections
                .insert(&id, encoded.as_slice())
                .map_err(redb_error)?;
            drop(connections);
            write_connection_facts(transaction, &record)?;
            write_outbox_message(transaction, outbox::message::connection_completed(&record))?;
            super::reports::add_connection_facts(transaction, &record, upkeep)?;
            Ok(InsertConnectionOutcome::Inserted)
        })
        .await
    }

    async fn connection(&self, connection_id: Uuid) -> StoreResult<Option<ConnectionRecord>> {
        self.read(move |transaction| {
            let connections = transaction.open_table(CONNECTIONS).map_err(redb_error)?;
            get_record(&connections, connection_id.as_bytes())
        })
        .await
    }

    async fn connections_of(
        &self,
        account_id: AccountId,
        before: Option<ConnectionCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        let before = before.map(|cursor| (cursor.established_at_ms, cursor.connection_id));
        self.read(move |transaction| {
            newest_first(
                transaction,
                CONNECTIONS_BY_ACCOUNT,
                CONNECTIONS,
                account_id,
                before,
                limit,
            )
        })
        .await
    }

    async fn last_rewarded_pair_connection_ms(
        &self,
        first: AccountId,
        second: AccountId,
    ) -> StoreResult<Option<i64>> {
        let key = pair_key(first, second);
        self.read(move |transaction| {
            let pairs = transaction
                .open_table(PAIR_LAST_REWARDED)
                .map_err(redb_error)?;
            Ok(pairs
                .get(&key)
                .map_err(redb_error)?
                .map(|stored| stored.value()))
        })
        .await
    }

    async fn rewarded_connections_on_day(
        &self,
        account_id: AccountId,
        day: i64,
    ) -> StoreResult<u32> {
        let key = day_key(account_id, day);
        self.read(move |transaction| {
            let days = transaction.open_table(DAILY_REWARDED).map_err(redb_error)?;
            Ok(days
                .get(&key)
                .map_err(redb_error)?
                .map_or(0, |stored| stored.value()))
        })
        .await
    }

    async fn claim_daily_reward(
        &self,
        account_id: AccountId,
        day: i64,
        cap: u32,
        connection_id: Uuid,
    ) -> StoreResult<bool> {
        let key = day_key(account_id, day);
        self.write(move |transaction| {
            let mut days = transaction
                .open_table(REWARD_DAY_SLOTS)
                .map_err(redb_error)?;
            let mut holders: Vec<Uuid> = match days.get(&key).map_err(redb_error)? {
                Some(stored) => decode(stored.value())?,
                None => Vec::new(),
            };
            if holders.contains(&connection_id) {
                return Ok(true);
            }
            if holders.len() >= usize::try_from(cap).unwrap_or(usize::MAX) {
                return Ok(false);
            }
            holders.push(connection_id);
            days.insert(&key, encode(&holders)?.as_slice())
                .map_err(redb_error)?;
            expiry::file(
                transaction,
                Expiring::RewardDaySlots,
                &key,
                expiry::day_rows_expire_at_ms(day),
                0,
            )?;
            Ok(true)
        })
        .await
    }

    async fn claim_pair_reward(&self, claim: &PairRewardClaim) -> StoreResult<bool> {
        let claim = *claim;
        let key = pair_key(claim.first, claim.second);
        self.write(move |transaction| {
            let mut pairs = transaction
                .open_table(PAIR_REWARD_CLAIMS)
                .map_err(redb_error)?;
            let held: Option<PairHolder> = match pairs.get(&key).map_err(redb_error)? {
                Some(stored) => Some(decode(stored.value())?),
                None => None,
            };
            if let Some(held) = held {
                if held.connection_id == claim.connection_id {
                    return Ok(true);
                }
                if claim.at_ms - held.at_ms < claim.cooldown_ms {
                    return Ok(false);
                }
            }
            let holder = PairHolder {
                connection_id: claim.connection_id,
                at_ms: claim.at_ms,
                previous: held.map(|held| (held.connection_id, held.at_ms)),
            };
            pairs
                .insert(&key, encode(&holder)?.as_slice())
                .map_err(redb_error)?;
            expiry::file(
                transaction,
                Expiring::PairRewardClaims,
                &key,
                expiry::pair_claim_expires_at_ms(claim.at_ms, claim.cooldown_ms),
                claim.at_ms,
            )?;
            Ok(true)
        })
        .await
    }

    async fn release_pair_reward(
        &self,
        first: AccountId,
        second: AccountId,
        connection_id: Uuid,
    ) -> StoreResult<()> {
        let key = pair_key(first, second);
        self.write(move |transaction| {
            let mut pairs = transaction
                .open_table(PAIR_REWARD_CLAIMS)
                .map_err(redb_error)?;
            let held: PairHolder = match pairs.get(&key).map_err(redb_error)? {
                Some(stored) => decode(stored.value())?,
                None => return Ok(()),
            };
            if held.connection_id != connection_id {
                return Ok(());
            }
            match held.previous {
                Some((previous_id, previous_at_ms)) => {
                    let restored = PairHolder {
                        connection_id: previous_id,
                        at_ms: previous_at_ms,
                        previous: None,
                    };
                    pairs
                        .insert(&key, encode(&restored)?.as_slice())
                        .map_err(redb_error)?;
                }
                None => {
                    pairs.remove(&key).map_err(redb_error)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn incomplete_connections(
        &self,
        _now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        // redb deletes in place: the table holds the open marks and nothing
        // else, so the whole of it is read.
        self.read(move |transaction| {
            let incomplete = transaction
                .open_table(INCOMPLETE_CONNECTIONS)
                .map_err(redb_error)?;
            let connections = transaction.open_table(CONNECTIONS).map_err(redb_error)?;
            let mut records = Vec::new();
            for row in incomplete.iter().map_err(redb_error)?.take(limit) {
                let (key, _) = row.map_err(redb_error)?;
                if let Some(record) = get_record(&connections, key.value())? {
                    records.push(record);
                }
            }
            Ok(records)
        })
        .await
    }

    async fn complete_connection(&self, record: &ConnectionRecord) -> StoreResult<()> {
        let connection_id = record.connection_id;
        self.write(move |transaction| {
            let mut incomplete = transaction
                .open_table(INCOMPLETE_CONNECTIONS)
                .map_err(redb_error)?;
            incomplete
                .remove(connection_id.as_bytes())
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }
}

/// The index rows, reward counters and incomplete mark of a new record.
fn write_connection_facts(
    transaction: &WriteTransaction,
    record: &ConnectionRecord,
) -> StoreResult<()> {
    let mut index = transaction
        .open_table(CONNECTIONS_BY_ACCOUNT)
        .map_err(redb_error)?;
    let mut days = transaction.open_table(DAILY_REWARDED).map_err(redb_error)?;
    let day = utc_day(record.established_at_ms);
    for party in record.parties() {
        let key = connection_index_key(
            party.account_id,
            record.established_at_ms,
            record.connection_id,
        );
        index.insert(&key, ()).map_err(redb_error)?;
        if party.points > 0 {
            let key = day_key(party.account_id, day);
            let count = days
                .get(&key)
                .map_err(redb_error)?
                .map_or(0, |stored| stored.value());
            days.insert(&key, count.saturating_add(1))
                .map_err(redb_error)?;
            expiry::file(
                transaction,
                Expiring::DailyRewarded,
                &key,
                expiry::day_rows_expire_at_ms(day),
                0,
            )?;
        }
    }
    if record.parties().iter().any(|party| party.points > 0) {
        let mut pairs = transaction
            .open_table(PAIR_LAST_REWARDED)
            .map_err(redb_error)?;
        let key = pair_key(record.citizen.account_id, record.officer.account_id);
        let last = pairs
            .get(&key)
            .map_err(redb_error)?
            .map(|stored| stored.value());
        if last.is_none_or(|last| last < record.established_at_ms) {
            pairs
                .insert(&key, record.established_at_ms)
                .map_err(redb_error)?;
            expiry::file(
                transaction,
                Expiring::PairLastRewarded,
                &key,
                expiry::pair_last_rewarded_expires_at_ms(record.established_at_ms),
                record.established_at_ms,
            )?;
        }
    }
    let mut incomplete = transaction
        .open_table(INCOMPLETE_CONNECTIONS)
        .map_err(redb_error)?;
    incomplete
        .insert(record.connection_id.as_bytes(), ())
        .map_err(redb_error)?;
    Ok(())
}
