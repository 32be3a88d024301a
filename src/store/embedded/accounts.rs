//! [`AccountStore`] on redb: accounts by id, plus the phone index that makes
//! `create_account` conditional.

use async_trait::async_trait;
use redb::ReadableTable;

use super::EmbeddedStore;
use super::codec::{encode, get_record, redb_error};
use super::tables::{ACCOUNT_DELETIONS, ACCOUNT_IDS_BY_PHONE, ACCOUNTS, OTP_CHALLENGES, UuidKey};
use crate::domain::{AccountId, Role};
use crate::store::{
    Account, AccountStore, CreateAccountOutcome, PhoneHash, StoreError, StoreResult,
};

#[async_trait]
impl AccountStore for EmbeddedStore {
    async fn create_account(&self, account: &Account) -> StoreResult<CreateAccountOutcome> {
        let encoded = encode(account)?;
        let account_id = account.id;
        let phone = account.phone_hash;
        self.write(move |transaction| {
            let mut phone_index = transaction
                .open_table(ACCOUNT_IDS_BY_PHONE)
                .map_err(redb_error)?;
            let mut accounts = transaction.open_table(ACCOUNTS).map_err(redb_error)?;
            let taken_by = phone_index
                .get(&phone.0)
                .map_err(redb_error)?
                .map(|stored| *stored.value());
            if let Some(existing_id) = taken_by {
                return indexed_account(&accounts, &existing_id)
                    .map(CreateAccountOutcome::PhoneTaken);
            }
            phone_index
                .insert(&phone.0, account_id.0.as_bytes())
                .map_err(redb_error)?;
            accounts
                .insert(account_id.0.as_bytes(), encoded.as_slice())
                .map_err(redb_error)?;
            Ok(CreateAccountOutcome::Created)
        })
        .await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.read(move |transaction| {
            let accounts = transaction.open_table(ACCOUNTS).map_err(redb_error)?;
            get_record(&accounts, id.0.as_bytes())
        })
        .await
    }

    async fn account_by_phone(&self, phone: &PhoneHash) -> StoreResult<Option<Account>> {
        let phone = *phone;
        self.read(move |transaction| {
            let phone_index = transaction
                .open_table(ACCOUNT_IDS_BY_PHONE)
                .map_err(redb_error)?;
            let Some(stored) = phone_index.get(&phone.0).map_err(redb_error)? else {
                return Ok(None);
            };
            let accounts = transaction.open_table(ACCOUNTS).map_err(redb_error)?;
            indexed_account(&accounts, stored.value()).map(Some)
        })
        .await
    }

    async fn set_account_role(&self, id: AccountId, role: Role) -> StoreResult<bool> {
        self.update_account(id, move |account| account.role = role)
            .await
    }

    async fn set_account_disabled(
        &self,
        id: AccountId,
        disabled_at_ms: Option<i64>,
    ) -> StoreResult<bool> {
        self.update_account(id, move |account| account.disabled_at_ms = disabled_at_ms)
            .await
    }

    async fn record_account_deletion(&self, id: AccountId, started_at_ms: i64) -> StoreResult<()> {
        self.write(move |transaction| {
            let mut deletions = transaction
                .open_table(ACCOUNT_DELETIONS)
                .map_err(redb_error)?;
            if deletions
                .get(id.0.as_bytes())
                .map_err(redb_error)?
                .is_none()
            {
                deletions
                    .insert(id.0.as_bytes(), started_at_ms)
                    .map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn account_deletions(&self, limit: usize) -> StoreResult<Vec<(AccountId, i64)>> {
        self.read(move |transaction| {
            let deletions = transaction
                .open_table(ACCOUNT_DELETIONS)
                .map_err(redb_error)?;
            deletions
                .iter()
                .map_err(redb_error)?
                .take(limit)
                .map(|stored| {
                    let (key, started_at_ms) = stored.map_err(redb_error)?;
                    Ok((
                        AccountId(uuid::Uuid::from_bytes(*key.value())),
                        started_at_ms.value(),
                    ))
                })
                .collect()
        })
        .await
    }

    async fn erase_account_phone(&self, id: AccountId) -> StoreResult<bool> {
        self.write(move |transaction| {
            let mut accounts = transaction.open_table(ACCOUNTS).map_err(redb_error)?;
            let Some(mut account): Option<Account> = get_record(&accounts, id.0.as_bytes())? else {
                return Ok(false);
            };
            let phone = account.phone_hash;
            let mut phone_index = transaction
                .open_table(ACCOUNT_IDS_BY_PHONE)
                .map_err(redb_error)?;
            let names_this_account = phone_index
                .get(&phone.0)
                .map_err(redb_error)?
                .is_some_and(|stored| stored.value() == id.0.as_bytes());
            if names_this_account {
                phone_index.remove(&phone.0).map_err(redb_error)?;
                let mut challenges = transaction.open_table(OTP_CHALLENGES).map_err(redb_error)?;
                challenges.remove(&phone.0).map_err(redb_error)?;
            }
            account.phone_hash = PhoneHash([0; 32]);
            account.phone_sealed = Vec::new();
            accounts
                .insert(id.0.as_bytes(), encode(&account)?.as_slice())
                .map_err(redb_error)?;
            Ok(true)
        })
        .await
    }

    async fn finish_account_deletion(&self, id: AccountId) -> StoreResult<()> {
        self.write(move |transaction| {
            let mut deletions = transaction
                .open_table(ACCOUNT_DELETIONS)
                .map_err(redb_error)?;
            deletions.remove(id.0.as_bytes()).map_err(redb_error)?;
            Ok(())
        })
        .await
    }
}

impl EmbeddedStore {
    /// Applies `change` to a stored account in one write; false if there is none.
    async fn update_account(
        &self,
        id: AccountId,
        change: impl Fn(&mut Account) + Send + 'static,
    ) -> StoreResult<bool> {
        self.write(move |transaction| {
            let mut accounts = transaction.open_table(ACCOUNTS).map_err(redb_error)?;
            let Some(mut account): Option<Account> = get_record(&accounts, id.0.as_bytes())? else {
                return Ok(false);
            };
            change(&mut account);
            accounts
                .insert(id.0.as_bytes(), encode(&account)?.as_slice())
                .map_err(redb_error)?;
            Ok(true)
        })
        .await
    }
}

/// The account the phone index points at; a dangling index entry is corruption,
/// since both are written in one transaction.
fn indexed_account(
    accounts: &impl ReadableTable<&'static UuidKey, &'static [u8]>,
    account_id: &UuidKey,
) -> StoreResult<Account> {
    get_record(accounts, account_id)?.ok_or_else(|| {
        StoreError::Corrupt("phone index names an account that is not stored".to_owned())
    })
}
