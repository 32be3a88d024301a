//! [`PledgeStore`] on CQL:
//!
//! * `donations`, one row per (account, idempotency key), written with
//!   `IF NOT EXISTS` and moved with `IF status = 'started' AND attempt = ?`,
//!   the record whole in a blob beside the two tested columns (as
//!   `redemptions`);
//! * `started_donations`, in the same number of shards as started
//!   redemptions, written before the donation and removed once it finishes (a
//!   row whose donation is missing or finished is skipped and removed);
//! * `pledges`, one partition per (month, charity), one row per pledge by id;
//! * `statement_settlements` by month, written with `IF NOT EXISTS`.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, decode_record, encode_record, first_row, rows};
use super::redemptions::{STARTED_SHARDS, started_shard, to_int};
use crate::domain::AccountId;
use crate::domain::donation::Month;
use crate::store::{
    Donation, DonationStatus, InsertDonationOutcome, Pledge, PledgeStore, StatementSettlement,
    StoreResult,
};

impl ScyllaStore {
    /// Removes a donation from the started list.
    async fn unlist_started_donation(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.pledges.delete_started,
            (
                started_shard(account_id, idempotency_key),
                account_id.0,
                idempotency_key,
            ),
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl PledgeStore for ScyllaStore {
    async fn insert_donation(&self, donation: &Donation) -> StoreResult<InsertDonationOutcome> {
        let account_id = donation.account_id;
        let key = donation.idempotency_key.as_str();
        // Listed first, so a started donation is always listed.
        self.execute(
            |connected| &connected.statements.pledges.insert_started,
            (started_shard(account_id, key), account_id.0, key),
        )
        .await?;
        let inserted = self
            .execute_conditional(
                |connected| &connected.statements.pledges.insert_donation,
                (
                    account_id.0,
                    key,
                    donation.status.as_str(),
                    to_int(donation.attempt, "attempt")?,
                    encode_record(donation, "donation")?,
                ),
                "donation insert",
            )
            .await?;
        if inserted.applied {
            return Ok(InsertDonationOutcome::Inserted);
        }
        let existing = self
            .donation(account_id, key)
            .await?
            .ok_or_else(|| corrupt("donation", "the insert found a row the read cannot find"))?;
        Ok(InsertDonationOutcome::Exists(Box::new(existing)))
    }

    async fn donation(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Donation>> {
        let result = self
            .execute(
                |connected| &connected.statements.pledges.select_donation,
                (account_id.0, idempotency_key),
            )
            .await?;
        first_row::<(Option<Vec<u8>>,)>(result, "donation")?
            .and_then(|(record,)| record)
            .map(|record| decode_record(&record, "donation"))
            .transpose()
    }

    async fn update_donation(
        &self,
        donation: &Donation,
        expected_attempt: u32,
    ) -> StoreResult<bool> {
        let account_id = donation.account_id;
        let key = donation.idempotency_key.as_str();
        let updated = self
            .execute_conditional(
                |connected| &connected.statements.pledges.update_donation,
                (
                    donation.status.as_str(),
                    to_int(donation.attempt, "attempt")?,
                    encode_record(donation, "donation")?,
                    account_id.0,
                    key,
                    to_int(expected_attempt, "attempt")?,
                ),
                "donation update",
            )
            .await?;
        if updated.applied && donation.status != DonationStatus::Started {
            self.unlist_started_donation(account_id, key).await?;
        }
        Ok(updated.applied)
    }

    async fn started_donations(&self, limit: usize) -> StoreResult<Vec<Donation>> {
        let wanted = i32::try_from(limit).unwrap_or(i32::MAX);
        let mut found = Vec::new();
        for shard in 0..STARTED_SHARDS {
            if found.len() >= limit {
                break;
            }
            let result = self
                .execute(
                    |connected| &connected.statements.pledges.select_started,
                    (i32::from(shard), wanted),
                )
                .await?;
            for (account_id, key) in rows::<(Uuid, String)>(result, "started donation")? {
                let account_id = AccountId(account_id);
                match self.donation(account_id, &key).await? {
                    Some(donation) if donation.status == DonationStatus::Started => {
                        found.push(donation);
                    }
                    // Finished, or its insert never landed: the row is stale.
                    Some(_) | None => self.unlist_started_donation(account_id, &key).await?,
                }
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    async fn put_pledge(&self, pledge: &Pledge) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.pledges.insert_pledge,
            (
                pledge.month.to_string(),
                pledge.charity_id,
                pledge.pledge_id,
                encode_record(pledge, "pledge")?,
            ),
        )
        .await?;
        Ok(())
    }

    async fn remove_pledge(
        &self,
        month: Month,
        charity_id: Uuid,
        pledge_id: Uuid,
    ) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.pledges.delete_pledge,
            (month.to_string(), charity_id, pledge_id),
        )
        .await?;
        Ok(())
    }

    async fn pledges(
        &self,
        month: Month,
        charity_id: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Pledge>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let wanted = i32::try_from(limit).unwrap_or(i32::MAX);
        let month_text = month.to_string();
        let result = match after {
            Some(after) => {
                self.execute(
                    |connected| &connected.statements.pledges.select_pledges_after,
                    (month_text, charity_id, after, wanted),
                )
                .await?
            }
            None => {
                self.execute(
                    |connected| &connected.statements.pledges.select_pledges,
                    (month_text, charity_id, wanted),
                )
                .await?
            }
        };
        rows::<(Option<Vec<u8>>,)>(result, "pledge")?
            .into_iter()
            .filter_map(|(record,)| record)
            .map(|record| decode_record(&record, "pledge"))
            .collect()
    }

    async fn settle_statement(
        &self,
        settlement: &StatementSettlement,
    ) -> StoreResult<StatementSettlement> {
        let inserted = self
            .execute_conditional(
                |connected| &connected.statements.pledges.insert_settlement,
                (
                    settlement.month.to_string(),
                    encode_record(settlement, "statement settlement")?,
                ),
                "statement settlement",
            )
            .await?;
        if inserted.applied {
            return Ok(settlement.clone());
        }
        self.statement_settlement(settlement.month)
            .await?
            .ok_or_else(|| {
                corrupt(
                    "statement settlement",
                    "the insert found a row the read cannot find",
                )
            })
    }

    async fn statement_settlement(&self, month: Month) -> StoreResult<Option<StatementSettlement>> {
        let result = self
            .execute(
                |connected| &connected.statements.pledges.select_settlement,
                (month.to_string(),),
            )
            .await?;
        first_row::<(Option<Vec<u8>>,)>(result, "statement settlement")?
            .and_then(|(record,)| record)
            .map(|record| decode_record(&record, "statement settlement"))
            .transpose()
    }
}
