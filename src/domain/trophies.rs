//! Trophy rules: what a person's rewarded connections earn. Each trophy is
//! awarded once per person (the store's insert-if-absent decides), so the rules
//! only say which trophies the connections qualify for, counted one by one into
//! bounded marks (`trophy_marks`). Connections that earned no points
//! (anti-farming) do not count.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AccountId;

/// Connections needed for [`TrophyId::TenConnections`].
pub(crate) const TEN_CONNECTIONS: usize = 10;
/// Different people needed for [`TrophyId::FivePeople`].
pub(crate) const FIVE_PEOPLE: usize = 5;
/// Different ZIPs needed for [`TrophyId::ThreeZips`].
pub(crate) const THREE_ZIPS: usize = 3;
/// Consecutive days needed for [`TrophyId::WeekStreak`].
pub(crate) const STREAK_DAYS: i64 = 7;

/// A trophy, by its stable id.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
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
    /// The connection.
    pub(crate) connection_id: Uuid,
    /// When it was established (Unix ms).
    pub(crate) at_ms: i64,
    /// The other person.
    pub(crate) peer: AccountId,
    /// Where it happened, when the place has a ZIP.
    pub(crate) zip: Option<String>,
}
