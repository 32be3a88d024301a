//! [`OidcIdentityStore`] on redb: identities by key, plus an index by
//! account written in the same transaction, which makes a link conditional
//! and lets a deletion find an account's identities.

use async_trait::async_trait;
use redb::ReadableTable;

use super::EmbeddedStore;
use super::codec::{decode, encode, get_record, redb_error};
use super::tables::{OIDC_IDENTITIES, OIDC_IDENTITIES_BY_ACCOUNT};
use crate::domain::AccountId;
use crate::store::{
    IdentityKey, OidcIdentity, OidcIdentityStore, OidcLinkOutcome, StoreError, StoreResult,
};

fn account_key(account_id: AccountId, key: &IdentityKey) -> [u8; 48] {
    let mut index_key = [0_u8; 48];
    index_key[..16].copy_from_slice(account_id.0.as_bytes());
    index_key[16..].copy_from_slice(&key.0);
    index_key
}

#[async_trait]
impl OidcIdentityStore for EmbeddedStore {
    async fn link_oidc_identity(&self, identity: &OidcIdentity) -> StoreResult<OidcLinkOutcome> {
        let encoded = encode(identity)?;
        let key = identity.key;
        let account_id = identity.account_id;
        self.write(move |transaction| {
            let mut identities = transaction
                .open_table(OIDC_IDENTITIES)
                .map_err(redb_error)?;
            let held: Option<OidcIdentity> = get_record(&identities, &key.0)?;
            if let Some(held) = held
                && held.account_id != account_id
            {
                return Ok(OidcLinkOutcome::LinkedElsewhere(held.account_id));
            }
            identities
                .insert(&key.0, encoded.as_slice())
                .map_err(redb_error)?;
            let mut by_account = transaction
                .open_table(OIDC_IDENTITIES_BY_ACCOUNT)
                .map_err(redb_error)?;
            by_account
                .insert(&account_key(account_id, &key), ())
                .map_err(redb_error)?;
            Ok(OidcLinkOutcome::Linked)
        })
        .await
    }

    async fn oidc_identity(&self, key: &IdentityKey) -> StoreResult<Option<OidcIdentity>> {
        let key = *key;
        self.read(move |transaction| {
            let identities = transaction
                .open_table(OIDC_IDENTITIES)
                .map_err(redb_error)?;
            get_record(&identities, &key.0)
        })
        .await
    }

    async fn oidc_identities_of(&self, account_id: AccountId) -> StoreResult<Vec<OidcIdentity>> {
        self.read(move |transaction| {
            let by_account = transaction
                .open_table(OIDC_IDENTITIES_BY_ACCOUNT)
                .map_err(redb_error)?;
            let identities = transaction
                .open_table(OIDC_IDENTITIES)
                .map_err(redb_error)?;
            let start = account_key(account_id, &IdentityKey([0; 32]));
            let end = account_key(account_id, &IdentityKey([0xff; 32]));
            let mut found = Vec::new();
            for row in by_account
                .range::<&[u8; 48]>(&start..=&end)
                .map_err(redb_error)?
            {
                let (index_key, _) = row.map_err(redb_error)?;
                let mut key = [0_u8; 32];
                key.copy_from_slice(&index_key.value()[16..]);
                let Some(stored) = identities.get(&key).map_err(redb_error)? else {
                    return Err(StoreError::Corrupt(
                        "identity index names an identity that is not stored".to_owned(),
                    ));
                };
                found.push(decode(stored.value())?);
            }
            Ok(found)
        })
        .await
    }

    async fn remove_oidc_identities_of(&self, account_id: AccountId) -> StoreResult<()> {
        self.write(move |transaction| {
            let mut by_account = transaction
                .open_table(OIDC_IDENTITIES_BY_ACCOUNT)
                .map_err(redb_error)?;
            let mut identities = transaction
                .open_table(OIDC_IDENTITIES)
                .map_err(redb_error)?;
            let start = account_key(account_id, &IdentityKey([0; 32]));
            let end = account_key(account_id, &IdentityKey([0xff; 32]));
            let index_keys: Vec<[u8; 48]> = by_account
                .range::<&[u8; 48]>(&start..=&end)
                .map_err(redb_error)?
                .map(|row| row.map(|(index_key, _)| *index_key.value()))
                .collect::<Result<_, _>>()
                .map_err(redb_error)?;
            for index_key in index_keys {
                let mut key = [0_u8; 32];
                key.copy_from_slice(&index_key[16..]);
                identities.remove(&key).map_err(redb_error)?;
                by_account.remove(&index_key).map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }
}
