//! [`ProfileStore`] on redb: each account's event log under (account id,
//! big-endian seq) keys, so a reverse range scan pages newest first, and the
//! folded profile views by account id.

use async_trait::async_trait;
use redb::ReadableTable;

use super::EmbeddedStore;
use super::codec::{decode, encode, get_record, redb_error};
use super::tables::{PROFILE_EVENTS, PROFILES, ProfileEventKey, profile_event_key};
use crate::domain::AccountId;
use crate::domain::profile::{Profile, ProfileEvent};
use crate::store::{AppendOutcome, ProfileStore, StoreResult};

#[async_trait]
impl ProfileStore for EmbeddedStore {
    async fn append_profile_event(&self, event: &ProfileEvent) -> StoreResult<AppendOutcome> {
        let key = profile_event_key(event.account_id, event.seq);
        let encoded = encode(event)?;
        self.write(move |transaction| {
            let mut events = transaction.open_table(PROFILE_EVENTS).map_err(redb_error)?;
            if events.get(&key).map_err(redb_error)?.is_some() {
                return Ok(AppendOutcome::SeqTaken);
            }
            events
                .insert(&key, encoded.as_slice())
                .map_err(redb_error)?;
            Ok(AppendOutcome::Appended)
        })
        .await
    }

    async fn profile_events(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<ProfileEvent>> {
        let first = profile_event_key(account_id, 0);
        self.read(move |transaction| {
            let events = transaction.open_table(PROFILE_EVENTS).map_err(redb_error)?;
            let newest_first = match before_seq {
                Some(before_seq) => {
                    let end = profile_event_key(account_id, before_seq);
                    events
                        .range::<&ProfileEventKey>(&first..&end)
                        .map_err(redb_error)?
                        .rev()
                }
                None => {
                    let last = profile_event_key(account_id, u64::MAX);
                    events
                        .range::<&ProfileEventKey>(&first..=&last)
                        .map_err(redb_error)?
                        .rev()
                }
            };
            newest_first
                .take(limit)
                .map(|stored| {
                    let (_key, event) = stored.map_err(redb_error)?;
                    decode(event.value())
                })
                .collect()
        })
        .await
    }

    async fn profile(&self, account_id: AccountId) -> StoreResult<Option<Profile>> {
        self.read(move |transaction| {
            let profiles = transaction.open_table(PROFILES).map_err(redb_error)?;
            get_record(&profiles, account_id.0.as_bytes())
        })
        .await
    }

    async fn replace_profile_event(&self, event: &ProfileEvent) -> StoreResult<()> {
        let key = profile_event_key(event.account_id, event.seq);
        let encoded = encode(event)?;
        self.write(move |transaction| {
            let mut events = transaction.open_table(PROFILE_EVENTS).map_err(redb_error)?;
            if events.get(&key).map_err(redb_error)?.is_some() {
                events
                    .insert(&key, encoded.as_slice())
                    .map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn put_profile(&self, profile: &Profile) -> StoreResult<()> {
        let account_id = profile.account_id;
        let version = profile.version;
        let encoded = encode(profile)?;
        self.write(move |transaction| {
            let mut profiles = transaction.open_table(PROFILES).map_err(redb_error)?;
            let stored: Option<Profile> = get_record(&profiles, account_id.0.as_bytes())?;
            if stored.is_some_and(|newer| newer.version > version) {
                return Ok(());
            }
            profiles
                .insert(account_id.0.as_bytes(), encoded.as_slice())
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }
}
