//! Contract of [`OtpStore`](crate::store::OtpStore): one challenge per phone,
//! written by compare-and-set on its version.

use std::sync::Arc;

use super::race;
use super::samples::{challenge, phone};
use crate::store::Store;

/// With no challenge stored, only a write expecting none applies.
pub(crate) async fn a_first_challenge_is_written_only_when_none_is_stored(store: Arc<dyn Store>) {
    let expecting_a_version = store
        .put_otp_challenge(&phone(1), &challenge(2, 0), Some(1))
        .await
        .expect("put");
    let first = store
        .put_otp_challenge(&phone(1), &challenge(1, 0), None)
        .await
        .expect("put");
    let second_first = store
        .put_otp_challenge(&phone(1), &challenge(1, 5), None)
        .await
        .expect("put");

    assert!(!expecting_a_version);
    assert!(first);
    assert!(!second_first);
    assert_eq!(
        store.otp_challenge(&phone(1)).await.expect("read"),
        Some(challenge(1, 0))
    );
    assert_eq!(store.otp_challenge(&phone(2)).await.expect("read"), None);
}

/// A write naming a version other than the stored one is refused.
pub(crate) async fn a_challenge_write_needs_the_stored_version(store: Arc<dyn Store>) {
    store
        .put_otp_challenge(&phone(1), &challenge(1, 0), None)
        .await
        .expect("put");

    let stale = store
        .put_otp_challenge(&phone(1), &challenge(3, 1), Some(2))
        .await
        .expect("put");
    let unchanged = store.otp_challenge(&phone(1)).await.expect("read");
    let current = store
        .put_otp_challenge(&phone(1), &challenge(2, 1), Some(1))
        .await
        .expect("put");

    assert!(!stale);
    assert_eq!(unchanged, Some(challenge(1, 0)));
    assert!(current);
    assert_eq!(
        store.otp_challenge(&phone(1)).await.expect("read"),
        Some(challenge(2, 1))
    );
}

/// Of many writers that read the same version, exactly one applies.
pub(crate) async fn concurrent_writes_from_one_version_apply_exactly_once(store: Arc<dyn Store>) {
    store
        .put_otp_challenge(&phone(1), &challenge(1, 0), None)
        .await
        .expect("put");

    let results = race(&store, |store, index| async move {
        let attempts = u32::try_from(index).expect("small index");
        store
            .put_otp_challenge(&phone(1), &challenge(2, attempts), Some(1))
            .await
    })
    .await;

    let winners: Vec<usize> = results
        .into_iter()
        .filter_map(|(index, applied)| applied.expect("put").then_some(index))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one write applies");
    let winning_attempts = u32::try_from(winners[0]).expect("small index");
    assert_eq!(
        store.otp_challenge(&phone(1)).await.expect("read"),
        Some(challenge(2, winning_attempts))
    );
}
