//! [`AccountStore`] on CQL: `accounts` by id, the `accounts_by_phone` index,
//! and `account_status` (disabled accounts), read with the account row.
//! A create writes the account row first, then claims the phone with
//! `IF NOT EXISTS`; the loser deletes its row, so every indexed account has its
//! row and a retried create of the same account counts as created.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, first_row, hash32, role_from_text, role_text, rows};
use crate::domain::{AccountId, Role};
use crate::store::{Account, AccountStore, CreateAccountOutcome, PhoneHash, StoreResult};

/// Columns of `SELECT ... FROM accounts`.
pub(super) type AccountRow = (Uuid, Vec<u8>, Vec<u8>, String, i64);

pub(super) fn account_from_row(
    row: AccountRow,
    disabled_at_ms: Option<i64>,
) -> StoreResult<Account> {
    let (account_id, phone_hash, phone_sealed, role, created_at_ms) = row;
    Ok(Account {
        id: AccountId(account_id),
        phone_hash: PhoneHash(hash32(phone_hash, "account phone hash")?),
        phone_sealed,
        role: role_from_text(&role)?,
        created_at_ms,
        disabled_at_ms,
    })
}

#[async_trait]
impl AccountStore for ScyllaStore {
    async fn create_account(&self, account: &Account) -> StoreResult<CreateAccountOutcome> {
        self.execute(
            |connected| &connected.statements.insert_account,
            (
                account.id.0,
                account.phone_hash.0.as_slice(),
                account.phone_sealed.as_slice(),
                role_text(account.role),
                account.created_at_ms,
            ),
        )
        .await?;
        let claim = self
            .execute_conditional(
                |connected| &connected.statements.claim_phone,
                (account.phone_hash.0.as_slice(), account.id.0),
                "phone claim",
            )
            .await?;
        if claim.applied {
            return Ok(CreateAccountOutcome::Created);
        }
        let Some(owner_id) = claim.current_uuid("account_id") else {
            return Err(corrupt("phone claim", "refused without an owner"));
        };
        if owner_id == account.id.0 {
            // An earlier attempt of this same create claimed the phone.
            return Ok(CreateAccountOutcome::Created);
        }
        self.execute(
            |connected| &connected.statements.delete_account,
            (account.id.0,),
        )
        .await?;
        match self.account(AccountId(owner_id)).await? {
            Some(owner) => Ok(CreateAccountOutcome::PhoneTaken(owner)),
            None => Err(corrupt(
                "phone index",
                format!("phone owner {owner_id} has no account row"),
            )),
        }
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        let (account, status) = tokio::try_join!(
            self.execute(|connected| &connected.statements.select_account, (id.0,)),
            self.execute(
                |connected| &connected.statements.select_account_status,
                (id.0,)
            )
        )?;
        let disabled_at_ms = first_row::<(Option<i64>,)>(status, "account status")?
            .and_then(|(disabled_at_ms,)| disabled_at_ms);
        first_row::<AccountRow>(account, "account")?
            .map(|row| account_from_row(row, disabled_at_ms))
            .transpose()
    }

    async fn account_by_phone(&self, phone: &PhoneHash) -> StoreResult<Option<Account>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_account_id_by_phone,
                (phone.0.as_slice(),),
            )
            .await?;
        let Some((account_id,)) = first_row::<(Uuid,)>(result, "phone index")? else {
            return Ok(None);
        };
        self.account(AccountId(account_id)).await
    }

    async fn set_account_role(&self, id: AccountId, role: Role) -> StoreResult<bool> {
        let update = self
            .execute_conditional(
                |connected| &connected.statements.update_account_role,
                (role_text(role), id.0),
                "role change",
            )
            .await?;
        Ok(update.applied)
    }

    async fn set_account_disabled(
        &self,
        id: AccountId,
        disabled_at_ms: Option<i64>,
    ) -> StoreResult<bool> {
        if self.account(id).await?.is_none() {
            return Ok(false);
        }
        self.execute(
            |connected| &connected.statements.upsert_account_status,
            (id.0, disabled_at_ms),
        )
        .await?;
        Ok(true)
    }

    async fn record_account_deletion(&self, id: AccountId, started_at_ms: i64) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.deletion.insert_deletion,
            (id.0, started_at_ms),
        )
        .await?;
        Ok(())
    }

    async fn account_deletions(&self, limit: usize) -> StoreResult<Vec<(AccountId, i64)>> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let result = self
            .execute(
                |connected| &connected.statements.deletion.select_deletions,
                (limit,),
            )
            .await?;
        Ok(rows::<(Uuid, i64)>(result, "account deletions")?
            .into_iter()
            .map(|(account_id, started_at_ms)| (AccountId(account_id), started_at_ms))
            .collect())
    }

    async fn erase_account_phone(&self, id: AccountId) -> StoreResult<bool> {
        let Some(account) = self.account(id).await? else {
            return Ok(false);
        };
        let phone = account.phone_hash;
        if phone.0 != [0; 32] {
            let released = self
                .execute_conditional(
                    |connected| &connected.statements.deletion.release_phone,
                    (phone.0.as_slice(), id.0),
                    "phone release",
                )
                .await?;
            if released.applied {
                self.execute(
                    |connected| &connected.statements.deletion.delete_otp_challenge,
                    (phone.0.as_slice(),),
                )
                .await?;
            }
        }
        self.execute(
            |connected| &connected.statements.deletion.set_account_phone,
            ([0_u8; 32].as_slice(), [0_u8; 0].as_slice(), id.0),
        )
        .await?;
        Ok(true)
    }

    async fn finish_account_deletion(&self, id: AccountId) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.deletion.delete_deletion,
            (id.0,),
        )
        .await?;
        Ok(())
    }
}
