//! Contract of [`RosterStore`](crate::store::RosterStore): entries keyed by
//! phone, written in batches.

use std::sync::Arc;

use super::samples::{phone, roster_entry};
use crate::store::Store;

/// A batch adds new phones and replaces the entries of known ones.
pub(crate) async fn roster_entries_are_upserted_by_phone(store: Arc<dyn Store>) {
    assert_eq!(store.roster_size().await.expect("size"), 0);
    store
        .upsert_roster_entries(&[
            roster_entry(phone(1), "Officer Ada"),
            roster_entry(phone(2), "Officer Bo"),
        ])
        .await
        .expect("first import");
    store
        .upsert_roster_entries(&[
            roster_entry(phone(2), "Sergeant Bo"),
            roster_entry(phone(3), "Officer Cy"),
        ])
        .await
        .expect("second import");
    store
        .upsert_roster_entries(&[])
        .await
        .expect("empty import");

    assert_eq!(store.roster_size().await.expect("size"), 3);
    assert_eq!(
        store.roster_entry(&phone(1)).await.expect("read"),
        Some(roster_entry(phone(1), "Officer Ada"))
    );
    assert_eq!(
        store.roster_entry(&phone(2)).await.expect("read"),
        Some(roster_entry(phone(2), "Sergeant Bo"))
    );
    assert_eq!(store.roster_entry(&phone(4)).await.expect("read"), None);
}

/// Removing an entry reports whether there was one; others stay.
pub(crate) async fn roster_entries_are_removed_by_phone(store: Arc<dyn Store>) {
    store
        .upsert_roster_entries(&[
            roster_entry(phone(1), "Officer Ada"),
            roster_entry(phone(2), "Officer Bo"),
        ])
        .await
        .expect("import");

    assert!(store.remove_roster_entry(&phone(1)).await.expect("remove"));
    assert!(!store.remove_roster_entry(&phone(1)).await.expect("again"));
    assert!(!store.remove_roster_entry(&phone(9)).await.expect("unknown"));

    assert_eq!(store.roster_entry(&phone(1)).await.expect("read"), None);
    assert_eq!(store.roster_size().await.expect("size"), 1);
    assert_eq!(
        store.roster_entry(&phone(2)).await.expect("read"),
        Some(roster_entry(phone(2), "Officer Bo"))
    );
}
