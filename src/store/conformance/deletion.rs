//! Contract of the store calls behind account deletion: the list of
//! deletions under way, forgetting an account's phone, and rewriting a stored
//! profile event.

use std::sync::Arc;

use super::samples::{NOW_MS, account, challenge, phone, profile_event};
use crate::domain::AccountId;
use crate::domain::profile::{ProfileEvent, ProfileEventKind};
use crate::store::{CreateAccountOutcome, PhoneHash, Store};

/// Deletions are listed from their start until finished; noting one twice
/// keeps one entry.
pub(crate) async fn deletions_under_way_are_listed_until_finished(store: Arc<dyn Store>) {
    let first = AccountId::random();
    let second = AccountId::random();
    store
        .record_account_deletion(first, NOW_MS)
        .await
        .expect("note");
    store
        .record_account_deletion(second, NOW_MS + 1)
        .await
        .expect("note");
    store
        .record_account_deletion(first, NOW_MS)
        .await
        .expect("note again");

    let mut listed = store.account_deletions(10).await.expect("list");
    listed.sort_by_key(|(_, started_at_ms)| *started_at_ms);
    assert_eq!(listed, vec![(first, NOW_MS), (second, NOW_MS + 1)]);
    assert_eq!(store.account_deletions(1).await.expect("list").len(), 1);

    store.finish_account_deletion(first).await.expect("finish");
    store
        .finish_account_deletion(first)
        .await
        .expect("finish again");
    assert_eq!(
        store.account_deletions(10).await.expect("list"),
        vec![(second, NOW_MS + 1)]
    );
}

/// Erasing a phone frees it for a new account and forgets its code state,
/// but leaves another account's phone alone.
pub(crate) async fn erasing_a_phone_frees_it_and_forgets_its_code(store: Arc<dyn Store>) {
    let deleted = account(phone(1));
    let kept = account(phone(2));
    for created in [&deleted, &kept] {
        assert_eq!(
            store.create_account(created).await.expect("create"),
            CreateAccountOutcome::Created
        );
    }
    for number in [1, 2] {
        assert!(
            store
                .put_otp_challenge(&phone(number), &challenge(1, 0), None)
                .await
                .expect("challenge")
        );
    }

    assert!(store.erase_account_phone(deleted.id).await.expect("erase"));
    assert!(
        store
            .erase_account_phone(deleted.id)
            .await
            .expect("erase again")
    );
    assert!(
        !store
            .erase_account_phone(AccountId::random())
            .await
            .expect("erase a stranger")
    );

    let erased = store
        .account(deleted.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(erased.phone_hash, PhoneHash([0; 32]));
    assert!(erased.phone_sealed.is_empty());
    assert_eq!(erased.role, deleted.role, "the rest of the account stays");
    assert_eq!(store.account_by_phone(&phone(1)).await.expect("read"), None);
    assert_eq!(store.otp_challenge(&phone(1)).await.expect("read"), None);
    assert_eq!(
        store.account_by_phone(&phone(2)).await.expect("read"),
        Some(kept)
    );
    assert!(
        store
            .otp_challenge(&phone(2))
            .await
            .expect("read")
            .is_some()
    );
    let fresh = account(phone(1));
    assert_eq!(
        store.create_account(&fresh).await.expect("create"),
        CreateAccountOutcome::Created,
        "the phone signs up afresh"
    );
}

/// A stored event is rewritten in place; a missing one stays missing.
pub(crate) async fn a_profile_event_is_rewritten_in_place(store: Arc<dyn Store>) {
    let account_id = AccountId::random();
    for seq in 1..=3 {
        store
            .append_profile_event(&profile_event(account_id, seq))
            .await
            .expect("append");
    }
    let rewritten = ProfileEvent {
        kind: ProfileEventKind::AccountDeleted,
        ..profile_event(account_id, 2)
    };
    store
        .replace_profile_event(&rewritten)
        .await
        .expect("rewrite");
    store
        .replace_profile_event(&ProfileEvent {
            kind: ProfileEventKind::AccountDeleted,
            ..profile_event(account_id, 9)
        })
        .await
        .expect("rewrite a missing event");

    let events = store
        .profile_events(account_id, None, 10)
        .await
        .expect("read");
    assert_eq!(events.len(), 3, "no event added or removed: {events:?}");
    assert_eq!(events[1], rewritten);
    assert_eq!(events[0], profile_event(account_id, 3));
    assert_eq!(events[2], profile_event(account_id, 1));
}
