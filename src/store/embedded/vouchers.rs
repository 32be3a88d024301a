//! [`VoucherStore`] on redb: vouchers by id, a per-person index by issue time
//! and an index of issued vouchers by expiry (both written in the voucher's
//! transaction), status changes checked and written in one transaction (a
//! voucher leaving `issued` leaves the expiry index in it; the report facts
//! of a voucher are added in both), and the pending-release marks.

use async_trait::async_trait;
use redb::ReadableTable;
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{encode, get_record, redb_error};
use super::person_lists::newest_first;
use super::reports::add_facts_kept;
use super::tables::{
    PENDING_RELEASES, TimeIdKey, VOUCHERS, VOUCHERS_BY_ACCOUNT, VOUCHERS_BY_EXPIRY,
    connection_index_key, id_of_time_id_key, time_id_key,
};
use crate::domain::AccountId;
use crate::domain::voucher::{Voucher, VoucherStatus};
use crate::store::report_facts::voucher_facts;
use crate::store::{PendingRelease, StoreResult, VoucherCursor, VoucherStore, VoucherTransition};

#[async_trait]
impl VoucherStore for EmbeddedStore {
    async fn insert_voucher(&self, voucher: &Voucher) -> StoreResult<Voucher> {
        let voucher = voucher.clone();
        let encoded = encode(&voucher)?;
        let upkeep = self.report_upkeep;
        self.write(move |transaction| {
            let mut vouchers = transaction.open_table(VOUCHERS).map_err(redb_error)?;
            if let Some(existing) = get_record(&vouchers, voucher.voucher_id.as_bytes())? {
                return Ok(existing);
            }
            vouchers
                .insert(voucher.voucher_id.as_bytes(), encoded.as_slice())
                .map_err(redb_error)?;
            let mut index = transaction
                .open_table(VOUCHERS_BY_ACCOUNT)
                .map_err(redb_error)?;
            let key =
                connection_index_key(voucher.account_id, voucher.issued_at_ms, voucher.voucher_id);
            index.insert(&key, ()).map_err(redb_error)?;
            if voucher.status == VoucherStatus::Issued {
                let mut by_expiry = transaction
                    .open_table(VOUCHERS_BY_EXPIRY)
                    .map_err(redb_error)?;
                by_expiry
                    .insert(&time_id_key(voucher.expires_at_ms, voucher.voucher_id), ())
                    .map_err(redb_error)?;
            }
            add_facts_kept(transaction, &voucher_facts(&voucher), upkeep)?;
            Ok(voucher.clone())
        })
        .await
    }

    async fn voucher(&self, voucher_id: Uuid) -> StoreResult<Option<Voucher>> {
        self.read(move |transaction| {
            let vouchers = transaction.open_table(VOUCHERS).map_err(redb_error)?;
            get_record(&vouchers, voucher_id.as_bytes())
        })
        .await
    }

    async fn vouchers_of(
        &self,
        account_id: AccountId,
        before: Option<VoucherCursor>,
        limit: usize,
    ) -> StoreResult<Vec<Voucher>> {
        let before = before.map(|cursor| (cursor.issued_at_ms, cursor.voucher_id));
        self.read(move |transaction| {
            newest_first(
                transaction,
                VOUCHERS_BY_ACCOUNT,
                VOUCHERS,
                account_id,
                before,
                limit,
            )
        })
        .await
    }

    async fn transition_voucher(
        &self,
        voucher_id: Uuid,
        from: VoucherStatus,
        to: VoucherStatus,
        at_ms: i64,
    ) -> StoreResult<VoucherTransition> {
        let upkeep = self.report_upkeep;
        self.write(move |transaction| {
            let mut vouchers = transaction.open_table(VOUCHERS).map_err(redb_error)?;
            let stored: Option<Voucher> = get_record(&vouchers, voucher_id.as_bytes())?;
            let Some(mut voucher) = stored else {
                return Ok(VoucherTransition::Refused(None));
            };
            if voucher.status != from {
                return Ok(VoucherTransition::Refused(Some(voucher)));
            }
            voucher.status = to;
            voucher.status_changed_at_ms = Some(at_ms);
            vouchers
                .insert(voucher_id.as_bytes(), encode(&voucher)?.as_slice())
                .map_err(redb_error)?;
            if from == VoucherStatus::Issued {
                let mut by_expiry = transaction
                    .open_table(VOUCHERS_BY_EXPIRY)
                    .map_err(redb_error)?;
                by_expiry
                    .remove(&time_id_key(voucher.expires_at_ms, voucher_id))
                    .map_err(redb_error)?;
            }
            add_facts_kept(transaction, &voucher_facts(&voucher), upkeep)?;
            Ok(VoucherTransition::Applied(voucher))
        })
        .await
    }

    async fn expired_vouchers(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<Uuid>> {
        let end = time_id_key(now_ms, Uuid::max());
        self.read(move |transaction| {
            let by_expiry = transaction
                .open_table(VOUCHERS_BY_EXPIRY)
                .map_err(redb_error)?;
            by_expiry
                .range::<&TimeIdKey>(..=&end)
                .map_err(redb_error)?
                .take(limit)
                .map(|row| {
                    let (key, _no_value) = row.map_err(redb_error)?;
                    Ok(id_of_time_id_key(key.value()))
                })
                .collect()
        })
        .await
    }

    async fn mark_pending_release(&self, release: PendingRelease) -> StoreResult<()> {
        self.write(move |transaction| {
            let mut pending = transaction
                .open_table(PENDING_RELEASES)
                .map_err(redb_error)?;
            if pending
                .get(release.voucher_id.as_bytes())
                .map_err(redb_error)?
                .is_none()
            {
                pending
                    .insert(release.voucher_id.as_bytes(), release.marked_at_ms)
                    .map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn pending_releases(
        &self,
        _now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<PendingRelease>> {
        self.read(move |transaction| {
            let pending = transaction
                .open_table(PENDING_RELEASES)
                .map_err(redb_error)?;
            pending
                .iter()
                .map_err(redb_error)?
                .take(limit)
                .map(|row| {
                    let (key, marked_at_ms) = row.map_err(redb_error)?;
                    Ok(PendingRelease {
                        voucher_id: Uuid::from_bytes(*key.value()),
                        marked_at_ms: marked_at_ms.value(),
                    })
                })
                .collect()
        })
        .await
    }

    async fn clear_pending_release(&self, voucher_id: Uuid) -> StoreResult<()> {
        self.write(move |transaction| {
            let mut pending = transaction
                .open_table(PENDING_RELEASES)
                .map_err(redb_error)?;
            pending.remove(voucher_id.as_bytes()).map_err(redb_error)?;
            Ok(())
        })
        .await
    }
}
