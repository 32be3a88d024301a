//! Growth bounds of the CQL store, measured on a real node: what an operator
//! would see in the node's own counters (tombstones scanned per read, rows per
//! partition, TTLs) after a long run of ordinary use. Each case runs in its own
//! keyspace, so the node's per-table counters are this case's alone.

use std::sync::Arc;

use uuid::Uuid;

use super::ScyllaStore;
use super::tests::{KeyspaceDropper, fresh_keyspace_store};
use crate::domain::AccountId;
use crate::store::{ConnectionParty, ConnectionRecord, ConnectionStore};

/// A connected store on a fresh keyspace and the guard dropping it, or `None`
/// without a node.
pub(super) async fn fresh_store(case: &str) -> Option<(Arc<ScyllaStore>, KeyspaceDropper)> {
    let (store, dropper) = fresh_keyspace_store("bound", case).await?;
    Some((Arc::new(store), dropper))
}

/// The most tombstones one read of any table of the store's keyspace scanned,
/// as the node counts them (`system_views.tombstones_per_read`).
pub(super) async fn most_tombstones_scanned_by_one_read(store: &ScyllaStore) -> i64 {
    let connected = store.connected().expect("connected");
    let rows = connected
        .session
        .query_unpaged(
            "SELECT table_name, max FROM system_views.tombstones_per_read WHERE keyspace_name = ?",
            (store.keyspace.as_str(),),
        )
        .await
        .expect("read the node's tombstone counters")
        .into_rows_result()
        .expect("rows");
    rows.rows::<(String, f64)>()
        .expect("typed rows")
        .map(|row| row.expect("row"))
        .map(|(table, max)| {
            eprintln!("{table}: at most {max} tombstones per read");
            // The node keeps whole counts in a float column.
            #[allow(clippy::cast_possible_truncation)]
            let whole = max.round() as i64;
            whole
        })
        .max()
        .unwrap_or(0)
}

/// A connection between two new people at `at_ms`, with points.
fn connection_at(at_ms: i64) -> ConnectionRecord {
    let party = |account_id| ConnectionParty {
        account_id,
        points: 10,
        withheld: None,
    };
    ConnectionRecord {
        mode: Default::default(),
        connection_id: Uuid::new_v4(),
        citizen: party(AccountId::random()),
        officer: party(AccountId::random()),
        established_at_ms: at_ms,
        cell_r7: None,
        zip: None,
    }
}

/// A day of connections, one a minute, each completed at once, with a
/// recovery listing every minute as the server runs it: no listing scans more
/// than a few minutes' worth of completed marks, however many the day left
/// behind (before the queue was bucketed by time, each of its 16 partitions
/// held a sixteenth of every completion since the last compaction, and every
/// listing scanned them all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_listings_scan_only_recent_completed_marks() {
    let Some((store, _dropper)) = fresh_store("recovery listings").await else {
        return;
    };
    let day_start_ms = 1_780_000_000_000;
    let minutes = 24 * 60;
    for minute in 0..minutes {
        let now_ms = day_start_ms + minute * 60_000;
        let record = connection_at(now_ms);
        store.insert_connection(&record).await.expect("insert");
        store.complete_connection(&record).await.expect("complete");
        let incomplete = store
            .incomplete_connections(now_ms, 10)
            .await
            .expect("list");
        assert!(incomplete.is_empty(), "every connection was completed");
    }

    let scanned = most_tombstones_scanned_by_one_read(&store).await;

    // One bucket holds ten minutes of marks: ten a day at this rate.
    assert!(
        scanned <= 20,
        "a recovery listing scanned {scanned} tombstones after {minutes} completed connections"
    );
}

