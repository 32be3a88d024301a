//! Contract of [`ConnectionStore`](crate::store::ConnectionStore),
//! [`LedgerStore`](crate::store::LedgerStore) and
//! [`TrophyStore`](crate::store::TrophyStore): records once per id, reward facts,
//! the incomplete mark, idempotent ledger appends with a derived balance, and
//! trophies held once, and trophy marks as a set per person.

use std::sync::Arc;

use uuid::Uuid;

use super::samples::NOW_MS;
use super::{CONCURRENT_CALLERS, race};
use crate::domain::AccountId;
use crate::domain::connection::RewardWithheld;
use crate::domain::trophies::TrophyId;
use crate::domain::trophy_marks::{MarkChanges, TrophyMark};
use crate::store::{
    AwardOutcome, ConnectionCursor, ConnectionParty, ConnectionRecord, InsertConnectionOutcome,
    LedgerAppend, LedgerReason, NewLedgerEntry, Store, TrophyAward,
};

const DAY_MS: i64 = 86_400_000;

fn record(citizen: AccountId, officer: AccountId, at_ms: i64, points: i64) -> ConnectionRecord {
    let withheld = (points == 0).then_some(RewardWithheld::PairCooldown);
    ConnectionRecord {
        mode: Default::default(),
        connection_id: Uuid::new_v4(),
        citizen: ConnectionParty {
            account_id: citizen,
            points,
            withheld,
        },
        officer: ConnectionParty {
            account_id: officer,
            points,
            withheld,
        },
        established_at_ms: at_ms,
        cell_r7: Some(0x0872_a107_2bff_ffff),
        zip: Some("10036".to_owned()),
    }
}

fn credit(account_id: AccountId, delta: i64) -> NewLedgerEntry {
    NewLedgerEntry {
        entry_id: Uuid::new_v4(),
        account_id,
        at_ms: NOW_MS,
        delta,
        reason: LedgerReason::Connection,
        reference: None,
    }
}

/// A record is written once; a second insert of its id returns the stored one;
/// its mode is kept.
pub(crate) async fn inserting_a_connection_is_conditional_on_its_id(store: Arc<dyn Store>) {
    let first = record(AccountId::random(), AccountId::random(), NOW_MS, 10);
    let mut rival = first.clone();
    rival.established_at_ms += 5;
    assert_eq!(
        store.insert_connection(&first).await.expect("insert"),
        InsertConnectionOutcome::Inserted
    );
    assert_eq!(
        store.insert_connection(&rival).await.expect("insert"),
        InsertConnectionOutcome::Exists(Box::new(first.clone()))
    );
    assert_eq!(
        store.connection(first.connection_id).await.expect("read"),
        Some(first)
    );
    assert_eq!(store.connection(Uuid::new_v4()).await.expect("read"), None);
    // A virtual connection's mode is kept (a missing one reads as in person).
    let mut remote = record(AccountId::random(), AccountId::random(), NOW_MS, 5);
    remote.mode = crate::domain::connection::ConnectionMode::Virtual;
    store.insert_connection(&remote).await.expect("insert");
    assert_eq!(
        store.connection(remote.connection_id).await.expect("read"),
        Some(remote)
    );
}

/// Of many concurrent inserts of one id exactly one inserts, and the reward
/// counters move once.
pub(crate) async fn concurrent_inserts_of_one_connection_insert_exactly_once(
    store: Arc<dyn Store>,
) {
    let shared = record(AccountId::random(), AccountId::random(), NOW_MS, 10);
    let results = race(&store, |store, _| {
        let shared = shared.clone();
        async move { store.insert_connection(&shared).await.expect("insert") }
    })
    .await;
    let inserted = results
        .iter()
        .filter(|(_, outcome)| *outcome == InsertConnectionOutcome::Inserted)
        .count();
    assert_eq!(inserted, 1);
    assert_eq!(results.len(), CONCURRENT_CALLERS);
    let day = crate::domain::connection::utc_day(NOW_MS);
    assert_eq!(
        store
            .rewarded_connections_on_day(shared.citizen.account_id, day)
            .await
            .expect("read"),
        1
    );
}

/// A person's connections page newest first, with an exclusive cursor.
pub(crate) async fn connections_page_newest_first_per_person(store: Arc<dyn Store>) {
    let citizen = AccountId::random();
    let mut written = Vec::new();
    for offset in 0..5 {
        let connection = record(citizen, AccountId::random(), NOW_MS + offset * 1_000, 10);
        store.insert_connection(&connection).await.expect("insert");
        written.push(connection);
    }
    store
        .insert_connection(&record(
            AccountId::random(),
            AccountId::random(),
            NOW_MS,
            10,
        ))
        .await
        .expect("insert");
    let everything = store.connections_of(citizen, None, 10).await.expect("read");
    let newest_first: Vec<ConnectionRecord> = written.iter().rev().cloned().collect();
    assert_eq!(everything, newest_first);
    let first_page = store.connections_of(citizen, None, 2).await.expect("read");
    assert_eq!(first_page, newest_first[..2].to_vec());
    let last = &first_page[1];
    let cursor = ConnectionCursor {
        established_at_ms: last.established_at_ms,
        connection_id: last.connection_id,
    };
    let second_page = store
        .connections_of(citizen, Some(cursor), 10)
        .await
        .expect("read");
    assert_eq!(second_page, newest_first[2..].to_vec());
    let officer = written[0].officer.account_id;
    assert_eq!(
        store.connections_of(officer, None, 10).await.expect("read"),
        vec![written[0].clone()]
    );
}

