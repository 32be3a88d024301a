//! Growth bounds of the recovery queues of schema version 7 (`time_queue`),
//! measured on a real node: listings after hours of finished redemptions and
//! releases scan only recent deletions, and rows of the tables before version
//! 7 are moved into the queues when a node connects.

use uuid::Uuid;

use super::ScyllaStore;
use super::bound_tests::{fresh_store, most_tombstones_scanned_by_one_read};
use crate::domain::AccountId;
use crate::store::{PendingRelease, Redemption, RedemptionStatus, RedemptionStore, VoucherStore};

/// A started redemption of a new person at `at_ms`.
fn redemption_at(at_ms: i64) -> Redemption {
    Redemption {
        account_id: AccountId::random(),
        idempotency_key: "k".to_owned(),
        redemption_id: Uuid::new_v4(),
        offer_id: Uuid::new_v4(),
        zip: "10001".to_owned(),
        requested_at_ms: at_ms,
        attempt: 0,
        attempt_started_at_ms: at_ms,
        status: RedemptionStatus::Started,
        voucher: None,
        refusal: None,
    }
}

/// Six hours of redemptions and voucher releases, one of each a minute, each
/// finished at once, with a recovery listing every minute as the server runs
/// it: no listing scans more than a few minutes' worth of finished items
/// (before version 7, each of 16 fixed partitions held a sixteenth of every
/// finished item since the last compaction, and every listing scanned them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_listings_scan_only_recently_finished_items() {
    let Some((store, _dropper)) = fresh_store("queue listings").await else {
        return;
    };
    let start_ms = 1_780_000_000_000;
    let minutes = 6 * 60;
    for minute in 0..minutes {
        let now_ms = start_ms + minute * 60_000;
        let started = redemption_at(now_ms);
        store.insert_redemption(&started).await.expect("insert");
        let finished = Redemption {
            status: RedemptionStatus::Refused,
            ..started
        };
        assert!(store.update_redemption(&finished, 0).await.expect("finish"));
        let release = PendingRelease {
            voucher_id: Uuid::new_v4(),
            marked_at_ms: now_ms,
        };
        store.mark_pending_release(release).await.expect("mark");
        store
            .clear_pending_release(release.voucher_id)
            .await
            .expect("clear");
        assert!(
            store
                .started_redemptions(now_ms, 10)
                .await
                .expect("list")
                .is_empty()
        );
        assert!(
            store
                .pending_releases(now_ms, 10)
                .await
                .expect("list")
                .is_empty()
        );
    }

    let scanned = most_tombstones_scanned_by_one_read(&store).await;

    // One bucket holds ten minutes of items: ten of each kind at this rate.
    assert!(
        scanned <= 20,
        "a recovery listing scanned {scanned} tombstones after {minutes} minutes of finished items"
    );
}

/// A redemption and a release noted by a node of schema version 6 (in
/// `started_redemptions` and `pending_releases`) ten days ago are moved into
/// the queues when a node connects, and listed from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_version_6_queues_are_moved_at_connect() {
    let Some((store, dropper)) = fresh_store("legacy queue rows").await else {
        return;
    };
    let settings = dropper.settings.clone();
    let now_ms = 1_780_000_000_000;
    // A recent pass has moved the cursors to the last hour.
    assert!(
        store
            .started_redemptions(now_ms, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .pending_releases(now_ms, 10)
            .await
            .expect("list")
            .is_empty()
    );

    let old_ms = now_ms - 10 * 86_400_000;
    let stuck = redemption_at(old_ms);
    store.insert_redemption(&stuck).await.expect("insert");
    let release = PendingRelease {
        voucher_id: Uuid::new_v4(),
        marked_at_ms: old_ms,
    };
    let connected = store.connected().expect("connected");
    // As a version-6 node left them: rows in the older tables only.
    let item = super::time_queue::request_item(stuck.account_id, "k");
    connected
        .session
        .query_unpaged(
            "DELETE FROM queued_by_time WHERE queue = 'started_redemptions' AND bucket = ? \
             AND item = ?",
            (super::time_queue::bucket_of(old_ms), item),
        )
        .await
        .expect("unfile the new item");
    connected
        .session
        .query_unpaged(
            "INSERT INTO started_redemptions (shard, account_id, idempotency_key) \
             VALUES (5, ?, 'k')",
            (stuck.account_id.0,),
        )
        .await
        .expect("write a version-6 row");
    connected
        .session
        .query_unpaged(
            "INSERT INTO pending_releases (shard, voucher_id, marked_at_ms) VALUES (7, ?, ?)",
            (release.voucher_id, old_ms),
        )
        .await
        .expect("write a version-6 release");
    assert!(
        store
            .started_redemptions(now_ms, 10)
            .await
            .expect("list")
            .is_empty(),
        "not moved before a node connects"
    );

    let upgraded = ScyllaStore::connect(settings).await.expect("reconnect");

    let listed = upgraded
        .started_redemptions(now_ms, 10)
        .await
        .expect("list");
    assert_eq!(listed, vec![stuck.clone()]);
    assert_eq!(
        upgraded.pending_releases(now_ms, 10).await.expect("list"),
        vec![release]
    );
    upgraded
        .clear_pending_release(release.voucher_id)
        .await
        .expect("clear");
    let finished = Redemption {
        status: RedemptionStatus::Refused,
        ..stuck
    };
    assert!(
        upgraded
            .update_redemption(&finished, 0)
            .await
            .expect("finish")
    );
    assert!(
        upgraded
            .started_redemptions(now_ms, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        upgraded
            .pending_releases(now_ms, 10)
            .await
            .expect("list")
            .is_empty()
    );
}
