//! The exactly-once flow against the embedded store: reruns, 100 concurrent
//! accepts, injected store failures at every step followed by recovery, the
//! anti-farming rules, and each trophy awarded once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use uuid::Uuid;

use super::failing_store::{FailMode, FailPoint, FailingStore};
use super::*;
use crate::domain::connection::Observed;
use crate::domain::trophy_marks::MarkChanges;
use crate::geo::LatLng;
use crate::store::embedded::EmbeddedStore;
use crate::store::{ConnectionStore, LedgerStore, ProfileStore, TrophyStore};

/// Times Square.
pub(super) const TIMES_SQUARE: (f64, f64) = (40.758_0, -73.985_5);
const HOBOKEN: (f64, f64) = (40.744_0, -74.032_4);
const FLATBUSH: (f64, f64) = (40.650_0, -73.950_0);
const DAY: Duration = Duration::from_secs(86_400);

/// A service over a failing store over a fresh embedded store.
pub(super) struct Harness {
    pub(super) store: Arc<FailingStore>,
    pub(super) connections: Connections,
    pub(super) profiles: Profiles,
    pub(super) clock: Clock,
    _dir: tempfile::TempDir,
}

pub(super) fn rules() -> RewardRules {
    RewardRules {
        co_location_required: true,
        nearby_threshold_m: 250.0,
        position_max_age_ms: 60_000,
        pair_cooldown_ms: 24 * 3_600_000,
        daily_rewarded_connections: 5,
        citizen_points: 10,
        officer_points: 10,
    }
}

pub(super) async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let embedded: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).await.unwrap());
    let store = Arc::new(FailingStore::new(embedded));
    let clock = Clock::starting_at(1_800_000_000_000);
    let profiles = Profiles::new(store.clone(), clock);
    let connections = Connections::new(store.clone(), profiles.clone(), clock, rules());
    Harness {
        store,
        connections,
        profiles,
        clock,
        _dir: dir,
    }
}

impl Harness {
    pub(super) async fn person(&self, role: Role) -> AccountId {
        let account_id = AccountId::random();
        self.profiles
            .create(account_id, "Someone".to_owned(), role)
            .await
            .unwrap();
        account_id
    }

    /// An accept now, both people at `at`.
    pub(super) fn accepted(
        &self,
        request_id: Uuid,
        citizen: AccountId,
        officer: AccountId,
        at: (f64, f64),
    ) -> AcceptedRequest {
        let now = self.clock.now_ms();
        let seen = Some(Observed {
            position: LatLng::new(at.0, at.1).unwrap(),
            at_ms: now - 1_000,
        });
        AcceptedRequest {
            mode: Default::default(),
            request_id,
            citizen,
            officer,
            accepted_at_ms: now,
            citizen_seen: seen,
            officer_seen: seen,
        }
    }

    async fn connect(&self, citizen: AccountId, officer: AccountId, at: (f64, f64)) -> Established {
        let accepted = self.accepted(Uuid::new_v4(), citizen, officer, at);
        self.connections.establish(&accepted).await.unwrap()
    }
}

