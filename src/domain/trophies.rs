//! Trophy rules: what a person's rewarded connections earn. Each trophy is
//! awarded once per person (the store's insert-if-absent decides), so the rules
//! only say which trophies the history qualifies for. Connections that earned no
//! points (anti-farming) do not count.

use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use super::AccountId;
use super::connection::utc_day;

/// Connections needed for [`TrophyId::TenConnections`].
const TEN_CONNECTIONS: usize = 10;
/// Different people needed for [`TrophyId::FivePeople`].
const FIVE_PEOPLE: usize = 5;
/// Different ZIPs needed for [`TrophyId::ThreeZips`].
const THREE_ZIPS: usize = 3;
/// Consecutive days needed for [`TrophyId::WeekStreak`].
const STREAK_DAYS: i64 = 7;

/// A trophy, by its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TrophyId {
    /// The first rewarded connection.
    FirstConnection,
    /// Ten rewarded connections.
    TenConnections,
    /// Rewarded connections with five different people.
    FivePeople,
    /// Rewarded connections in three different ZIPs.
    ThreeZips,
    /// A rewarded connection on each of seven consecutive UTC days.
    WeekStreak,
}

impl TrophyId {
    /// Every trophy, in the order they are checked.
    pub(crate) const ALL: [TrophyId; 5] = [
        TrophyId::FirstConnection,
        TrophyId::TenConnections,
        TrophyId::FivePeople,
        TrophyId::ThreeZips,
        TrophyId::WeekStreak,
    ];

    /// The stable wire id.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TrophyId::FirstConnection => "first_connection",
            TrophyId::TenConnections => "ten_connections",
            TrophyId::FivePeople => "five_people",
            TrophyId::ThreeZips => "three_zips",
            TrophyId::WeekStreak => "week_streak",
        }
    }

    /// The short title shown.
    pub(crate) fn title(self) -> &'static str {
        match self {
            TrophyId::FirstConnection => "First hello",
            TrophyId::TenConnections => "Regular",
            TrophyId::FivePeople => "Bridge builder",
            TrophyId::ThreeZips => "Explorer",
            TrophyId::WeekStreak => "Week of hellos",
        }
    }

    /// One sentence saying what it was awarded for.
    pub(crate) fn description(self) -> &'static str {
        match self {
            TrophyId::FirstConnection => "You made your first connection.",
            TrophyId::TenConnections => "You made ten connections.",
            TrophyId::FivePeople => "You connected with five different people.",
            TrophyId::ThreeZips => "You made connections in three different ZIP codes.",
            TrophyId::WeekStreak => "You made a connection every day for seven days.",
        }
    }
}

/// One rewarded connection of the person the rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CountedConnection {
    /// When it was established (Unix ms).
    pub(crate) at_ms: i64,
    /// The other person.
    pub(crate) peer: AccountId,
    /// Where it happened, when the place has a ZIP.
    pub(crate) zip: Option<String>,
}

/// The trophies a history of rewarded connections qualifies for.
pub(crate) fn qualifying(history: &[CountedConnection]) -> Vec<TrophyId> {
    TrophyId::ALL
        .into_iter()
        .filter(|trophy| qualifies(*trophy, history))
        .collect()
}

fn qualifies(trophy: TrophyId, history: &[CountedConnection]) -> bool {
    match trophy {
        TrophyId::FirstConnection => !history.is_empty(),
        TrophyId::TenConnections => history.len() >= TEN_CONNECTIONS,
        TrophyId::FivePeople => {
            let peers: HashSet<AccountId> = history.iter().map(|counted| counted.peer).collect();
            peers.len() >= FIVE_PEOPLE
        }
        TrophyId::ThreeZips => {
            let zips: HashSet<&str> = history
                .iter()
                .filter_map(|counted| counted.zip.as_deref())
                .collect();
            zips.len() >= THREE_ZIPS
        }
        TrophyId::WeekStreak => longest_streak_days(history) >= STREAK_DAYS,
    }
}

/// The longest run of consecutive UTC days with at least one connection.
fn longest_streak_days(history: &[CountedConnection]) -> i64 {
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
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;
    const START_MS: i64 = 1_767_225_600_000;

    fn counted(day: i64, peer: AccountId, zip: &str) -> CountedConnection {
        CountedConnection {
            at_ms: START_MS + day * DAY_MS + 3_600_000,
            peer,
            zip: Some(zip.to_owned()),
        }
    }

    #[test]
    fn nothing_qualifies_without_connections() {
        assert!(qualifying(&[]).is_empty());
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
    }
}
