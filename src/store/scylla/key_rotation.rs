//! [`KeyRotationStore`] on CQL. Moving an account's phone is three writes in
//! an order that leaves every step safe to repeat: the index row under the
//! new key is claimed (`IF NOT EXISTS`, or already this account's), then the
//! account row takes the new key and seal, then the index row under the old
//! key is dropped if it still names the account. A crash in between leaves
//! both index rows naming the same account, which a later pass finishes.

use async_trait::async_trait;

use super::ScyllaStore;
use super::accounts::account_from_row;
use super::codec::{corrupt, hash32, rows};
use super::roster::RosterRow;
use crate::domain::AccountId;
use crate::store::{
    Account, AccountStore, KeyRotationStore, PhoneHash, RosterEntry, ScanPage, StoreResult,
};

#[async_trait]
impl KeyRotationStore for ScyllaStore {
    async fn scan_accounts(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<Account>> {
        let (result, next) = self
            .execute_page(
                |connected| &connected.statements.key_rotation.scan_accounts,
                (),
                cursor,
                limit,
            )
            .await?;
        let records = rows(result, "account")?
            .into_iter()
            .map(|row| account_from_row(row, None))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ScanPage { records, next })
    }

    async fn scan_roster(
        &self,
        cursor: Option<Vec<u8>>,
        limit: usize,
    ) -> StoreResult<ScanPage<RosterEntry>> {
        let (result, next) = self
            .execute_page(
                |connected| &connected.statements.key_rotation.scan_roster,
                (),
                cursor,
                limit,
            )
            .await?;
        let records = rows::<RosterRow>(result, "roster entry")?
            .into_iter()
            .map(
                |(phone_hash, phone_sealed, display_name, badge, department, updated_at_ms)| {
                    Ok(RosterEntry {
                        phone_hash: PhoneHash(hash32(phone_hash, "roster phone hash")?),
                        phone_sealed,
                        display_name,
                        badge,
                        department,
                        updated_at_ms,
                    })
                },
            )
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ScanPage { records, next })
    }

    async fn rekey_account_phone(
        &self,
        id: AccountId,
        from: PhoneHash,
        to: PhoneHash,
        sealed: Vec<u8>,
    ) -> StoreResult<bool> {
        let Some(account) = self.account(id).await? else {
            return Ok(false);
        };
        if account.phone_hash != from {
            return Ok(false);
        }
        let claim = self
            .execute_conditional(
                |connected| &connected.statements.claim_phone,
                (to.0.as_slice(), id.0),
                "phone claim",
            )
            .await?;
        if !claim.applied {
            let Some(holder) = claim.current_uuid("account_id") else {
                return Err(corrupt("phone claim", "refused without an owner"));
            };
            if holder != id.0 {
                return Ok(false);
            }
        }
        self.execute(
            |connected| &connected.statements.deletion.set_account_phone,
            (to.0.as_slice(), sealed.as_slice(), id.0),
        )
        .await?;
        self.execute_conditional(
            |connected| &connected.statements.deletion.release_phone,
            (from.0.as_slice(), id.0),
            "phone release",
        )
        .await?;
        Ok(true)
    }
}
