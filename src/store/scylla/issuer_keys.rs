//! [`IssuerKeyStore`] on CQL: `issuer_keys` by the hash of the secret (the
//! key as a blob, its revocation time in a column set once by compare-and-set)
//! and `issuer_keys_by_issuer`, one partition per issuer. The list row is
//! written after the key, so a listed key always exists.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{decode_record, encode_record, first_row, rows};
use crate::store::{IssuerKey, IssuerKeyStore, SecretHash, StoreResult};

#[async_trait]
impl IssuerKeyStore for ScyllaStore {
    async fn insert_issuer_key(&self, key: &IssuerKey) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.vouchers.insert_issuer_key,
            (
                key.secret_hash.0.to_vec(),
                key.revoked_at_ms,
                encode_record(key, "issuer key")?,
            ),
        )
        .await?;
        self.execute(
            |connected| &connected.statements.vouchers.insert_issuer_key_by_issuer,
            (key.issuer_id, key.key_id, key.secret_hash.0.to_vec()),
        )
        .await?;
        Ok(())
    }

    async fn issuer_key_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<IssuerKey>> {
        let result = self
            .execute(
                |connected| &connected.statements.vouchers.select_issuer_key,
                (hash.0.to_vec(),),
            )
            .await?;
        let Some((revoked_at_ms, Some(record))) =
            first_row::<(Option<i64>, Option<Vec<u8>>)>(result, "issuer key")?
        else {
            return Ok(None);
        };
        let mut key: IssuerKey = decode_record(&record, "issuer key")?;
        key.revoked_at_ms = revoked_at_ms;
        Ok(Some(key))
    }

    async fn issuer_keys_of(&self, issuer_id: Uuid) -> StoreResult<Vec<IssuerKey>> {
        let result = self
            .execute(
                |connected| &connected.statements.vouchers.select_issuer_keys_by_issuer,
                (issuer_id,),
            )
            .await?;
        let mut keys = Vec::new();
        for (hash,) in rows::<(Vec<u8>,)>(result, "issuer key list")? {
            if let Some(key) = self.issuer_key_by_hash(&hash_of(&hash)?).await? {
                keys.push(key);
            }
        }
        keys.sort_by_key(|key| (key.created_at_ms, key.key_id));
        Ok(keys)
    }

    async fn revoke_issuer_key(
        &self,
        issuer_id: Uuid,
        key_id: Uuid,
        at_ms: i64,
    ) -> StoreResult<Option<IssuerKey>> {
        let result = self
            .execute(
                |connected| &connected.statements.vouchers.select_issuer_key_hash,
                (issuer_id, key_id),
            )
            .await?;
        let Some((hash,)) = first_row::<(Vec<u8>,)>(result, "issuer key list")? else {
            return Ok(None);
        };
        self.execute_conditional(
            |connected| &connected.statements.vouchers.revoke_issuer_key,
            (at_ms, hash.clone()),
            "issuer key revocation",
        )
        .await?;
        self.issuer_key_by_hash(&hash_of(&hash)?).await
    }
}

/// A stored key hash.
fn hash_of(bytes: &[u8]) -> StoreResult<SecretHash> {
    let hash: [u8; 32] = bytes
        .try_into()
        .map_err(|_| super::codec::corrupt("issuer key hash", "not 32 bytes"))?;
    Ok(SecretHash(hash))
}
