//! Contract of [`AccountStore`](crate::store::AccountStore): accounts, the phone
//! index, and the conditional create.

use std::sync::Arc;

use super::samples::{NOW_MS, account, phone};
use super::{CONCURRENT_CALLERS, race};
use crate::domain::{AccountId, Role};
use crate::store::{CreateAccountOutcome, Store};

/// A second account for a phone is refused, and the first one is returned.
pub(crate) async fn create_account_writes_once_per_phone(store: Arc<dyn Store>) {
    let first = account(phone(1));
    let second = account(phone(1));

    let created = store.create_account(&first).await.expect("first create");
    let refused = store.create_account(&second).await.expect("second create");

    assert_eq!(created, CreateAccountOutcome::Created);
    assert_eq!(refused, CreateAccountOutcome::PhoneTaken(first.clone()));
    assert_eq!(store.account(second.id).await.expect("read"), None);
    assert_eq!(
        store.account_by_phone(&phone(1)).await.expect("read"),
        Some(first)
    );
}

/// Of many callers creating an account for one phone, exactly one succeeds and
/// the others are shown the winner's account.
pub(crate) async fn concurrent_creates_for_one_phone_create_exactly_one(store: Arc<dyn Store>) {
    let candidates: Vec<_> = (0..CONCURRENT_CALLERS).map(|_| account(phone(2))).collect();
    let attempts = Arc::new(candidates.clone());

    let results = race(&store, |store, index| {
        let attempts = Arc::clone(&attempts);
        async move { store.create_account(&attempts[index]).await }
    })
    .await;

    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Ok(CreateAccountOutcome::Created)))
        .map(|(index, _)| *index)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one create applies");
    let winner = candidates[winners[0]].clone();
    for (index, outcome) in results {
        if index != winners[0] {
            assert_eq!(
                outcome.expect("create"),
                CreateAccountOutcome::PhoneTaken(winner.clone())
            );
        }
    }
    assert_eq!(
        store.account_by_phone(&phone(2)).await.expect("read"),
        Some(winner)
    );
}

/// Accounts are found by id and by phone; unknown ones are absent.
pub(crate) async fn accounts_are_found_by_id_and_by_phone(store: Arc<dyn Store>) {
    let first = account(phone(1));
    let second = account(phone(2));
    store.create_account(&first).await.expect("create");
    store.create_account(&second).await.expect("create");

    assert_eq!(
        store.account(first.id).await.expect("read"),
        Some(first.clone())
    );
    assert_eq!(
        store.account_by_phone(&phone(2)).await.expect("read"),
        Some(second)
    );
    assert_eq!(
        store.account(AccountId::random()).await.expect("read"),
        None
    );
    assert_eq!(store.account_by_phone(&phone(3)).await.expect("read"), None);
}

/// A role change applies to an existing account only.
pub(crate) async fn set_account_role_changes_existing_accounts_only(store: Arc<dyn Store>) {
    let citizen = account(phone(1));
    store.create_account(&citizen).await.expect("create");

    let changed = store
        .set_account_role(citizen.id, Role::Officer)
        .await
        .expect("set role");
    let missing = store
        .set_account_role(AccountId::random(), Role::Officer)
        .await
        .expect("set role");

    assert!(changed);
    assert!(!missing);
    let stored = store
        .account(citizen.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.role, Role::Officer);
    assert_eq!(stored.phone_hash, citizen.phone_hash);
    assert_eq!(
        store
            .account_by_phone(&phone(1))
            .await
            .expect("read")
            .map(|found| found.role),
        Some(Role::Officer)
    );
}

/// Disabling marks the account (read by id, by phone and with a token) and
/// enabling clears the mark; an unknown account is reported, not created.
pub(crate) async fn accounts_are_disabled_and_enabled(store: Arc<dyn Store>) {
    let person = account(phone(1));
    store.create_account(&person).await.expect("create");

    assert!(
        store
            .set_account_disabled(person.id, Some(NOW_MS + 5))
            .await
            .expect("disable")
    );
    assert!(
        !store
            .set_account_disabled(AccountId::random(), Some(NOW_MS))
            .await
            .expect("disable unknown")
    );
    let disabled = store
        .account(person.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(disabled.disabled_at_ms, Some(NOW_MS + 5));
    assert_eq!(disabled.role, person.role, "nothing else changes");
    let by_phone = store.account_by_phone(&phone(1)).await.expect("read");
    assert_eq!(
        by_phone.and_then(|found| found.disabled_at_ms),
        Some(NOW_MS + 5)
    );

    assert!(
        store
            .set_account_disabled(person.id, None)
            .await
            .expect("enable")
    );
    assert_eq!(
        store.account(person.id).await.expect("read"),
        Some(person),
        "enabled again, exactly as created"
    );
}
