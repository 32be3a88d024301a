//! [`PledgeStore`] on CQL:
//!
//! * `donations`, one row per (account, idempotency key), written with
//!   `IF NOT EXISTS` and moved with `IF status = 'started' AND attempt = ?`,
//!   the record whole in a blob beside the two tested columns (as
//!   `redemptions`);
//! * the `started_donations` queue of `queued_by_time` (`time_queue`), under
//!   the request's time, written before the donation and removed once it
//!   finishes (an item whose donation is missing or finished is skipped and
//!   removed);
//! * `pledges`, one partition per (month, charity), one row per pledge by id;
//! * `statement_settlements` by month, written with `IF NOT EXISTS`;
//! * a completed donation's `donation.made` outbox delivery, written just
//!   before the update that completes it.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, decode_record, encode_record, first_row, rows};
use super::redemptions::to_int;
use super::time_queue::{Queue, bucket_of, request_item, request_of_item};
use crate::domain::AccountId;
use crate::domain::donation::Month;
use crate::store::report_facts::donation_facts;
use crate::store::{
    Donation, DonationStatus, InsertDonationOutcome, Pledge, PledgeStore, StatementSettlement,
    StoreResult,
};

#[async_trait]
impl PledgeStore for ScyllaStore {
    async fn insert_donation(&self, donation: &Donation) -> StoreResult<InsertDonationOutcome> {
        let account_id = donation.account_id;
        let key = donation.idempotency_key.as_str();
        // Listed first, so a started donation is always listed.
        self.enqueue(
            Queue::StartedDonations,
            donation.requested_at_ms,
            &request_item(account_id, key),
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
        if donation.status == DonationStatus::Completed {
            // Written first (IF NOT EXISTS), so a writer stopping between the
            // two leaves a delivery whose donation is still started: the
            // recovery pass finishes the donation, and the delivery is sent
            // only once its donation reads completed (it waits while started
            // and is cancelled if refused). The other order could lose it.
            self.write_outbox_message(crate::outbox::message::donation_made(donation))
                .await?;
        }
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
        if updated.applied {
            // The pledge of a completed donation (an idempotent upsert).
            self.write_report_facts(&donation_facts(donation)).await?;
        }
        if updated.applied && donation.status != DonationStatus::Started {
            self.dequeue(
                Queue::StartedDonations,
                bucket_of(donation.requested_at_ms),
                &request_item(account_id, key),
            )
            .await?;
        }
        Ok(updated.applied)
    }

    async fn started_donations(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Donation>> {
        let mut found = Vec::new();
        for queued in self.queued(Queue::StartedDonations, now_ms, limit).await? {
            let (account_id, key) = request_of_item(&queued.item)?;
            match self.donation(account_id, &key).await? {
                Some(donation) if donation.status == DonationStatus::Started => {
                    found.push(donation);
                }
                // Finished, or its insert never landed: the item is stale.
                Some(_) | None => {
                    self.dequeue(Queue::StartedDonations, queued.bucket, &queued.item)
                        .await?;
                }
            }
        }
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
