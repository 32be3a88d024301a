//! [`TrophyStore`] on redb: awards by (account, trophy), inserted if absent
//! with their `trophy.awarded` outbox delivery in the same transaction,
//! and each person's trophy marks by (account, kind, value), read by one range
//! scan of the person's prefix and changed in one write transaction.

use async_trait::async_trait;
use redb::ReadableTable;

use super::EmbeddedStore;
use super::codec::{decode, encode, redb_error};
use super::outbox::write_outbox_message;
use super::tables::{TROPHIES, TROPHY_MARKS, UUID_BYTES, trophy_key, trophy_mark_key};
use crate::domain::AccountId;
use crate::domain::trophy_marks::{MarkChanges, TrophyMark};
use crate::outbox;
use crate::store::{AwardOutcome, StoreError, StoreResult, TrophyAward, TrophyStore};

#[async_trait]
impl TrophyStore for EmbeddedStore {
    async fn award_trophy(&self, award: &TrophyAward) -> StoreResult<AwardOutcome> {
        let key = trophy_key(award.account_id, award.trophy.as_str());
        let encoded = encode(award)?;
        let award = award.clone();
        self.write(move |transaction| {
            let mut trophies = transaction.open_table(TROPHIES).map_err(redb_error)?;
            if let Some(stored) = trophies.get(key.as_slice()).map_err(redb_error)? {
                return Ok(AwardOutcome::AlreadyHeld(decode(stored.value())?));
            }
            trophies
                .insert(key.as_slice(), encoded.as_slice())
                .map_err(redb_error)?;
            drop(trophies);
            write_outbox_message(transaction, outbox::message::trophy_awarded(&award))?;
            Ok(AwardOutcome::Awarded)
        })
        .await
    }

    async fn trophies_of(&self, account_id: AccountId) -> StoreResult<Vec<TrophyAward>> {
        let (start, end) = person_range(account_id);
        self.read(move |transaction| {
            let trophies = transaction.open_table(TROPHIES).map_err(redb_error)?;
            let mut awards: Vec<TrophyAward> = Vec::new();
            for row in trophies
                .range::<&[u8]>(start.as_slice()..end.as_slice())
                .map_err(redb_error)?
            {
                let (_key, value) = row.map_err(redb_error)?;
                awards.push(decode(value.value())?);
            }
            awards.sort_by_key(|award| (award.awarded_at_ms, award.trophy));
            Ok(awards)
        })
        .await
    }

    async fn trophy_marks(&self, account_id: AccountId) -> StoreResult<Vec<TrophyMark>> {
        let (start, end) = person_range(account_id);
        self.read(move |transaction| {
            let marks = transaction.open_table(TROPHY_MARKS).map_err(redb_error)?;
            let mut found = Vec::new();
            for row in marks
                .range::<&[u8]>(start.as_slice()..end.as_slice())
                .map_err(redb_error)?
            {
                let (key, _) = row.map_err(redb_error)?;
                found.push(mark_from_key(key.value())?);
            }
            Ok(found)
        })
        .await
    }

    async fn change_trophy_marks(
        &self,
        account_id: AccountId,
        changes: &MarkChanges,
    ) -> StoreResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let added: Vec<Vec<u8>> = changes
            .add
            .iter()
            .map(|mark| trophy_mark_key(account_id, mark))
            .collect();
        let forgotten: Vec<Vec<u8>> = changes
            .forget
            .iter()
            .map(|mark| trophy_mark_key(account_id, mark))
            .collect();
        self.write(move |transaction| {
            let mut marks = transaction.open_table(TROPHY_MARKS).map_err(redb_error)?;
            for key in &added {
                marks.insert(key.as_slice(), ()).map_err(redb_error)?;
            }
            for key in &forgotten {
                marks.remove(key.as_slice()).map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }
}

/// The key range of every row of one person in a table keyed by account id
/// followed by text.
fn person_range(account_id: AccountId) -> (Vec<u8>, Vec<u8>) {
    let start = account_id.0.as_bytes().to_vec();
    let mut end = start.clone();
    end.push(0xff);
    (start, end)
}

/// The mark a `trophy_marks` key holds: account id, kind, a zero byte, value.
fn mark_from_key(key: &[u8]) -> StoreResult<TrophyMark> {
    let corrupt = || StoreError::Corrupt("trophy mark: unreadable key".to_owned());
    let text =
        std::str::from_utf8(key.get(UUID_BYTES..).ok_or_else(corrupt)?).map_err(|_| corrupt())?;
    let (kind, value) = text.split_once('\0').ok_or_else(corrupt)?;
    TrophyMark::from_stored(kind, value).ok_or_else(corrupt)
}
