//! Contract of [`ProfileStore`](crate::store::ProfileStore): per-account event
//! logs with conditional appends, and profile views kept newest.

use std::sync::Arc;

use super::samples::{NOW_MS, profile, profile_event};
use super::{CONCURRENT_CALLERS, race};
use crate::domain::AccountId;
use crate::domain::profile::ProfileEvent;
use crate::store::{AppendOutcome, Store};

/// The sequence numbers of `events`, in the order given.
fn seqs(events: &[ProfileEvent]) -> Vec<u64> {
    events.iter().map(|event| event.seq).collect()
}

/// An event lands at a free seq; a second event at the same seq is refused.
pub(crate) async fn appending_an_event_is_conditional_on_its_seq(store: Arc<dyn Store>) {
    let account_id = AccountId::random();
    let first = profile_event(account_id, 1);
    let mut rival = profile_event(account_id, 1);
    rival.at_ms = NOW_MS + 500;

    let appended = store.append_profile_event(&first).await.expect("append");
    let refused = store.append_profile_event(&rival).await.expect("append");
    let other_account = store
        .append_profile_event(&profile_event(AccountId::random(), 1))
        .await
        .expect("append");

    assert_eq!(appended, AppendOutcome::Appended);
    assert_eq!(refused, AppendOutcome::SeqTaken);
    assert_eq!(other_account, AppendOutcome::Appended);
    assert_eq!(
        store
            .profile_events(account_id, None, 10)
            .await
            .expect("read"),
        vec![first]
    );
}

/// Events page newest first: `before_seq` excludes that seq and later, `limit`
/// caps the page, and other accounts' events never appear.
pub(crate) async fn profile_events_page_newest_first(store: Arc<dyn Store>) {
    let account_id = AccountId::random();
    let neighbour = AccountId::random();
    for seq in 1..=5 {
        store
            .append_profile_event(&profile_event(account_id, seq))
            .await
            .expect("append");
    }
    for seq in 1..=2 {
        store
            .append_profile_event(&profile_event(neighbour, seq))
            .await
            .expect("append");
    }

    let page = |before_seq: Option<u64>, limit: usize| {
        let store = Arc::clone(&store);
        async move {
            store
                .profile_events(account_id, before_seq, limit)
                .await
                .expect("read")
        }
    };
    let everything = page(None, 10).await;
    assert_eq!(seqs(&everything), vec![5, 4, 3, 2, 1]);
    assert_eq!(everything[4], profile_event(account_id, 1));
    assert_eq!(seqs(&page(None, 2).await), vec![5, 4]);
    assert_eq!(seqs(&page(Some(4), 2).await), vec![3, 2]);
    assert_eq!(seqs(&page(Some(2), 10).await), vec![1]);
    assert_eq!(seqs(&page(Some(1), 10).await), Vec::<u64>::new());
    assert_eq!(seqs(&page(Some(99), 1).await), vec![5]);
    assert_eq!(seqs(&page(None, 0).await), Vec::<u64>::new());
    assert_eq!(
        seqs(
            &store
                .profile_events(neighbour, None, 10)
                .await
                .expect("read")
        ),
        vec![2, 1]
    );
    assert_eq!(
        store
            .profile_events(AccountId::random(), None, 10)
            .await
            .expect("read"),
        vec![]
    );
}

/// Of many writers appending at the same seq, exactly one lands.
pub(crate) async fn concurrent_appends_at_one_seq_append_exactly_once(store: Arc<dyn Store>) {
    let account_id = AccountId::random();
    let candidate = move |index: usize| ProfileEvent {
        at_ms: NOW_MS + i64::try_from(index).expect("small index"),
        ..profile_event(account_id, 1)
    };

    let results = race(&store, |store, index| async move {
        store.append_profile_event(&candidate(index)).await
    })
    .await;

    let mut winners = Vec::new();
    for (index, outcome) in results {
        match outcome.expect("append") {
            AppendOutcome::Appended => winners.push(index),
            AppendOutcome::SeqTaken => {}
        }
    }
    assert_eq!(winners.len(), 1, "exactly one append lands");
    assert_eq!(
        store
            .profile_events(account_id, None, CONCURRENT_CALLERS)
            .await
            .expect("read"),
        vec![candidate(winners[0])]
    );
}

/// A view is stored unless a higher version is; an equal version replaces it.
pub(crate) async fn put_profile_keeps_the_newest_version(store: Arc<dyn Store>) {
    let account_id = AccountId::random();
    assert_eq!(store.profile(account_id).await.expect("read"), None);

    store
        .put_profile(&profile(account_id, 2, "Two"))
        .await
        .expect("put");
    store
        .put_profile(&profile(account_id, 1, "One"))
        .await
        .expect("put older");
    assert_eq!(
        store.profile(account_id).await.expect("read"),
        Some(profile(account_id, 2, "Two"))
    );

    store
        .put_profile(&profile(account_id, 2, "Two again"))
        .await
        .expect("put same version");
    assert_eq!(
        store.profile(account_id).await.expect("read"),
        Some(profile(account_id, 2, "Two again"))
    );

    // Both sharing choices are kept, on an insert and on a replacement.
    let mut three = profile(account_id, 3, "Three");
    three.share_to_social = true;
    three.share_name = true;
    store.put_profile(&three).await.expect("put newer");
    assert_eq!(store.profile(account_id).await.expect("read"), Some(three));
    let fresh = AccountId::random();
    let mut named = profile(fresh, 1, "Named");
    named.share_name = true;
    store.put_profile(&named).await.expect("put");
    assert_eq!(store.profile(fresh).await.expect("read"), Some(named));
    assert_eq!(
        store.profile(AccountId::random()).await.expect("read"),
        None
    );
}
