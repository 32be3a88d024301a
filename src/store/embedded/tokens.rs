//! [`TokenStore`] on redb: token families with a per-account index, and tokens
//! under the hash of their secret. The hourly purge deletes expired tokens,
//! then the families no token is left of (and their index rows), so an
//! account's family list holds only sign-ins that can still be used.

use std::collections::HashSet;

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{decode, encode, get_record, redb_error};
use super::expiry;
use super::tables::{
    ACCOUNTS, FAMILIES_BY_ACCOUNT, FamilyIndexKey, TOKEN_FAMILIES, TOKENS, family_id_of,
    family_index_key,
};
use crate::domain::AccountId;
use crate::store::{
    AccessGrant, RefreshConsumption, SecretHash, StoreError, StoreResult, TokenFamily, TokenKind,
    TokenRecord, TokenStore,
};

/// How long a new family is kept without tokens (a day): it is written just
/// before its first tokens.
const NEW_FAMILY_GRACE_MS: i64 = 86_400_000;

#[async_trait]
impl TokenStore for EmbeddedStore {
    async fn insert_token_family(
        &self,
        family: &TokenFamily,
        _live_until_ms: i64,
    ) -> StoreResult<()> {
        // A family lives here while a token of it does (see the purge), so
        // the time it must live until is not stored.
        let family = family.clone();
        let family_id = family.family_id;
        let index_key = family_index_key(family.account_id, family_id);
        self.write(move |transaction| {
            let mut families = transaction.open_table(TOKEN_FAMILIES).map_err(redb_error)?;
            let mut index = transaction
                .open_table(FAMILIES_BY_ACCOUNT)
                .map_err(redb_error)?;
            let stored: Option<TokenFamily> = get_record(&families, family_id.as_bytes())?;
            let revoked_at_ms = stored
                .and_then(|stored| stored.revoked_at_ms)
                .or(family.revoked_at_ms);
            let written = TokenFamily {
                revoked_at_ms,
                ..family
            };
            families
                .insert(family_id.as_bytes(), encode(&written)?.as_slice())
                .map_err(redb_error)?;
            index.insert(&index_key, ()).map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn token_family(&self, family_id: Uuid) -> StoreResult<Option<TokenFamily>> {
        self.read(move |transaction| {
            let families = transaction.open_table(TOKEN_FAMILIES).map_err(redb_error)?;
            get_record(&families, family_id.as_bytes())
        })
        .await
    }

    async fn revoke_token_family(&self, family_id: Uuid, at_ms: i64) -> StoreResult<()> {
        self.write(move |transaction| {
            let mut families = transaction.open_table(TOKEN_FAMILIES).map_err(redb_error)?;
            let Some(mut family): Option<TokenFamily> =
                get_record(&families, family_id.as_bytes())?
            else {
                return Ok(());
            };
            if family.revoked_at_ms.is_some() {
                return Ok(());
            }
            family.revoked_at_ms = Some(at_ms);
            families
                .insert(family_id.as_bytes(), encode(&family)?.as_slice())
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn token_families_of(&self, account_id: AccountId) -> StoreResult<Vec<TokenFamily>> {
        self.read(move |transaction| {
            let index = transaction
                .open_table(FAMILIES_BY_ACCOUNT)
                .map_err(redb_error)?;
            let families = transaction.open_table(TOKEN_FAMILIES).map_err(redb_error)?;
            let first = family_index_key(account_id, Uuid::nil());
            let last = family_index_key(account_id, Uuid::max());
            let mut found = Vec::new();
            for indexed in index
                .range::<&FamilyIndexKey>(&first..=&last)
                .map_err(redb_error)?
            {
                let (key, _no_value) = indexed.map_err(redb_error)?;
                let family_id = family_id_of(key.value());
                let family = get_record(&families, family_id.as_bytes())?.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "family index names token family {family_id}, which is not stored"
                    ))
                })?;
                found.push(family);
            }
            Ok(found)
        })
        .await
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let encoded = encode(token)?;
        let token_hash = token.token_hash;
        self.write(move |transaction| {
            let mut tokens = transaction.open_table(TOKENS).map_err(redb_error)?;
            tokens
                .insert(&token_hash.0, encoded.as_slice())
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn token(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        let hash = *hash;
        self.read(move |transaction| {
            let tokens = transaction.open_table(TOKENS).map_err(redb_error)?;
            get_record(&tokens, &hash.0)
        })
        .await
    }

    async fn consume_refresh_token(
        &self,
        hash: &SecretHash,
        at_ms: i64,
    ) -> StoreResult<RefreshConsumption> {
        let hash = *hash;
        self.write(move |transaction| {
            let mut tokens = transaction.open_table(TOKENS).map_err(redb_error)?;
            let Some(token): Option<TokenRecord> = get_record(&tokens, &hash.0)? else {
                return Ok(RefreshConsumption::Unknown);
            };
            match token.kind {
                TokenKind::Refresh => {}
                TokenKind::Access => return Ok(RefreshConsumption::Unknown),
            }
            if token.consumed_at_ms.is_some() {
                return Ok(RefreshConsumption::AlreadyConsumed(token));
            }
            let consumed = TokenRecord {
                consumed_at_ms: Some(at_ms),
                ..token.clone()
            };
            tokens
                .insert(&hash.0, encode(&consumed)?.as_slice())
                .map_err(redb_error)?;
            Ok(RefreshConsumption::Consumed(token))
        })
        .await
    }

    /// Deletes tokens that expire at or before `now_ms`, returning how many,
    /// then the families no token is left of. Expired tokens are harmless
    /// (readers check expiry); this only reclaims space. Then removes the
    /// other rows past their life (`expiry`), a batch per transaction.
    async fn purge_expired_tokens(&self, now_ms: i64) -> StoreResult<u64> {
        loop {
            let due = self
                .write(move |transaction| expiry::sweep_due(transaction, now_ms))
                .await?;
            if due < expiry::SWEEP_BATCH {
                break;
            }
        }
        self.write(move |transaction| {
            let mut tokens = transaction.open_table(TOKENS).map_err(redb_error)?;
            let mut undecodable = None;
            let mut removed: u64 = 0;
            let mut families_in_use = HashSet::new();
            tokens
                .retain(|_hash, bytes| match decode::<TokenRecord>(bytes) {
                    Ok(token) if token.expires_at_ms <= now_ms => {
                        removed += 1;
                        false
                    }
                    Ok(unexpired) => {
                        families_in_use.insert(unexpired.family_id);
                        true
                    }
                    Err(error) => {
                        undecodable.get_or_insert(error);
                        true
                    }
                })
                .map_err(redb_error)?;
            if let Some(error) = undecodable {
                return Err(error);
            }
            purge_unused_families(transaction, &families_in_use, now_ms)?;
            Ok(removed)
        })
        .await
    }
}

/// Deletes the families (and their index rows) that no token is left of,
/// except those created within [`NEW_FAMILY_GRACE_MS`], whose first tokens may
/// not be written yet.
fn purge_unused_families(
    transaction: &WriteTransaction,
    families_in_use: &HashSet<Uuid>,
    now_ms: i64,
) -> StoreResult<()> {
    let mut families = transaction.open_table(TOKEN_FAMILIES).map_err(redb_error)?;
    let mut index = transaction
        .open_table(FAMILIES_BY_ACCOUNT)
        .map_err(redb_error)?;
    let mut unused = Vec::new();
    for row in families.iter().map_err(redb_error)? {
        let (_key, bytes) = row.map_err(redb_error)?;
        let family: TokenFamily = decode(bytes.value())?;
        if !families_in_use.contains(&family.family_id)
            && family.created_at_ms < now_ms - NEW_FAMILY_GRACE_MS
        {
            unused.push(family);
        }
    }
    for family in unused {
        families
            .remove(family.family_id.as_bytes())
            .map_err(redb_error)?;
        index
            .remove(&family_index_key(family.account_id, family.family_id))
            .map_err(redb_error)?;
    }
    Ok(())
}

/// The token under `hash`, its family and its account, in one read transaction.
pub(super) fn read_access_grant(
    transaction: &ReadTransaction,
    hash: &SecretHash,
) -> StoreResult<Option<AccessGrant>> {
    let tokens = transaction.open_table(TOKENS).map_err(redb_error)?;
    let Some(token): Option<TokenRecord> = get_record(&tokens, &hash.0)? else {
        return Ok(None);
    };
    let families = transaction.open_table(TOKEN_FAMILIES).map_err(redb_error)?;
    let accounts = transaction.open_table(ACCOUNTS).map_err(redb_error)?;
    Ok(Some(AccessGrant {
        family: get_record(&families, token.family_id.as_bytes())?,
        account: get_record(&accounts, token.account_id.0.as_bytes())?,
        token,
    }))
}