/// A connection left incomplete for days holds the cursor at its bucket: a
/// listing three days later still finds it, and once it is completed the
/// cursor moves on to the last hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mark_left_for_days_is_still_listed() {
    let Some((store, _dropper)) = fresh_store("old marks").await else {
        return;
    };
    let established_ms = 1_780_000_000_000;
    let stuck = connection_at(established_ms);
    store.insert_connection(&stuck).await.expect("insert");
    let listed = store
        .incomplete_connections(established_ms, 10)
        .await
        .expect("list");
    assert_eq!(listed, vec![stuck.clone()]);

    let three_days_later_ms = established_ms + 3 * 86_400_000;
    let listed = store
        .incomplete_connections(three_days_later_ms, 10)
        .await
        .expect("list");
    assert_eq!(
        listed,
        vec![stuck.clone()],
        "an old mark is never passed over"
    );

    store.complete_connection(&stuck).await.expect("complete");
    let fresh = connection_at(three_days_later_ms);
    store.insert_connection(&fresh).await.expect("insert");
    let listed = store
        .incomplete_connections(three_days_later_ms, 10)
        .await
        .expect("list");
    assert_eq!(listed, vec![fresh]);
}

/// Marks written by a node of schema version 5 (in `incomplete_connections`)
/// are moved into the time buckets when a node connects, however old, and
/// listed from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marks_of_schema_version_5_are_moved_at_connect() {
    let Some((store, dropper)) = fresh_store("legacy marks").await else {
        return;
    };
    let settings = dropper.settings.clone();
    let now_ms = 1_780_000_000_000;
    // A recent pass has moved the cursor to the last hour.
    assert!(
        store
            .incomplete_connections(now_ms, 10)
            .await
            .expect("list")
            .is_empty()
    );
    // A version-5 node wrote a connection ten days ago and stopped before its
    // credits: the record and a mark in the older table, none in the buckets.
    let old = connection_at(now_ms - 10 * 86_400_000);
    store.insert_connection(&old).await.expect("insert");
    store.complete_connection(&old).await.expect("unmark");
    let connected = store.connected().expect("connected");
    connected
        .session
        .query_unpaged(
            "INSERT INTO incomplete_connections (shard, connection_id) VALUES (?, ?)",
            (3_i32, old.connection_id.as_bytes().as_slice()),
        )
        .await
        .expect("write a version-5 mark");
    assert!(
        store
            .incomplete_connections(now_ms, 10)
            .await
            .expect("list")
            .is_empty(),
        "not moved before a node connects"
    );

    let upgraded = ScyllaStore::connect(settings).await.expect("reconnect");

    let listed = upgraded
        .incomplete_connections(now_ms, 10)
        .await
        .expect("list");
    assert_eq!(listed, vec![old.clone()]);
    upgraded.complete_connection(&old).await.expect("complete");
    assert!(
        upgraded
            .incomplete_connections(now_ms, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

/// The remaining TTL (seconds) of the cell a one-row query selects.
async fn ttl_of(
    store: &ScyllaStore,
    query: &str,
    values: impl scylla::serialize::row::SerializeRow,
) -> Option<i64> {
    let connected = store.connected().expect("connected");
    let (ttl,): (Option<i32>,) = connected
        .session
        .query_unpaged(query, values)
        .await
        .expect("select ttl")
        .into_rows_result()
        .expect("rows")
        .single_row()
        .expect("one row");
    ttl.map(i64::from)
}

/// A sign-in's rows (by id and under its account) expire a day after its
/// newest refresh token, so an account's family list holds only the sign-ins
/// that may still be used; a revocation outlives the rows it revokes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_rows_expire_with_their_newest_refresh_token() {
    use crate::store::{SecretHash, TokenFamily, TokenKind, TokenRecord, TokenStore};

    let Some((store, _dropper)) = fresh_store("sign-in ttl").await else {
        return;
    };
    let now_ms = crate::clock::Clock::system().now_ms();
    let family = TokenFamily {
        family_id: Uuid::new_v4(),
        account_id: AccountId::random(),
        created_at_ms: now_ms,
        revoked_at_ms: None,
    };
    let refresh_expiry_ms = now_ms + 3_600_000;
    store
        .insert_token_family(&family, refresh_expiry_ms)
        .await
        .expect("sign in");
    store
        .insert_token(&TokenRecord {
            token_hash: SecretHash([9; 32]),
            kind: TokenKind::Refresh,
            family_id: family.family_id,
            account_id: family.account_id,
            issued_at_ms: now_ms,
            expires_at_ms: refresh_expiry_ms,
            consumed_at_ms: None,
        })
        .await
        .expect("refresh token");

    let by_id = ttl_of(
        &store,
        "SELECT TTL(account_id) FROM token_families WHERE family_id = ?",
        (family.family_id,),
    )
    .await;
    let by_account = ttl_of(
        &store,
        "SELECT TTL(created_at_ms) FROM token_families_by_account \
         WHERE account_id = ? AND family_id = ?",
        (family.account_id.0, family.family_id),
    )
    .await;

    let expected = 3_600 + 86_400;
    for ttl in [by_id, by_account] {
        let ttl = ttl.expect("a sign-in's rows expire");
        assert!((expected - 60..=expected).contains(&ttl), "ttl {ttl}");
    }

    // A rotation keeps the sign-in as long as the refresh token it issues.
    store
        .insert_token_family(&family, now_ms + 30 * 86_400_000)
        .await
        .expect("rotate");
    let rotated = ttl_of(
        &store,
        "SELECT TTL(created_at_ms) FROM token_families_by_account \
         WHERE account_id = ? AND family_id = ?",
        (family.account_id.0, family.family_id),
    )
    .await
    .expect("ttl");
    let expected = 31 * 86_400;
    assert!(
        (expected - 60..=expected).contains(&rotated),
        "ttl {rotated}"
    );

    // Revoked, it stays revoked for as long as any of its rows lives.
    store
        .revoke_token_family(family.family_id, now_ms)
        .await
        .expect("revoke");
    let revoked = ttl_of(
        &store,
        "SELECT TTL(revoked_at_ms) FROM token_families WHERE family_id = ?",
        (family.family_id,),
    )
    .await
    .expect("ttl");
    assert!(revoked > rotated + 30 * 86_400, "revocation ttl {revoked}");
    let revoked = ttl_of(
        &store,
        "SELECT TTL(revoked_at_ms) FROM token_families_by_account \
         WHERE account_id = ? AND family_id = ?",
        (family.account_id.0, family.family_id),
    )
    .await
    .expect("ttl");
    assert!(revoked > rotated + 30 * 86_400, "revocation ttl {revoked}");
    assert_eq!(
        store
            .token_families_of(family.account_id)
            .await
            .expect("families")
            .len(),
        1
    );
}

/// An import adds to the roster's size and a removal takes from it, and
/// reading the size never scans the roster (the node counts no range read of
/// the table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_size_is_kept_without_scanning_the_roster() {
    use crate::store::{PhoneHash, RosterEntry, RosterStore};

    let Some((store, _dropper)) = fresh_store("roster size").await else {
        return;
    };
    let entry = |index: u32| {
        let mut hash = [0; 32];
        hash[..4].copy_from_slice(&index.to_be_bytes());
        RosterEntry {
            phone_hash: PhoneHash(hash),
            phone_sealed: vec![1; 40],
            display_name: format!("Officer {index}"),
            badge: format!("{index}"),
            department: "Central".to_owned(),
            updated_at_ms: 1_780_000_000_000,
        }
    };
    let first_import: Vec<RosterEntry> = (0..250).map(entry).collect();
    store
        .upsert_roster_entries(&first_import)
        .await
        .expect("import");
    assert_eq!(store.roster_size().await.expect("size"), 250);
    // The same officers again and ten new ones.
    let second_import: Vec<RosterEntry> = (200..260).map(entry).collect();
    store
        .upsert_roster_entries(&second_import)
        .await
        .expect("import again");
    for index in 0..5 {
        assert!(
            store
                .remove_roster_entry(&entry(index).phone_hash)
                .await
                .expect("remove")
        );
    }
    assert!(
        !store
            .remove_roster_entry(&entry(0).phone_hash)
            .await
            .expect("remove twice")
    );

    assert_eq!(store.roster_size().await.expect("size"), 255);

    let connected = store.connected().expect("connected");
    let scans: Vec<(String, i64)> = connected
        .session
        .query_unpaged(
            "SELECT table_name, count FROM system_views.local_scan_latency \
             WHERE keyspace_name = ?",
            (store.keyspace.as_str(),),
        )
        .await
        .expect("read the node's scan counters")
        .into_rows_result()
        .expect("rows")
        .rows::<(String, i64)>()
        .expect("typed rows")
        .map(|row| row.expect("row"))
        .filter(|(table, count)| table.as_str() == "roster" && *count > 0)
        .collect();
    assert!(scans.is_empty(), "the roster was scanned: {scans:?}");
}

