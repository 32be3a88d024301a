//! The trophy rules through the marks: each threshold, streaks, the bound on
//! what is kept, reruns, and agreement with the rules applied to a whole
//! history (the reference model below) for any history counted in order.

use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;

use super::*;

const DAY_MS: i64 = 86_400_000;
const START_MS: i64 = 1_767_225_600_000;

fn counted(day: i64, peer: AccountId, zip: &str) -> CountedConnection {
    CountedConnection {
        connection_id: Uuid::new_v4(),
        at_ms: START_MS + day * DAY_MS + 3_600_000,
        peer,
        zip: Some(zip.to_owned()),
    }
}

/// The trophies `history`, counted in order, qualifies for.
fn qualifying(history: &[CountedConnection]) -> Vec<TrophyId> {
    let mut marks = TrophyMarks::default();
    for connection in history {
        marks.count(connection);
    }
    marks.qualifying()
}

/// The reference model: the rules applied to the whole history at once.
fn qualifying_whole(history: &[CountedConnection]) -> Vec<TrophyId> {
    let peers: HashSet<AccountId> = history.iter().map(|counted| counted.peer).collect();
    let zips: HashSet<&str> = history
        .iter()
        .filter_map(|counted| counted.zip.as_deref())
        .collect();
    let days: BTreeSet<i64> = history
        .iter()
        .map(|counted| utc_day(counted.at_ms))
        .collect();
    let mut longest = 0;
    let mut current = 0;
    let mut previous: Option<i64> = None;
    for day in days {
        current = if previous == Some(day - 1) {
            current + 1
        } else {
            1
        };
        longest = longest.max(current);
        previous = Some(day);
    }
    TrophyId::ALL
        .into_iter()
        .filter(|trophy| match trophy {
            TrophyId::FirstConnection => !history.is_empty(),
            TrophyId::TenConnections => history.len() >= TEN_CONNECTIONS,
            TrophyId::FivePeople => peers.len() >= FIVE_PEOPLE,
            TrophyId::ThreeZips => zips.len() >= THREE_ZIPS,
            TrophyId::WeekStreak => longest >= STREAK_DAYS,
        })
        .collect()
}

#[test]
fn nothing_qualifies_without_connections() {
    assert!(qualifying(&[]).is_empty());
    assert!(TrophyMarks::default().is_empty());
}

#[test]
fn each_rule_has_its_threshold() {
    let peer = AccountId::random();
    let mut history = vec![counted(0, peer, "10036")];
    assert_eq!(qualifying(&history), vec![TrophyId::FirstConnection]);
    for _ in 1..9 {
        history.push(counted(0, peer, "10036"));
    }
    assert!(!qualifying(&history).contains(&TrophyId::TenConnections));
    history.push(counted(0, peer, "10036"));
    assert!(qualifying(&history).contains(&TrophyId::TenConnections));

    let people: Vec<CountedConnection> = (0..5)
        .map(|_| counted(0, AccountId::random(), "10036"))
        .collect();
    assert!(!qualifying(&people[..4]).contains(&TrophyId::FivePeople));
    assert!(qualifying(&people).contains(&TrophyId::FivePeople));

    let zips = [
        counted(0, peer, "10036"),
        counted(0, peer, "10001"),
        counted(0, peer, "10001"),
    ];
    assert!(!qualifying(&zips).contains(&TrophyId::ThreeZips));
    let three = [zips[0].clone(), zips[1].clone(), counted(0, peer, "07030")];
    assert!(qualifying(&three).contains(&TrophyId::ThreeZips));
}

#[test]
fn a_streak_needs_seven_consecutive_days() {
    let peer = AccountId::random();
    let gap: Vec<CountedConnection> = [0, 1, 2, 4, 5, 6, 7]
        .into_iter()
        .map(|day| counted(day, peer, "10036"))
        .collect();
    assert!(!qualifying(&gap).contains(&TrophyId::WeekStreak));
    let week: Vec<CountedConnection> = (0..7).map(|day| counted(day, peer, "10036")).collect();
    assert!(qualifying(&week).contains(&TrophyId::WeekStreak));
    let late_week: Vec<CountedConnection> = [0, 2, 3, 4, 5, 6, 7, 8, 9]
        .into_iter()
        .map(|day| counted(day, peer, "10036"))
        .collect();
    assert!(qualifying(&late_week).contains(&TrophyId::WeekStreak));
}

