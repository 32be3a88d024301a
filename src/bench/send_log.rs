//! When each location update actually left the bench. The truth replay counts a
//! position from the moment its frame was written, not from when it was due: a
//! bench that falls behind its schedule (a busy machine, a 40,000-updates/s run)
//! writes updates late and sometimes in another order than planned, and a truth
//! built from the plan would then contain answers the server could never have
//! seen. An update that was never written (its socket's queue was full) never
//! happened for the server either, so the replay leaves it out.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::session::Person;
use super::stats::lock;

/// The frames written by this worker's sockets, as they are written.
#[derive(Debug, Default)]
pub(crate) struct SendLog {
    /// Per person, `(tick, written at, Unix µs)` in writing order.
    written: Mutex<HashMap<Person, Vec<(u64, i64)>>>,
}

impl SendLog {
    /// `person`'s update of `tick` was written at `written_us`.
    pub(crate) fn record(&self, person: Person, tick: u64, written_us: i64) {
        lock(&self.written)
            .entry(person)
            .or_default()
            .push((tick, written_us));
    }

    /// Everything logged so far, for a replay of the people in `held` (this
    /// worker's sockets); the log starts empty again.
    pub(crate) fn take(&self, held: HashSet<Person>) -> SendTimes {
        let mut written = std::mem::take(&mut *lock(&self.written));
        for ticks in written.values_mut() {
            ticks.sort_unstable();
        }
        SendTimes { written, held }
    }
}

/// When the updates of a run were sent, as the replay asks for them.
#[derive(Debug, Default)]
pub(crate) struct SendTimes {
    /// Per person, `(tick, written at)` sorted by tick.
    written: HashMap<Person, Vec<(u64, i64)>>,
    /// The people whose sockets this worker held: for anyone else (another
    /// worker's officers) only the schedule is known.
    held: HashSet<Person>,
}

impl SendTimes {
    /// When `person`'s update of `tick` (due at `scheduled_us`) reached its
    /// socket; `None` when it was never written. Another worker's people count
    /// as sent when due.
    pub(crate) fn sent_at(&self, person: Person, tick: u64, scheduled_us: i64) -> Option<i64> {
        if !self.held.contains(&person) {
            return Some(scheduled_us);
        }
        let ticks = self.written.get(&person)?;
        let found = ticks
            .binary_search_by_key(&tick, |&(logged, _)| logged)
            .ok()?;
        Some(ticks[found].1)
    }

    /// Whether this worker held `person`'s socket (its writes are logged).
    pub(crate) fn holds(&self, person: Person) -> bool {
        self.held.contains(&person)
    }

    /// How far behind its schedule the latest write was, microseconds (0 if
    /// none was late): the replay keeps that many intervals of positions.
    pub(crate) fn latest_lateness_us(&self, scheduled: impl Fn(Person, u64) -> i64) -> i64 {
        self.written
            .iter()
            .flat_map(|(&person, ticks)| {
                ticks
                    .iter()
                    .map(move |&(tick, written_us)| (person, tick, written_us))
            })
            .map(|(person, tick, written_us)| written_us - scheduled(person, tick))
            .max()
            .unwrap_or(0)
            .max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::movement::PersonKind;

    fn officer(index: u32) -> Person {
        Person {
            kind: PersonKind::Officer,
            index,
        }
    }

    #[test]
    fn held_people_count_from_their_writes_and_others_from_the_schedule() {
        let log = SendLog::default();
        log.record(officer(0), 2, 2_500);
        log.record(officer(0), 1, 1_700);
        let times = log.take(HashSet::from([officer(0)]));
        assert_eq!(times.sent_at(officer(0), 1, 1_000), Some(1_700));
        assert_eq!(times.sent_at(officer(0), 2, 2_000), Some(2_500));
        // Never written: the queue was full.
        assert_eq!(times.sent_at(officer(0), 3, 3_000), None);
        // Another worker's officer.
        assert_eq!(times.sent_at(officer(1), 3, 3_000), Some(3_000));
        assert_eq!(
            times.latest_lateness_us(|_, tick| i64::try_from(tick).unwrap() * 1_000),
            700
        );
        assert!(log.take(HashSet::new()).written.is_empty());
    }
}