/// A keyspace written before schema version 6 has officers on its roster but
/// no size counted: the first node to connect after the upgrade counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_size_is_counted_once_at_the_upgrade() {
    use crate::store::RosterStore;

    let Some((store, dropper)) = fresh_store("roster upgrade").await else {
        return;
    };
    let settings = dropper.settings.clone();
    let connected = store.connected().expect("connected");
    // What a version-5 node left: three officers, no counter.
    for byte in 1..=3_u8 {
        connected
            .session
            .query_unpaged(
                "INSERT INTO roster (phone_hash, phone_sealed, display_name, badge, department, \
                 updated_at_ms) VALUES (?, ?, 'Officer', '1', 'Central', 0)",
                (vec![byte; 32], vec![1_u8; 40]),
            )
            .await
            .expect("write a version-5 roster row");
    }
    connected
        .session
        .query_unpaged(
            "UPDATE schema_version SET version = 5 WHERE component = 'heyblue'",
            (),
        )
        .await
        .expect("pretend the keyspace is at version 5");
    assert_eq!(store.roster_size().await.expect("size"), 0);

    let upgraded = ScyllaStore::connect(settings.clone())
        .await
        .expect("upgrade");
    assert_eq!(upgraded.roster_size().await.expect("size"), 3);
    let again = ScyllaStore::connect(settings).await.expect("reconnect");
    assert_eq!(again.roster_size().await.expect("size"), 3, "counted once");
}