/// Checks the ledger and profile invariants of `accounts`: balance = sum of
/// entries, no entry id twice, and every complete record has exactly its credits
/// and one event per person (incomplete ones at most that).
pub(super) async fn assert_exactly_once(store: &Arc<FailingStore>, accounts: &[AccountId]) {
    let incomplete: HashSet<Uuid> = store
        .incomplete_connections(1_800_000_000_000, usize::MAX)
        .await
        .unwrap()
        .iter()
        .map(|record| record.connection_id)
        .collect();
    for account in accounts {
        let entries = store.ledger_page(*account, None, usize::MAX).await.unwrap();
        let ids: HashSet<Uuid> = entries.iter().map(|entry| entry.entry_id).collect();
        assert_eq!(ids.len(), entries.len(), "an entry id appears twice");
        let sum: i64 = entries.iter().map(|entry| entry.delta).sum();
        assert_eq!(store.balance(*account).await.unwrap(), sum);
        let events = store
            .profile_events(*account, None, usize::MAX)
            .await
            .unwrap();
        let mut event_count: HashMap<Uuid, usize> = HashMap::new();
        let mut trophy_events: HashMap<TrophyId, usize> = HashMap::new();
        for event in &events {
            match &event.kind {
                ProfileEventKind::ConnectionEstablished { connection_id, .. } => {
                    *event_count.entry(connection_id.to_owned()).or_default() += 1;
                }
                ProfileEventKind::TrophyAwarded { trophy, .. } => {
                    *trophy_events.entry(trophy.to_owned()).or_default() += 1;
                }
                ProfileEventKind::ProfileCreated { .. }
                | ProfileEventKind::ProfileUpdated(_)
                | ProfileEventKind::RoleChanged { .. }
                | ProfileEventKind::VoucherIssued { .. }
                | ProfileEventKind::VoucherRedeemed { .. }
                | ProfileEventKind::DonationMade { .. }
                | ProfileEventKind::AccountDeleted => {}
            }
        }
        assert!(
            trophy_events.values().all(|count| *count == 1),
            "a trophy event twice"
        );
        let held = store.trophies_of(*account).await.unwrap();
        for record in store
            .connections_of(*account, None, usize::MAX)
            .await
            .unwrap()
        {
            let party = record.party(*account).unwrap();
            let credits = entries
                .iter()
                .filter(|entry| entry.reference == Some(record.connection_id))
                .count();
            let expected_credits = usize::from(party.points > 0);
            let events = event_count.get(&record.connection_id).copied().unwrap_or(0);
            if incomplete.contains(&record.connection_id) {
                assert!(credits <= expected_credits && events <= 1);
            } else {
                assert_eq!(
                    credits, expected_credits,
                    "a complete record without its credit"
                );
                assert_eq!(events, 1, "a complete record without its event");
            }
        }
        if incomplete.is_empty() {
            let awarded: HashSet<TrophyId> = held.iter().map(|award| award.trophy).collect();
            let evented: HashSet<TrophyId> = trophy_events.keys().copied().collect();
            assert_eq!(awarded, evented, "trophies and their events differ");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn without_the_officer_s_position_the_record_names_no_place() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let officer = harness.person(Role::Officer).await;
    let accepted = AcceptedRequest {
        officer_seen: None,
        ..harness.accepted(Uuid::new_v4(), citizen, officer, TIMES_SQUARE)
    };
    let established = harness.connections.establish(&accepted).await.unwrap();
    assert_eq!(established.record.cell_r7, None, "not the citizen's cell");
    assert_eq!(established.record.zip, None);
}

#[tokio::test(start_paused = true)]
async fn establishing_credits_both_once_and_a_rerun_changes_nothing() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let officer = harness.person(Role::Officer).await;
    let accepted = harness.accepted(Uuid::new_v4(), citizen, officer, TIMES_SQUARE);
    let first = harness.connections.establish(&accepted).await.unwrap();
    assert_eq!(first.record.connection_id, accepted.request_id);
    assert_eq!((first.citizen.points, first.citizen.balance), (10, 10));
    assert_eq!((first.officer.points, first.officer.balance), (10, 10));
    assert_eq!(first.citizen.new_trophies, vec![TrophyId::FirstConnection]);
    // The place is the officer's resolution-7 cell, and its ZIP that of the
    // cell's centre: the ZIP never narrows the place below the cell.
    let cell = geo::record_cell(LatLng::new(TIMES_SQUARE.0, TIMES_SQUARE.1).unwrap());
    assert_eq!(first.record.cell_r7, Some(u64::from(cell)));
    assert_eq!(first.record.zip, geo::record_zip(cell));
    assert!(first.record.zip.is_some());

    let again = harness.connections.establish(&accepted).await.unwrap();
    assert_eq!(again.record, first.record);
    assert_eq!(again.citizen.balance, 10);
    assert!(again.citizen.new_trophies.is_empty());
    assert_exactly_once(&harness.store, &[citizen, officer]).await;
    assert!(
        harness
            .store
            .incomplete_connections(harness.clock.now_ms(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_accepts_write_one_record_and_one_credit_per_person() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let officer = harness.person(Role::Officer).await;
    let accepted = harness.accepted(Uuid::new_v4(), citizen, officer, TIMES_SQUARE);
    let mut accepts = JoinSet::new();
    for _ in 0..100 {
        let connections = harness.connections.clone();
        let accepted = accepted.clone();
        accepts.spawn(async move { connections.establish(&accepted).await });
    }
    let mut trophies_pushed = 0;
    while let Some(joined) = accepts.join_next().await {
        let established = joined.unwrap().unwrap();
        assert_eq!(established.record.connection_id, accepted.request_id);
        trophies_pushed += established.citizen.new_trophies.len();
    }
    assert_eq!(trophies_pushed, 1);
    assert_eq!(
        harness
            .store
            .connections_of(citizen, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    for person in [citizen, officer] {
        assert_eq!(
            harness
                .store
                .ledger_page(person, None, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(harness.store.balance(person).await.unwrap(), 10);
    }
    assert_exactly_once(&harness.store, &[citizen, officer]).await;
}

#[tokio::test(start_paused = true)]
async fn a_failure_between_the_record_and_the_credits_is_recovered_exactly_once() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let officer = harness.person(Role::Officer).await;
    let accepted = harness.accepted(Uuid::new_v4(), citizen, officer, TIMES_SQUARE);
    harness
        .store
        .fail(FailPoint::AppendLedgerEntry, FailMode::Before, 0);
    assert!(harness.connections.establish(&accepted).await.is_err());
    assert!(
        harness
            .store
            .connection(accepted.request_id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(harness.store.balance(citizen).await.unwrap(), 0);
    assert_exactly_once(&harness.store, &[citizen, officer]).await;

    assert_eq!(harness.connections.recover().await.unwrap().finished, 1);
    assert_eq!(harness.connections.recover().await.unwrap().finished, 0);
    for person in [citizen, officer] {
        assert_eq!(harness.store.balance(person).await.unwrap(), 10);
    }
    assert_exactly_once(&harness.store, &[citizen, officer]).await;
    let retried = harness.connections.establish(&accepted).await.unwrap();
    assert_eq!(retried.citizen.balance, 10);
    assert_exactly_once(&harness.store, &[citizen, officer]).await;
}

#[tokio::test(start_paused = true)]
async fn a_failure_at_any_step_converges_after_recovery_and_retry() {
    let points = [
        FailPoint::InsertConnection,
        FailPoint::AppendLedgerEntry,
        FailPoint::AppendProfileEvent,
        FailPoint::AwardTrophy,
        FailPoint::CompleteConnection,
    ];
    for point in points {
        for mode in [FailMode::Before, FailMode::After] {
            for skip in [0, 1] {
                let harness = harness().await;
                let citizen = harness.person(Role::Citizen).await;
                let officer = harness.person(Role::Officer).await;
                let accepted = harness.accepted(Uuid::new_v4(), citizen, officer, TIMES_SQUARE);
                harness.store.fail(point, mode, skip);
                let first = harness.connections.establish(&accepted).await;
                assert_eq!(
                    first.is_err(),
                    !harness.store.is_armed(),
                    "{point:?} {mode:?} {skip}"
                );
                harness.store.disarm();
                assert_exactly_once(&harness.store, &[citizen, officer]).await;
                harness.connections.recover().await.unwrap();
                harness.connections.establish(&accepted).await.unwrap();
                harness.connections.establish(&accepted).await.unwrap();
                assert_exactly_once(&harness.store, &[citizen, officer]).await;
                for person in [citizen, officer] {
                    assert_eq!(
                        harness.store.balance(person).await.unwrap(),
                        10,
                        "{point:?} {mode:?}"
                    );
                    assert_eq!(harness.store.trophies_of(person).await.unwrap().len(), 1);
                }
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_pair_is_rewarded_once_per_cooldown() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let officer = harness.person(Role::Officer).await;
    assert_eq!(
        harness
            .connect(citizen, officer, TIMES_SQUARE)
            .await
            .citizen
            .points,
        10
    );
    tokio::time::advance(Duration::from_secs(23 * 3600)).await;
    let again = harness.connect(citizen, officer, TIMES_SQUARE).await;
    assert_eq!((again.citizen.points, again.officer.points), (0, 0));
    assert_eq!(again.citizen.withheld, Some(RewardWithheld::PairCooldown));
    assert_eq!(again.citizen.balance, 10);
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(
        harness
            .connect(citizen, officer, TIMES_SQUARE)
            .await
            .officer
            .points,
        10
    );
    assert_exactly_once(&harness.store, &[citizen, officer]).await;
}

#[tokio::test(start_paused = true)]
async fn a_person_is_rewarded_at_most_five_times_a_day() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let mut officers = Vec::new();
    for _ in 0..6 {
        let officer = harness.person(Role::Officer).await;
        officers.push(officer);
        let established = harness.connect(citizen, officer, TIMES_SQUARE).await;
        if officers.len() <= 5 {
            assert_eq!(established.citizen.points, 10);
        } else {
            assert_eq!(established.citizen.withheld, Some(RewardWithheld::DailyCap));
            assert_eq!(
                established.officer.points, 10,
                "the officer is under the cap"
            );
        }
    }
    assert_eq!(harness.store.balance(citizen).await.unwrap(), 50);
    officers.push(citizen);
    assert_exactly_once(&harness.store, &officers).await;
}

#[tokio::test(start_paused = true)]
async fn far_apart_or_stale_positions_establish_without_points() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let officer = harness.person(Role::Officer).await;
    let mut far = harness.accepted(Uuid::new_v4(), citizen, officer, TIMES_SQUARE);
    far.officer_seen = Some(Observed {
        position: LatLng::new(HOBOKEN.0, HOBOKEN.1).unwrap(),
        at_ms: far.accepted_at_ms,
    });
    let established = harness.connections.establish(&far).await.unwrap();
    assert_eq!(
        established.citizen.withheld,
        Some(RewardWithheld::NotCoLocated)
    );
    assert_eq!(established.citizen.balance, 0);
    assert!(established.citizen.new_trophies.is_empty());
    let mut stale = harness.accepted(Uuid::new_v4(), citizen, officer, TIMES_SQUARE);
    stale.citizen_seen = None;
    let established = harness.connections.establish(&stale).await.unwrap();
    assert_eq!(
        established.officer.withheld,
        Some(RewardWithheld::StalePosition)
    );
    assert_exactly_once(&harness.store, &[citizen, officer]).await;
}

/// Awards every trophy `citizen` earned so far, by id, from the service's answers.
fn collect(trophies: &mut Vec<TrophyId>, established: &Established) {
    trophies.extend(established.citizen.new_trophies.iter().copied());
}

#[tokio::test(start_paused = true)]
async fn ten_connections_and_five_people_are_each_awarded_once() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let mut awarded = Vec::new();
    let mut people = vec![citizen];
    for index in 0..12 {
        let officer = harness.person(Role::Officer).await;
        people.push(officer);
        collect(
            &mut awarded,
            &harness.connect(citizen, officer, TIMES_SQUARE).await,
        );
        if index % 4 == 3 {
            tokio::time::advance(DAY).await;
        }
    }
    assert_eq!(
        awarded,
        vec![
            TrophyId::FirstConnection,
            TrophyId::FivePeople,
            TrophyId::TenConnections
        ]
    );
    assert_exactly_once(&harness.store, &people).await;
}

#[tokio::test(start_paused = true)]
async fn three_zips_and_a_week_streak_are_each_awarded_once() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let officer = harness.person(Role::Officer).await;
    let mut awarded = Vec::new();
    for place in [TIMES_SQUARE, HOBOKEN, FLATBUSH, TIMES_SQUARE] {
        let other = harness.person(Role::Officer).await;
        collect(&mut awarded, &harness.connect(citizen, other, place).await);
    }
    assert_eq!(
        awarded,
        vec![TrophyId::FirstConnection, TrophyId::ThreeZips]
    );
    for _ in 0..8 {
        tokio::time::advance(DAY).await;
        collect(
            &mut awarded,
            &harness.connect(citizen, officer, TIMES_SQUARE).await,
        );
    }
    assert_eq!(
        awarded,
        vec![
            TrophyId::FirstConnection,
            TrophyId::ThreeZips,
            TrophyId::FivePeople,
            TrophyId::TenConnections,
            TrophyId::WeekStreak
        ]
    );
    let held = harness.store.trophies_of(citizen).await.unwrap();
    assert_eq!(held.len(), 5);
    assert_exactly_once(&harness.store, &[citizen, officer]).await;
}

#[tokio::test(start_paused = true)]
async fn trophy_checks_read_a_history_once_however_long_it_grows() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let mut people = vec![citizen];
    for _ in 0..12 {
        let officer = harness.person(Role::Officer).await;
        people.push(officer);
        harness.connect(citizen, officer, TIMES_SQUARE).await;
    }
    // Each person's first rewarded connection reads their (one-connection)
    // history; nothing reads it after that.
    assert_eq!(harness.store.history_reads(), people.len());
    let marks = harness.store.trophy_marks(citizen).await.unwrap();
    assert!(marks.len() <= 10 + 5 + 3 + 7, "{} marks", marks.len());
    assert_exactly_once(&harness.store, &people).await;
}

#[tokio::test(start_paused = true)]
async fn a_person_without_marks_is_counted_from_their_history() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let mut awarded = Vec::new();
    for index in 0..9 {
        let officer = harness.person(Role::Officer).await;
        collect(
            &mut awarded,
            &harness.connect(citizen, officer, TIMES_SQUARE).await,
        );
        if index % 4 == 3 {
            tokio::time::advance(DAY).await;
        }
    }
    // As a person who connected before marks were kept.
    let held = harness.store.trophy_marks(citizen).await.unwrap();
    let forget_all = MarkChanges {
        add: Vec::new(),
        forget: held,
    };
    harness
        .store
        .change_trophy_marks(citizen, &forget_all)
        .await
        .unwrap();
    assert!(
        harness
            .store
            .trophy_marks(citizen)
            .await
            .unwrap()
            .is_empty()
    );
    let officer = harness.person(Role::Officer).await;
    collect(
        &mut awarded,
        &harness.connect(citizen, officer, TIMES_SQUARE).await,
    );
    assert_eq!(
        awarded,
        vec![
            TrophyId::FirstConnection,
            TrophyId::FivePeople,
            TrophyId::TenConnections
        ]
    );
}

#[tokio::test]
async fn virtual_connections_follow_their_own_rules_and_count_toward_the_day() {
    let harness = harness().await;
    let citizen = harness.person(Role::Citizen).await;
    let mut officers = Vec::new();
    for _ in 0..5 {
        officers.push(harness.person(Role::Officer).await);
    }
    let mut rewarded = Vec::new();
    for officer in &officers[..4] {
        // Miles apart: no co-location, which virtual connections do not need.
        let mut accepted = harness.accepted(Uuid::new_v4(), citizen, *officer, TIMES_SQUARE);
        accepted.mode = ConnectionMode::Virtual;
        accepted.officer_seen = Some(Observed {
            position: LatLng::new(FLATBUSH.0, FLATBUSH.1).unwrap(),
            at_ms: accepted.accepted_at_ms,
        });
        let established = harness.connections.establish(&accepted).await.unwrap();
        assert_eq!(established.record.mode, ConnectionMode::Virtual);
        rewarded.push((established.citizen.points, established.citizen.withheld));
    }
    assert_eq!(
        rewarded,
        vec![
            (5, None),
            (5, None),
            (5, None),
            (0, Some(RewardWithheld::DailyCap)),
        ],
        "5 points each, 3 a day"
    );
    // The three count toward the in-person cap of 5: a fourth rewarded
    // connection of the day is still open to an in-person meeting.
    let in_person = harness.connect(citizen, officers[4], HOBOKEN).await;
    assert_eq!(in_person.record.mode, ConnectionMode::InPerson);
    assert_eq!(
        (in_person.citizen.points, in_person.citizen.withheld),
        (10, None)
    );
    let stored = harness
        .store
        .connection(in_person.record.connection_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.mode, ConnectionMode::InPerson);
    assert_eq!(harness.store.balance(citizen).await.unwrap(), 25);
}
