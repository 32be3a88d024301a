//! Contract of [`KeyRotationStore`](crate::store::KeyRotationStore): scans
//! return every account and roster entry once across pages, and moving an
//! account's phone changes its lookup key only when the account is still
//! under the old one and the new one is free or already its own.

use std::collections::HashSet;
use std::sync::Arc;

use super::samples::{account, phone, roster_entry};
use crate::domain::AccountId;
use crate::store::{Account, RosterEntry, ScanPage, Store, StoreResult};

/// Every record of a scan, read two at a time.
async fn scan_all<T, F, Fut>(scan: F) -> Vec<T>
where
    F: Fn(Option<Vec<u8>>) -> Fut,
    Fut: std::future::Future<Output = StoreResult<ScanPage<T>>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = scan(cursor).await.expect("scan");
        assert!(page.records.len() <= 2);
        all.extend(page.records);
        cursor = page.next;
        if cursor.is_none() {
            return all;
        }
    }
}

pub(crate) async fn scans_list_every_account_and_roster_entry_once(store: Arc<dyn Store>) {
    let mut ids = HashSet::new();
    for index in 1..=5 {
        let created = account(phone(index));
        store.create_account(&created).await.expect("create");
        ids.insert(created.id);
    }
    let accounts: Vec<Account> = scan_all(|cursor| store.scan_accounts(cursor, 2)).await;
    let scanned: HashSet<AccountId> = accounts.iter().map(|account| account.id).collect();
    assert_eq!(accounts.len(), 5);
    assert_eq!(scanned, ids);
    store
        .upsert_roster_entries(&[
            roster_entry(phone(1), "Officer Ada"),
            roster_entry(phone(2), "Officer Bo"),
            roster_entry(phone(3), "Officer Cy"),
        ])
        .await
        .expect("roster");
    let entries: Vec<RosterEntry> = scan_all(|cursor| store.scan_roster(cursor, 2)).await;
    let mut names: Vec<&str> = entries
        .iter()
        .map(|entry| entry.display_name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, vec!["Officer Ada", "Officer Bo", "Officer Cy"]);
}

pub(crate) async fn a_phone_moves_to_its_new_key_only_from_its_old_one(store: Arc<dyn Store>) {
    let moving = account(phone(1));
    let other = account(phone(2));
    store.create_account(&moving).await.expect("create");
    store.create_account(&other).await.expect("create");

    // Onto a key another account holds: refused, nothing changes.
    assert!(
        !store
            .rekey_account_phone(moving.id, phone(1), phone(2), vec![9; 40])
            .await
            .expect("rekey")
    );
    // From a key it is not under: refused.
    assert!(
        !store
            .rekey_account_phone(moving.id, phone(3), phone(4), vec![9; 40])
            .await
            .expect("rekey")
    );
    let found = store.account_by_phone(&phone(1)).await.expect("read");
    assert_eq!(found.map(|account| account.id), Some(moving.id));

    assert!(
        store
            .rekey_account_phone(moving.id, phone(1), phone(5), vec![9; 40])
            .await
            .expect("rekey")
    );
    let moved = store
        .account_by_phone(&phone(5))
        .await
        .expect("read")
        .expect("found under the new key");
    assert_eq!(moved.id, moving.id);
    assert_eq!(moved.phone_hash, phone(5));
    assert_eq!(moved.phone_sealed, vec![9; 40]);
    assert_eq!(store.account_by_phone(&phone(1)).await.expect("read"), None);
    let other_found = store.account_by_phone(&phone(2)).await.expect("read");
    assert_eq!(other_found.map(|account| account.id), Some(other.id));
    // Moved already: a second move from the old key is refused.
    assert!(
        !store
            .rekey_account_phone(moving.id, phone(1), phone(5), vec![9; 40])
            .await
            .expect("rekey")
    );
}
