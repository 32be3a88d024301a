//! [`AccountStore`] on redb: accounts by id, plus the phone index that makes
//! `create_account` conditional.

use async_trait::async_trait;
use redb::ReadableTable;

use super::EmbeddedStore;
use super::codec::{encode, get_record, redb_error};
use super::tables::{ACCOUNT_IDS_BY_PHONE, ACCOUNTS, UuidKey};
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
