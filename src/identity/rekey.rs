//! Moving every record to the current master key while the previous one is
//! loaded (a rotation, docs/operations.md): each account's phone gets its
//! lookup key and seal under the current key, each roster entry too, and each
//! outbox endpoint's signing secrets are sealed again. Records already under
//! the current key are left alone, so the pass may be run any number of
//! times, on any node, while the servers serve: they find records under
//! either key meanwhile (`IdentityService` looks a phone up under the
//! previous key when the current one finds nothing, and moves the account
//! it finds). Records neither key opens are counted and left as they are.

use crate::identity::keys::ServerKeys;
use crate::store::{RosterEntry, Store, StoreResult};

/// Records read per page.
const PAGE: usize = 500;

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct RekeyReport {
    /// Accounts moved to the current key.
    pub(crate) accounts_moved: u64,
    /// Accounts under the current key already, or with no phone (deleted).
    pub(crate) accounts_current: u64,
    /// Accounts whose phone neither key opens, or whose new lookup key names
    /// another account.
    pub(crate) accounts_left: u64,
    /// Roster entries moved to the current key.
    pub(crate) roster_moved: u64,
    /// Roster entries under the current key already.
    pub(crate) roster_current: u64,
    /// Roster entries neither key opens.
    pub(crate) roster_left: u64,
    /// Outbox endpoints whose secrets were sealed again.
    pub(crate) endpoints_moved: u64,
    /// Outbox endpoints neither key opens.
    pub(crate) endpoints_left: u64,
}

/// Moves every account, roster entry and endpoint to `keys`' current key.
pub(crate) async fn rekey_all(store: &dyn Store, keys: &ServerKeys) -> StoreResult<RekeyReport> {
    let mut report = RekeyReport::default();
    rekey_accounts(store, keys, &mut report).await?;
    rekey_roster(store, keys, &mut report).await?;
    rekey_endpoints(store, keys, &mut report).await?;
    Ok(report)
}

async fn rekey_accounts(
    store: &dyn Store,
    keys: &ServerKeys,
    report: &mut RekeyReport,
) -> StoreResult<()> {
    let mut cursor = None;
    loop {
        let page = store.scan_accounts(cursor, PAGE).await?;
        for account in page.records {
            if account.phone_sealed.is_empty() {
                report.accounts_current += 1;
                continue;
            }
            let Some(resealed) = keys.reseal_phone(&account.phone_sealed) else {
                tracing::warn!(account_id = %account.id.0, "account phone opens under neither master key: left as it is");
                report.accounts_left += 1;
                continue;
            };
            if resealed.was_current && account.phone_hash == resealed.hash {
                report.accounts_current += 1;
                continue;
            }
            let moved = store
                .rekey_account_phone(
                    account.id,
                    account.phone_hash,
                    resealed.hash,
                    resealed.sealed,
                )
                .await?;
            if moved {
                report.accounts_moved += 1;
            } else {
                tracing::warn!(account_id = %account.id.0, "account phone not moved to the new key: changed meanwhile, or its new key names another account");
                report.accounts_left += 1;
            }
        }
        cursor = page.next;
        if cursor.is_none() {
            return Ok(());
        }
    }
}

async fn rekey_roster(
    store: &dyn Store,
    keys: &ServerKeys,
    report: &mut RekeyReport,
) -> StoreResult<()> {
    let mut cursor = None;
    loop {
        let page = store.scan_roster(cursor, PAGE).await?;
        for entry in page.records {
            let Some(resealed) = keys.reseal_phone(&entry.phone_sealed) else {
                report.roster_left += 1;
                continue;
            };
            if resealed.was_current && entry.phone_hash == resealed.hash {
                report.roster_current += 1;
                continue;
            }
            // An entry imported under the new key since wins over the old one.
            if store.roster_entry(&resealed.hash).await?.is_none() {
                let moved = RosterEntry {
                    phone_hash: resealed.hash,
                    phone_sealed: resealed.sealed,
                    ..entry.clone()
                };
                store.upsert_roster_entries(&[moved]).await?;
            }
            store.remove_roster_entry(&entry.phone_hash).await?;
            report.roster_moved += 1;
        }
        cursor = page.next;
        if cursor.is_none() {
            return Ok(());
        }
    }
}

async fn rekey_endpoints(
    store: &dyn Store,
    keys: &ServerKeys,
    report: &mut RekeyReport,
) -> StoreResult<()> {
    for mut endpoint in store.outbox_endpoints().await? {
        let Some((secret, was_current)) = keys.open_webhook_secret_sealed(&endpoint.sealed_secret)
        else {
            report.endpoints_left += 1;
            continue;
        };
        let mut changed = !was_current;
        endpoint.sealed_secret = keys.seal_webhook_secret(&secret);
        if let Some((sealed, until_ms)) = &endpoint.sealed_previous_secret
            && let Some((previous, false)) = keys.open_webhook_secret_sealed(sealed)
        {
            endpoint.sealed_previous_secret =
                Some((keys.seal_webhook_secret(&previous), *until_ms));
            changed = true;
        }
        if changed {
            store.put_outbox_endpoint(&endpoint).await?;
            report.endpoints_moved += 1;
        }
    }
    Ok(())
}
