//! [`IssuerKeyStore`] on redb: keys by the hash of their secret, and an index
//! of each issuer's keys (issuer id, key id → hash) written in the same
//! transaction.

use async_trait::async_trait;
use redb::ReadableTable;
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{encode, get_record, redb_error};
use super::tables::{FamilyIndexKey, ISSUER_KEYS, ISSUER_KEYS_BY_ISSUER, issuer_key_index_key};
use crate::store::{IssuerKey, IssuerKeyStore, SecretHash, StoreResult};

#[async_trait]
impl IssuerKeyStore for EmbeddedStore {
    async fn insert_issuer_key(&self, key: &IssuerKey) -> StoreResult<()> {
        let key = key.clone();
        let encoded = encode(&key)?;
        self.write(move |transaction| {
            let mut keys = transaction.open_table(ISSUER_KEYS).map_err(redb_error)?;
            keys.insert(&key.secret_hash.0, encoded.as_slice())
                .map_err(redb_error)?;
            let mut index = transaction
                .open_table(ISSUER_KEYS_BY_ISSUER)
                .map_err(redb_error)?;
            index
                .insert(
                    &issuer_key_index_key(key.issuer_id, key.key_id),
                    &key.secret_hash.0,
                )
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn issuer_key_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<IssuerKey>> {
        let hash = *hash;
        self.read(move |transaction| {
            let keys = transaction.open_table(ISSUER_KEYS).map_err(redb_error)?;
            get_record(&keys, &hash.0)
        })
        .await
    }

    async fn issuer_keys_of(&self, issuer_id: Uuid) -> StoreResult<Vec<IssuerKey>> {
        self.read(move |transaction| {
            let index = transaction
                .open_table(ISSUER_KEYS_BY_ISSUER)
                .map_err(redb_error)?;
            let keys = transaction.open_table(ISSUER_KEYS).map_err(redb_error)?;
            let first = issuer_key_index_key(issuer_id, Uuid::nil());
            let last = issuer_key_index_key(issuer_id, Uuid::max());
            let mut found: Vec<IssuerKey> = Vec::new();
            for row in index
                .range::<&FamilyIndexKey>(&first..=&last)
                .map_err(redb_error)?
            {
                let (_key, hash) = row.map_err(redb_error)?;
                if let Some(key) = get_record(&keys, hash.value())? {
                    found.push(key);
                }
            }
            found.sort_by_key(|key| (key.created_at_ms, key.key_id));
            Ok(found)
        })
        .await
    }

    async fn revoke_issuer_key(
        &self,
        issuer_id: Uuid,
        key_id: Uuid,
        at_ms: i64,
    ) -> StoreResult<Option<IssuerKey>> {
        self.write(move |transaction| {
            let index = transaction
                .open_table(ISSUER_KEYS_BY_ISSUER)
                .map_err(redb_error)?;
            let Some(hash) = index
                .get(&issuer_key_index_key(issuer_id, key_id))
                .map_err(redb_error)?
                .map(|hash| *hash.value())
            else {
                return Ok(None);
            };
            let mut keys = transaction.open_table(ISSUER_KEYS).map_err(redb_error)?;
            let stored: Option<IssuerKey> = get_record(&keys, &hash)?;
            let Some(mut key) = stored else {
                return Ok(None);
            };
            if key.revoked_at_ms.is_none() {
                key.revoked_at_ms = Some(at_ms);
                keys.insert(&hash, encode(&key)?.as_slice())
                    .map_err(redb_error)?;
            }
            Ok(Some(key))
        })
        .await
    }
}