#[test]
fn a_long_history_keeps_a_few_marks() {
    let mut marks = TrophyMarks::default();
    for index in 0..2_000 {
        let zip = format!("{:05}", 10_000 + index % 300);
        marks.count(&counted(index / 3, AccountId::random(), &zip));
    }
    assert_eq!(
        marks.marks().count(),
        TEN_CONNECTIONS + FIVE_PEOPLE + THREE_ZIPS + day_cap()
    );
    assert_eq!(marks.qualifying(), TrophyId::ALL.to_vec());
}

#[test]
fn counting_a_connection_again_changes_nothing() {
    let mut marks = TrophyMarks::default();
    let connection = counted(3, AccountId::random(), "10036");
    marks.count(&connection);
    assert_eq!(marks.changes_since(&TrophyMarks::default()).add.len(), 4);
    let before = marks.clone();
    marks.count(&connection);
    assert!(marks.changes_since(&before).is_empty());
    assert_eq!(marks, before);
}

#[test]
fn days_past_the_latest_seven_are_forgotten() {
    let peer = AccountId::random();
    let mut marks = TrophyMarks::default();
    for day in [0, 2, 4, 6, 8, 10, 12] {
        marks.count(&counted(day, peer, "10036"));
    }
    let before = marks.clone();
    marks.count(&counted(14, peer, "10036"));
    let changes = marks.changes_since(&before);
    assert!(
        changes
            .add
            .contains(&TrophyMark::Day(utc_day(START_MS) + 14))
    );
    assert_eq!(changes.forget, vec![TrophyMark::Day(utc_day(START_MS))]);
    let before = marks.clone();
    marks.count(&counted(1, peer, "10036"));
    assert!(
        !marks
            .changes_since(&before)
            .add
            .iter()
            .any(|mark| matches!(mark, TrophyMark::Day(_))),
        "a day older than every kept one is not kept"
    );
}

#[test]
fn stored_marks_read_back_as_they_were() {
    let mut marks = TrophyMarks::default();
    let mut stored: BTreeSet<TrophyMark> = BTreeSet::new();
    for day in 0..9 {
        let before = marks.clone();
        marks.count(&counted(day, AccountId::random(), "10036"));
        let changes = marks.changes_since(&before);
        stored.extend(changes.add);
        for forgotten in &changes.forget {
            stored.remove(forgotten);
        }
    }
    let round_trip: Vec<TrophyMark> = stored
        .iter()
        .map(|mark| TrophyMark::from_stored(mark.kind(), &mark.value()).unwrap())
        .collect();
    assert_eq!(TrophyMarks::from_stored(round_trip), marks);
    assert_eq!(TrophyMark::from_stored("day", "x"), None);
    assert_eq!(TrophyMark::from_stored("badge", "1"), None);
}

fn history_strategy() -> impl Strategy<Value = Vec<CountedConnection>> {
    let peers: Vec<AccountId> = (0..8).map(|_| AccountId::random()).collect();
    proptest::collection::vec((0i64..20, 0usize..8, 0usize..5, 0i64..DAY_MS), 0..40).prop_map(
        move |mut draws| {
            draws.sort_by_key(|(day, _, _, offset)| (*day, *offset));
            draws
                .into_iter()
                .map(|(day, peer, zip, offset)| CountedConnection {
                    connection_id: Uuid::new_v4(),
                    at_ms: START_MS + day * DAY_MS + offset,
                    peer: peers[peer],
                    zip: (zip > 0).then(|| format!("1000{zip}")),
                })
                .collect()
        },
    )
}

proptest! {
    #[test]
    fn marks_qualify_as_the_whole_history_does(history in history_strategy()) {
        let mut marks = TrophyMarks::default();
        let mut earned: BTreeSet<TrophyId> = BTreeSet::new();
        for (index, connection) in history.iter().enumerate() {
            marks.count(connection);
            earned.extend(marks.qualifying());
            let whole: BTreeSet<TrophyId> =
                qualifying_whole(&history[..=index]).into_iter().collect();
            prop_assert_eq!(&earned, &whole);
        }
    }
}