/// The pair's last reward and the daily counts see rewarded parties only.
pub(crate) async fn reward_facts_count_rewarded_connections_only(store: Arc<dyn Store>) {
    let citizen = AccountId::random();
    let officer = AccountId::random();
    let day = crate::domain::connection::utc_day(NOW_MS);
    assert_eq!(
        store
            .last_rewarded_pair_connection_ms(citizen, officer)
            .await
            .expect("read"),
        None
    );
    store
        .insert_connection(&record(citizen, officer, NOW_MS, 10))
        .await
        .expect("insert");
    store
        .insert_connection(&record(citizen, officer, NOW_MS + 60_000, 0))
        .await
        .expect("insert");
    store
        .insert_connection(&record(citizen, AccountId::random(), NOW_MS + DAY_MS, 10))
        .await
        .expect("insert");
    let mut half = record(AccountId::random(), officer, NOW_MS + 1, 10);
    half.citizen.points = 0;
    half.citizen.withheld = Some(RewardWithheld::DailyCap);
    store.insert_connection(&half).await.expect("insert");

    assert_eq!(
        store
            .last_rewarded_pair_connection_ms(officer, citizen)
            .await
            .expect("read"),
        Some(NOW_MS)
    );
    let count = |account, day| {
        let store = Arc::clone(&store);
        async move {
            store
                .rewarded_connections_on_day(account, day)
                .await
                .expect("read")
        }
    };
    assert_eq!(count(citizen, day).await, 1);
    assert_eq!(count(citizen, day + 1).await, 1);
    assert_eq!(count(officer, day).await, 2);
    assert_eq!(count(half.citizen.account_id, day).await, 0);
}

/// New records are incomplete until marked complete.
pub(crate) async fn records_are_incomplete_until_completed(store: Arc<dyn Store>) {
    let first = record(AccountId::random(), AccountId::random(), NOW_MS, 10);
    let second = record(AccountId::random(), AccountId::random(), NOW_MS, 10);
    store.insert_connection(&first).await.expect("insert");
    store.insert_connection(&second).await.expect("insert");
    let mut incomplete = store
        .incomplete_connections(NOW_MS, 10)
        .await
        .expect("read");
    incomplete.sort_by_key(|record| record.connection_id);
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort_by_key(|record| record.connection_id);
    assert_eq!(incomplete, expected);
    store.complete_connection(&first).await.expect("complete");
    store
        .complete_connection(&first)
        .await
        .expect("complete twice");
    assert_eq!(
        store
            .incomplete_connections(NOW_MS, 10)
            .await
            .expect("read"),
        vec![second]
    );
}

/// An entry id is appended once; the balance is the sum of entries; a debit
/// cannot overdraw.
pub(crate) async fn ledger_appends_are_idempotent_and_balances_derived(store: Arc<dyn Store>) {
    let account = AccountId::random();
    let first = credit(account, 10);
    let LedgerAppend::Appended(stored) = store.append_ledger_entry(&first).await.expect("append")
    else {
        panic!("first append appends");
    };
    assert_eq!((stored.seq, stored.balance_after), (1, 10));
    assert_eq!(
        store.append_ledger_entry(&first).await.expect("append"),
        LedgerAppend::Duplicate(stored.clone())
    );
    store
        .append_ledger_entry(&credit(account, 5))
        .await
        .expect("append");
    assert_eq!(
        store
            .append_ledger_entry(&credit(account, -16))
            .await
            .expect("append"),
        LedgerAppend::InsufficientBalance { balance: 15 }
    );
    let LedgerAppend::Appended(debit) = store
        .append_ledger_entry(&credit(account, -15))
        .await
        .expect("append")
    else {
        panic!("a covered debit appends");
    };
    assert_eq!((debit.seq, debit.balance_after), (3, 0));
    assert_eq!(store.balance(account).await.expect("read"), 0);
    assert_eq!(store.balance(AccountId::random()).await.expect("read"), 0);
    let oldest = store.ledger_page(account, Some(2), 1).await.expect("read");
    assert_eq!(oldest, vec![stored]);
}

