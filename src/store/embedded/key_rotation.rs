//! [`KeyRotationStore`] on redb: accounts and the roster read in key order,
//! and an account's phone moved to its new lookup key in one write
//! transaction (the index entry under the new key, the account record, the
//! old index entry removed together).

use async_trait::async_trait;
use redb::ReadableTable;

use super::EmbeddedStore;
use super::codec::{encode, get_record, redb_error};
use super::report_scans::scan_fixed;
use super::tables::{ACCOUNT_IDS_BY_PHONE, ACCOUNTS, ROSTER};
use crate::domain::AccountId;
use crate::store::{Account, KeyRotationStore, PhoneHash, RosterEntry, ScanPage, StoreResult};

#[async_trait]
impl KeyRotationStore for EmbeddedStore {
    async fn scan_accounts(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Account>> {
        self.read(move |transaction| scan_fixed(transaction, ACCOUNTS, cursor, limit))
            .await
    }

    async fn scan_roster(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<RosterEntry>> {
        self.read(move |transaction| scan_fixed(transaction, ROSTER, cursor, limit))
            .await
    }

    async fn rekey_account_phone(
        &self,
        id: AccountId,
        from: PhoneHash,
        to: PhoneHash,
        sealed: Vec<u8>,
    ) -> StoreResult<bool> {
        self.write(move |transaction| {
            let mut accounts = transaction.open_table(ACCOUNTS).map_err(redb_error)?;
            let Some(mut account): Option<Account> = get_record(&accounts, id.0.as_bytes())? else {
                return Ok(false);
            };
            if account.phone_hash != from {
                return Ok(false);
            }
            let mut phone_index = transaction
                .open_table(ACCOUNT_IDS_BY_PHONE)
                .map_err(redb_error)?;
            let holder = phone_index
                .get(&to.0)
                .map_err(redb_error)?
                .map(|stored| *stored.value());
            if holder.is_some_and(|holder| holder != *id.0.as_bytes()) {
                return Ok(false);
            }
            phone_index
                .insert(&to.0, id.0.as_bytes())
                .map_err(redb_error)?;
            let old_holder = phone_index
                .get(&from.0)
                .map_err(redb_error)?
                .map(|stored| *stored.value());
            if old_holder == Some(*id.0.as_bytes()) {
                phone_index.remove(&from.0).map_err(redb_error)?;
            }
            account.phone_hash = to;
            account.phone_sealed = sealed.clone();
            accounts
                .insert(id.0.as_bytes(), encode(&account)?.as_slice())
                .map_err(redb_error)?;
            Ok(true)
        })
        .await
    }
}
