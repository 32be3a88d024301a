//! [`PledgeStore`] on redb. Every conditional write reads and writes in one
//! write transaction: a donation and its started mark together, a settlement
//! after finding none, a completed donation, its `donation.made` outbox
//! delivery and its report facts together.

use async_trait::async_trait;
use redb::ReadableTable;
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{decode, encode, redb_error};
use super::outbox::write_outbox_message;
use super::reports::add_facts_kept;
use super::tables::{
    DONATIONS, PLEDGES, PledgeKey, STARTED_DONATIONS, STATEMENT_SETTLEMENTS, pledge_key,
    redemption_key,
};
use crate::domain::AccountId;
use crate::domain::donation::Month;
use crate::store::report_facts::donation_facts;
use crate::store::{
    Donation, DonationStatus, InsertDonationOutcome, Pledge, PledgeStore, StatementSettlement,
    StoreResult,
};

#[async_trait]
impl PledgeStore for EmbeddedStore {
    async fn insert_donation(&self, donation: &Donation) -> StoreResult<InsertDonationOutcome> {
        // Same layout as a redemption's key: account id, then the client's key.
        let key = redemption_key(donation.account_id, &donation.idempotency_key);
        let encoded = encode(donation)?;
        self.write(move |transaction| {
            let mut donations = transaction.open_table(DONATIONS).map_err(redb_error)?;
            if let Some(stored) = donations.get(key.as_slice()).map_err(redb_error)? {
                let existing: Donation = decode(stored.value())?;
                return Ok(InsertDonationOutcome::Exists(Box::new(existing)));
            }
            donations
                .insert(key.as_slice(), encoded.as_slice())
                .map_err(redb_error)?;
            let mut started = transaction
                .open_table(STARTED_DONATIONS)
                .map_err(redb_error)?;
            started.insert(key.as_slice(), ()).map_err(redb_error)?;
            Ok(InsertDonationOutcome::Inserted)
        })
        .await
    }

    async fn donation(
        &self,
        account_id: AccountId,
        idempotency_key: &str,
    ) -> StoreResult<Option<Donation>> {
        let key = redemption_key(account_id, idempotency_key);
        self.read(move |transaction| {
            let donations = transaction.open_table(DONATIONS).map_err(redb_error)?;
            let stored = donations.get(key.as_slice()).map_err(redb_error)?;
            stored.map(|stored| decode(stored.value())).transpose()
        })
        .await
    }

    async fn update_donation(
        &self,
        donation: &Donation,
        expected_attempt: u32,
    ) -> StoreResult<bool> {
        let key = redemption_key(donation.account_id, &donation.idempotency_key);
        let encoded = encode(donation)?;
        let finished = donation.status != DonationStatus::Started;
        let message = (donation.status == DonationStatus::Completed)
            .then(|| crate::outbox::message::donation_made(donation));
        let facts = donation_facts(donation);
        let upkeep = self.report_upkeep;
        self.write(move |transaction| {
            let mut donations = transaction.open_table(DONATIONS).map_err(redb_error)?;
            let stored: Option<Donation> =
                match donations.get(key.as_slice()).map_err(redb_error)? {
                    Some(stored) => Some(decode(stored.value())?),
                    None => None,
                };
            let applies = stored.is_some_and(|stored| {
                stored.status == DonationStatus::Started && stored.attempt == expected_attempt
            });
            if !applies {
                return Ok(false);
            }
            donations
                .insert(key.as_slice(), encoded.as_slice())
                .map_err(redb_error)?;
            if finished {
                let mut started = transaction
                    .open_table(STARTED_DONATIONS)
                    .map_err(redb_error)?;
                started.remove(key.as_slice()).map_err(redb_error)?;
            }
            if let Some(message) = message.clone() {
                write_outbox_message(transaction, message)?;
            }
            add_facts_kept(transaction, &facts, upkeep)?;
            Ok(true)
        })
        .await
    }

    async fn started_donations(&self, _now_ms: i64, limit: usize) -> StoreResult<Vec<Donation>> {
        self.read(move |transaction| {
            let started = transaction
                .open_table(STARTED_DONATIONS)
                .map_err(redb_error)?;
            let donations = transaction.open_table(DONATIONS).map_err(redb_error)?;
            let mut found = Vec::new();
            for row in started.iter().map_err(redb_error)?.take(limit) {
                let (key, _no_value) = row.map_err(redb_error)?;
                if let Some(stored) = donations.get(key.value()).map_err(redb_error)? {
                    found.push(decode(stored.value())?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn put_pledge(&self, pledge: &Pledge) -> StoreResult<()> {
        let key = pledge_key(pledge.month.index(), pledge.charity_id, pledge.pledge_id);
        let encoded = encode(pledge)?;
        self.write(move |transaction| {
            let mut pledges = transaction.open_table(PLEDGES).map_err(redb_error)?;
            pledges
                .insert(&key, encoded.as_slice())
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn remove_pledge(
        &self,
        month: Month,
        charity_id: Uuid,
        pledge_id: Uuid,
    ) -> StoreResult<()> {
        let key = pledge_key(month.index(), charity_id, pledge_id);
        self.write(move |transaction| {
            let mut pledges = transaction.open_table(PLEDGES).map_err(redb_error)?;
            pledges.remove(&key).map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn pledges(
        &self,
        month: Month,
        charity_id: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Pledge>> {
        let last = pledge_key(month.index(), charity_id, Uuid::max());
        let start = after.map(|after| pledge_key(month.index(), charity_id, after));
        let first = pledge_key(month.index(), charity_id, Uuid::nil());
        self.read(move |transaction| {
            let pledges = transaction.open_table(PLEDGES).map_err(redb_error)?;
            let rows = match &start {
                Some(start) => pledges.range::<&PledgeKey>((
                    std::ops::Bound::Excluded(start),
                    std::ops::Bound::Included(&last),
                )),
                None => pledges.range::<&PledgeKey>(&first..=&last),
            }
            .map_err(redb_error)?;
            let mut page = Vec::new();
            for row in rows.take(limit) {
                let (_key, value) = row.map_err(redb_error)?;
                page.push(decode(value.value())?);
            }
            Ok(page)
        })
        .await
    }

    async fn settle_statement(
        &self,
        settlement: &StatementSettlement,
    ) -> StoreResult<StatementSettlement> {
        let settlement = settlement.clone();
        let encoded = encode(&settlement)?;
        self.write(move |transaction| {
            let mut settlements = transaction
                .open_table(STATEMENT_SETTLEMENTS)
                .map_err(redb_error)?;
            let month = settlement.month.index();
            if let Some(stored) = settlements.get(month).map_err(redb_error)? {
                return decode(stored.value());
            }
            settlements
                .insert(month, encoded.as_slice())
                .map_err(redb_error)?;
            Ok(settlement.clone())
        })
        .await
    }

    async fn statement_settlement(&self, month: Month) -> StoreResult<Option<StatementSettlement>> {
        self.read(move |transaction| {
            let settlements = transaction
                .open_table(STATEMENT_SETTLEMENTS)
                .map_err(redb_error)?;
            let stored = settlements.get(month.index()).map_err(redb_error)?;
            stored.map(|stored| decode(stored.value())).transpose()
        })
        .await
    }
}