/// Rows read only for a day, a cooldown or an offer's window carry a TTL: a
/// rewarded connection's day row and pair row, and a per-person limit slot of
/// a day window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_scoped_rows_carry_a_ttl() {
    use crate::domain::catalog::LimitPeriod;
    use crate::domain::voucher::LimitWindow;
    use crate::store::RedemptionStore;

    let Some((store, _dropper)) = fresh_store("day ttl").await else {
        return;
    };
    let now_ms = crate::clock::Clock::system().now_ms();
    let record = connection_at(now_ms);
    store.insert_connection(&record).await.expect("insert");
    let (first, second) =
        super::connections::ordered_pair(record.citizen.account_id, record.officer.account_id);
    let pair_row = ttl_of(
        &store,
        "SELECT TTL(established_at_ms) FROM pair_last_rewarded \
         WHERE first_id = ? AND second_id = ?",
        (first.0, second.0),
    )
    .await;
    let offer_id = Uuid::new_v4();
    let window = LimitWindow::holding(LimitPeriod::Day, now_ms);
    store
        .claim_limit_slot(
            record.citizen.account_id,
            offer_id,
            window,
            1,
            Uuid::new_v4(),
        )
        .await
        .expect("claim");
    let slot_row = ttl_of(
        &store,
        "SELECT TTL(holder) FROM limit_slots \
         WHERE account_id = ? AND offer_id = ? AND limit_window = ? AND slot = 0",
        (record.citizen.account_id.0, offer_id, window.key_text()),
    )
    .await;

    // rewarded_connections_by_day has key columns only: its TTL is the
    // table's default.
    let connected = store.connected().expect("connected");
    let (day_table_ttl,): (i32,) = connected
        .session
        .query_unpaged(
            "SELECT default_time_to_live FROM system_schema.tables \
             WHERE keyspace_name = ? AND table_name = 'rewarded_connections_by_day'",
            (store.keyspace.as_str(),),
        )
        .await
        .expect("read the table's options")
        .into_rows_result()
        .expect("rows")
        .single_row()
        .expect("one row");

    let two_days = 2 * 86_400;
    assert_eq!(
        i64::from(day_table_ttl),
        two_days,
        "rewarded_connections_by_day"
    );
    let pair_ttl = pair_row.expect("pair_last_rewarded rows carry a ttl");
    assert!(
        (8 * 86_400 - 60..=8 * 86_400).contains(&pair_ttl),
        "pair_last_rewarded ttl {pair_ttl}"
    );
    let slot_ttl = slot_row.expect("limit_slots rows carry a ttl");
    assert!(
        (two_days - 60..=two_days).contains(&slot_ttl),
        "limit_slots ttl {slot_ttl}"
    );
}
