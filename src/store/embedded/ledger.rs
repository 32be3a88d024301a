//! [`LedgerStore`] on redb: entries under (account id, seq) keys, an id index
//! that makes appends idempotent, and a balance row written in the same
//! transaction as each entry, so the balance always equals the sum of entries.

use async_trait::async_trait;
use redb::ReadableTable;

use super::EmbeddedStore;
use super::codec::{decode, encode, get_record, redb_error};
use super::tables::{BALANCES, LEDGER, LEDGER_IDS, LedgerKey, ledger_key};
use crate::domain::AccountId;
use crate::store::report_facts::ledger_facts;
use crate::store::{LedgerAppend, LedgerEntry, LedgerStore, NewLedgerEntry, StoreResult};

#[async_trait]
impl LedgerStore for EmbeddedStore {
    async fn append_ledger_entry(&self, entry: &NewLedgerEntry) -> StoreResult<LedgerAppend> {
        let entry = entry.clone();
        let upkeep = self.report_upkeep;
        self.write(move |transaction| {
            let mut ids = transaction.open_table(LEDGER_IDS).map_err(redb_error)?;
            let mut ledger = transaction.open_table(LEDGER).map_err(redb_error)?;
            if let Some(existing_key) = ids.get(entry.entry_id.as_bytes()).map_err(redb_error)? {
                let existing_key = *existing_key.value();
                if let Some(existing) = get_record(&ledger, &existing_key)? {
                    return Ok(LedgerAppend::Duplicate(existing));
                }
            }
            let mut balances = transaction.open_table(BALANCES).map_err(redb_error)?;
            let account = *entry.account_id.0.as_bytes();
            let (balance, last_seq) = balances
                .get(&account)
                .map_err(redb_error)?
                .map_or((0, 0), |stored| stored.value());
            let balance_after = balance.saturating_add(entry.delta);
            if entry.delta < 0 && balance_after < 0 {
                return Ok(LedgerAppend::InsufficientBalance { balance });
            }
            let stored = LedgerEntry {
                entry_id: entry.entry_id,
                account_id: entry.account_id,
                seq: last_seq + 1,
                at_ms: entry.at_ms,
                delta: entry.delta,
                reason: entry.reason,
                reference: entry.reference,
                balance_after,
            };
            let key = ledger_key(entry.account_id, stored.seq);
            ledger
                .insert(&key, encode(&stored)?.as_slice())
                .map_err(redb_error)?;
            ids.insert(entry.entry_id.as_bytes(), &key)
                .map_err(redb_error)?;
            balances
                .insert(&account, (balance_after, stored.seq))
                .map_err(redb_error)?;
            drop((ledger, ids, balances));
            super::reports::add_facts_kept(transaction, &ledger_facts(&stored), upkeep)?;
            Ok(LedgerAppend::Appended(stored))
        })
        .await
    }

    async fn balance(&self, account_id: AccountId) -> StoreResult<i64> {
        self.read(move |transaction| {
            let balances = transaction.open_table(BALANCES).map_err(redb_error)?;
            Ok(balances
                .get(account_id.0.as_bytes())
                .map_err(redb_error)?
                .map_or(0, |stored| stored.value().0))
        })
        .await
    }

    async fn ledger_page(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<LedgerEntry>> {
        let first = ledger_key(account_id, 0);
        let end = ledger_key(account_id, before_seq.unwrap_or(u64::MAX));
        let end_inclusive = before_seq.is_none();
        self.read(move |transaction| {
            let ledger = transaction.open_table(LEDGER).map_err(redb_error)?;
            let rows = if end_inclusive {
                ledger.range::<&LedgerKey>(&first..=&end)
            } else {
                ledger.range::<&LedgerKey>(&first..&end)
            }
            .map_err(redb_error)?;
            rows.rev()
                .take(limit)
                .map(|row| {
                    let (_key, value) = row.map_err(redb_error)?;
                    decode(value.value())
                })
                .collect()
        })
        .await
    }
}
