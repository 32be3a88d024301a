//! What a person's trophy checks remember between connections: a few marks,
//! each kind capped at what its trophy needs (ten connection ids, five peers,
//! three ZIPs, the latest seven days), so a check reads a handful of rows
//! however long the person's history grows. Marks form a set: counting a
//! connection again (a check rerun after a crash) changes nothing.
//!
//! Counted in order, the marks qualify for exactly the trophies the whole
//! history would. A day counted after seven later days is not kept, so a
//! streak completed only by a connection credited more than a week late is
//! not seen; credits are recovered within minutes, well inside that.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::AccountId;
use super::connection::utc_day;
use super::trophies::{
    CountedConnection, FIVE_PEOPLE, STREAK_DAYS, TEN_CONNECTIONS, THREE_ZIPS, TrophyId,
};

/// One remembered fact about a person's rewarded connections.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TrophyMark {
    /// A rewarded connection, by id.
    Connection(Uuid),
    /// A person connected with.
    Peer(AccountId),
    /// A ZIP connected in.
    Zip(String),
    /// A UTC day (days since the Unix epoch) with a rewarded connection.
    Day(i64),
}

/// Width of a stored day, zero-padded so stored days sort as numbers.
const DAY_DIGITS: usize = 8;

impl TrophyMark {
    /// The stored name of the mark's kind.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            TrophyMark::Connection(_) => "connection",
            TrophyMark::Peer(_) => "peer",
            TrophyMark::Zip(_) => "zip",
            TrophyMark::Day(_) => "day",
        }
    }

    /// The stored value of the mark.
    pub(crate) fn value(&self) -> String {
        match self {
            TrophyMark::Connection(id) => id.to_string(),
            TrophyMark::Peer(account) => account.0.to_string(),
            TrophyMark::Zip(zip) => zip.clone(),
            TrophyMark::Day(day) => format!("{day:0DAY_DIGITS$}"),
        }
    }

    /// The mark stored as `kind` and `value`; `None` when they do not parse.
    pub(crate) fn from_stored(kind: &str, value: &str) -> Option<TrophyMark> {
        match kind {
            "connection" => value.parse().ok().map(TrophyMark::Connection),
            "peer" => value.parse().ok().map(|id| TrophyMark::Peer(AccountId(id))),
            "zip" => Some(TrophyMark::Zip(value.to_owned())),
            "day" => value.parse().ok().map(TrophyMark::Day),
            _ => None,
        }
    }
}

/// What counting a connection changes in the stored marks.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct MarkChanges {
    /// Marks to store.
    pub(crate) add: Vec<TrophyMark>,
    /// Marks no rule needs any more (days older than the latest seven).
    pub(crate) forget: Vec<TrophyMark>,
}

impl MarkChanges {
    /// Whether nothing changes.
    pub(crate) fn is_empty(&self) -> bool {
        self.add.is_empty() && self.forget.is_empty()
    }
}

/// A person's marks: the bounded summary of their rewarded connections.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TrophyMarks {
    connections: BTreeSet<Uuid>,
    peers: BTreeSet<AccountId>,
    zips: BTreeSet<String>,
    days: BTreeSet<i64>,
}

impl TrophyMarks {
    /// The marks as read from a store. Concurrent checks can store a few marks
    /// past a cap; they are all kept (a count at or above a threshold is the
    /// same), except days, of which only the latest seven matter.
    pub(crate) fn from_stored(marks: impl IntoIterator<Item = TrophyMark>) -> TrophyMarks {
        let mut summary = TrophyMarks::default();
        for mark in marks {
            match mark {
                TrophyMark::Connection(id) => {
                    summary.connections.insert(id);
                }
                TrophyMark::Peer(peer) => {
                    summary.peers.insert(peer);
                }
                TrophyMark::Zip(zip) => {
                    summary.zips.insert(zip);
                }
                TrophyMark::Day(day) => {
                    summary.days.insert(day);
                }
            }
        }
        while summary.days.len() > day_cap() {
            summary.days.pop_first();
        }
        summary
    }

    /// Whether no connection was ever counted.
    pub(crate) fn is_empty(&self) -> bool {
        self.connections.is_empty()
            && self.peers.is_empty()
            && self.zips.is_empty()
            && self.days.is_empty()
    }

    /// Counts one rewarded connection.
    pub(crate) fn count(&mut self, counted: &CountedConnection) {
        if self.connections.len() < TEN_CONNECTIONS {
            self.connections.insert(counted.connection_id);
        }
        if self.peers.len() < FIVE_PEOPLE {
            self.peers.insert(counted.peer);
        }
        if let Some(zip) = &counted.zip
            && self.zips.len() < THREE_ZIPS
        {
            self.zips.insert(zip.clone());
        }
        let day = utc_day(counted.at_ms);
        let older_than_kept =
            self.days.len() >= day_cap() && self.days.first().is_some_and(|first| day < *first);
        if !older_than_kept && self.days.insert(day) {
            while self.days.len() > day_cap() {
                self.days.pop_first();
            }
        }
    }

    /// What the store must change to hold these marks instead of `before`.
    pub(crate) fn changes_since(&self, before: &TrophyMarks) -> MarkChanges {
        let now: BTreeSet<TrophyMark> = self.marks().collect();
        let then: BTreeSet<TrophyMark> = before.marks().collect();
        MarkChanges {
            add: now.difference(&then).cloned().collect(),
            forget: then.difference(&now).cloned().collect(),
        }
    }

    /// Every mark held.
    fn marks(&self) -> impl Iterator<Item = TrophyMark> + '_ {
        let connections = self.connections.iter().copied().map(TrophyMark::Connection);
        let peers = self.peers.iter().copied().map(TrophyMark::Peer);
        let zips = self.zips.iter().cloned().map(TrophyMark::Zip);
        let days = self.days.iter().copied().map(TrophyMark::Day);
        connections.chain(peers).chain(zips).chain(days)
    }

    /// The trophies these marks qualify for.
    pub(crate) fn qualifying(&self) -> Vec<TrophyId> {
        TrophyId::ALL
            .into_iter()
            .filter(|trophy| self.qualifies(*trophy))
            .collect()
    }

    fn qualifies(&self, trophy: TrophyId) -> bool {
        match trophy {
            TrophyId::FirstConnection => !self.connections.is_empty(),
            TrophyId::TenConnections => self.connections.len() >= TEN_CONNECTIONS,
            TrophyId::FivePeople => self.peers.len() >= FIVE_PEOPLE,
            TrophyId::ThreeZips => self.zips.len() >= THREE_ZIPS,
            TrophyId::WeekStreak => self.has_streak(),
        }
    }

    /// Whether the kept days are seven consecutive ones.
    fn has_streak(&self) -> bool {
        match (self.days.first(), self.days.last()) {
            (Some(first), Some(last)) => {
                self.days.len() >= day_cap() && last - first == STREAK_DAYS - 1
            }
            _ => false,
        }
    }
}

/// How many days are kept: a streak's length.
fn day_cap() -> usize {
    usize::try_from(STREAK_DAYS).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests;