/// Entries page newest first with an exclusive `before_seq`.
pub(crate) async fn ledger_pages_newest_first(store: Arc<dyn Store>) {
    let account = AccountId::random();
    for delta in 1..=5 {
        store
            .append_ledger_entry(&credit(account, delta))
            .await
            .expect("append");
    }
    store
        .append_ledger_entry(&credit(AccountId::random(), 7))
        .await
        .expect("append");
    let seqs = |entries: Vec<crate::store::LedgerEntry>| {
        entries.iter().map(|entry| entry.seq).collect::<Vec<_>>()
    };
    let page = |before, limit| {
        let store = Arc::clone(&store);
        async move {
            store
                .ledger_page(account, before, limit)
                .await
                .expect("read")
        }
    };
    assert_eq!(seqs(page(None, 10).await), vec![5, 4, 3, 2, 1]);
    assert_eq!(seqs(page(None, 2).await), vec![5, 4]);
    assert_eq!(seqs(page(Some(4), 2).await), vec![3, 2]);
    assert_eq!(seqs(page(Some(1), 10).await), Vec::<u64>::new());
    let everything = page(None, 10).await;
    let sum: i64 = everything.iter().map(|entry| entry.delta).sum();
    assert_eq!(store.balance(account).await.expect("read"), sum);
}

/// Of 100 concurrent appends of one entry id exactly one appends.
pub(crate) async fn concurrent_duplicate_appends_append_exactly_once(store: Arc<dyn Store>) {
    let account = AccountId::random();
    let shared = credit(account, 10);
    let results = race(&store, |store, _| {
        let shared = shared.clone();
        async move { store.append_ledger_entry(&shared).await.expect("append") }
    })
    .await;
    let appended = results
        .iter()
        .filter(|(_, outcome)| matches!(outcome, LedgerAppend::Appended(_)))
        .count();
    assert_eq!(appended, 1);
    assert_eq!(store.balance(account).await.expect("read"), 10);
    assert_eq!(
        store
            .ledger_page(account, None, 10)
            .await
            .expect("read")
            .len(),
        1
    );
}

/// A trophy is held once, whoever races for it.
pub(crate) async fn trophies_are_awarded_once(store: Arc<dyn Store>) {
    let account = AccountId::random();
    let award = TrophyAward {
        account_id: account,
        trophy: TrophyId::FirstConnection,
        awarded_at_ms: NOW_MS,
        connection_id: Uuid::new_v4(),
    };
    let results = race(&store, |store, index| {
        let mut award = award.clone();
        award.awarded_at_ms += index as i64;
        async move { store.award_trophy(&award).await.expect("award") }
    })
    .await;
    let awarded = results
        .iter()
        .filter(|(_, outcome)| *outcome == AwardOutcome::Awarded)
        .count();
    assert_eq!(awarded, 1);
    let other = TrophyAward {
        trophy: TrophyId::ThreeZips,
        awarded_at_ms: NOW_MS + 1_000,
        ..award.clone()
    };
    assert_eq!(
        store.award_trophy(&other).await.expect("award"),
        AwardOutcome::Awarded
    );
    let held = store.trophies_of(account).await.expect("read");
    assert_eq!(held.len(), 2);
    assert_eq!(held[1], other);
    assert!(
        store
            .trophies_of(AccountId::random())
            .await
            .expect("read")
            .is_empty()
    );
}

/// Trophy marks are a set per person: added once however often, forgotten
/// when told, kept apart between people, and read back as written.
pub(crate) async fn trophy_marks_are_a_set_per_person(store: Arc<dyn Store>) {
    let account = AccountId::random();
    let peer = AccountId::random();
    let marks = vec![
        TrophyMark::Connection(Uuid::new_v4()),
        TrophyMark::Peer(peer),
        TrophyMark::Zip("10036".to_owned()),
        TrophyMark::Day(20_400),
        TrophyMark::Day(20_401),
    ];
    let add = MarkChanges {
        add: marks.clone(),
        forget: Vec::new(),
    };
    store.change_trophy_marks(account, &add).await.expect("add");
    store
        .change_trophy_marks(account, &add)
        .await
        .expect("add again");
    let mut read = store.trophy_marks(account).await.expect("read");
    read.sort();
    let mut expected = marks.clone();
    expected.sort();
    assert_eq!(read, expected);
    let forget = MarkChanges {
        add: vec![TrophyMark::Day(20_402)],
        forget: vec![TrophyMark::Day(20_400), TrophyMark::Zip("99999".to_owned())],
    };
    store
        .change_trophy_marks(account, &forget)
        .await
        .expect("forget");
    let read = store.trophy_marks(account).await.expect("read");
    assert_eq!(read.len(), marks.len());
    assert!(!read.contains(&TrophyMark::Day(20_400)));
    assert!(read.contains(&TrophyMark::Day(20_402)));
    assert!(store.trophy_marks(peer).await.expect("read").is_empty());
}
