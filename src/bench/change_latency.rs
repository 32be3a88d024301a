//! Truth change → push latency: what a citizen feels. After movement stops, a
//! worker replays the run's ground truth (`true_answer`) and, for every change of
//! each of its citizens' true answer, looks for the first push that shows it.
//!
//! - **Pushed**: a push showing the new answer (officer, band and shown cell)
//!   arrived before the truth changed again (or the run ended), or was the first
//!   push after that change (it was on its way: the citizen saw the answer, late);
//!   its latency runs from the scheduled send of the update that made the answer
//!   true to the push's arrival. No tolerance window caps it.
//! - **Already shown**: the citizen's screen showed that answer when it became
//!   true (the truth came back to what was last pushed); counted as pushed, not
//!   timed.
//! - **Missed**: never shown while it was true, nor by the push in flight when it
//!   stopped being true. How long it was true is kept, so
//!   a reader can tell a flicker of a few milliseconds from a real miss.
//!
//! The replay runs after the measured phase, so it takes no CPU from the server
//! while the latencies are measured. Latencies count from the scheduled send; how
//! late the bench itself sent is reported beside them.

use std::collections::{HashMap, HashSet};

use hdrhistogram::Histogram;

use super::movement::{PersonKind, Schedule};
use super::send_log::SendTimes;
use super::session::Person;
use super::stats::new_histogram;
use super::true_answer::{NearestRule, TrueAnswer, TruthChange, TruthTracker};
use super::truth::Answer;
use super::world::{World, WorldParams};
use crate::geo::LatLng;

/// Missed changes kept word for word for the report.
const MISSED_SAMPLES_KEPT: usize = 10;

/// A push as a citizen received it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Received {
    /// Arrival, Unix microseconds.
    pub(crate) at_us: i64,
    /// What it showed.
    pub(crate) answer: Answer,
}

/// What the truth changes of some citizens came to.
#[derive(Debug)]
pub(crate) struct ChangeTally {
    /// Changes of a true answer during movement.
    pub(crate) changes: u64,
    /// Changes a push showed while they were true.
    pub(crate) pushed: u64,
    /// Changes the screen already showed when they became true.
    pub(crate) already_shown: u64,
    /// Changes never shown while true.
    pub(crate) missed: u64,
    /// Change → push, microseconds.
    pub(crate) latency_us: Histogram<u64>,
    /// How long each missed answer was true, microseconds.
    pub(crate) missed_lifetime_us: Histogram<u64>,
    /// A few missed changes, described.
    pub(crate) missed_samples: Vec<String>,
}

impl Default for ChangeTally {
    fn default() -> Self {
        Self {
            changes: 0,
            pushed: 0,
            already_shown: 0,
            missed: 0,
            latency_us: new_histogram(),
            missed_lifetime_us: new_histogram(),
            missed_samples: Vec::new(),
        }
    }
}

/// The movement a worker replays.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Replay {
    /// The world's parameters.
    pub(crate) params: WorldParams,
    /// When each tick was sent.
    pub(crate) schedule: Schedule,
    /// Officers in the run.
    pub(crate) officers: u32,
    /// The server's rule.
    pub(crate) rule: NearestRule,
    /// When the answers were last looked at (the end of the run), Unix µs.
    pub(crate) end_us: i64,
}

/// Replays the run for `pushes`' citizens, with their updates and the
/// officers' as they were `sent`, and tallies their truth changes.
pub(crate) fn measure(
    replay: &Replay,
    pushes: &HashMap<u32, Vec<Received>>,
    sent: &SendTimes,
) -> ChangeTally {
    let mut citizens: Vec<u32> = pushes.keys().copied().collect();
    citizens.sort_unstable();
    let timelines = truth_timelines(replay, &citizens, pushes, sent);
    let mut tally = ChangeTally::default();
    for citizen in citizens {
        let timeline = timelines.get(&citizen).map_or(&[][..], Vec::as_slice);
        let received = pushes.get(&citizen).map_or(&[][..], Vec::as_slice);
        tally_citizen(
            &mut tally,
            citizen,
            timeline,
            received,
            replay.end_us,
            replay.schedule.t0_us,
        );
    }
    tally
}

/// Every citizen's truth from the start of movement to its last tick. The first
/// entry of each is the truth when movement starts; after it, each update counts
/// from when it was written (see `send_log`), in the order they were written.
fn truth_timelines(
    replay: &Replay,
    citizens: &[u32],
    pushes: &HashMap<u32, Vec<Received>>,
    sent: &SendTimes,
) -> HashMap<u32, Vec<TruthChange>> {
    let schedule = replay.schedule;
    let interval_us = replay.params.interval_us.max(1);
    let scheduled_us = |person: Person, tick: u64| {
        schedule.send_time_us(
            Schedule::phase_us(interval_us, person.kind, person.index),
            tick,
        )
    };
    // Positions are looked up by tick while updates are replayed by the time
    // they were written: keep as many ticks as the latest write lagged.
    let lag_ticks = sent.latest_lateness_us(scheduled_us) / interval_us;
    let params = WorldParams {
        history_ticks: 2 + usize::try_from(lag_ticks).unwrap_or(usize::MAX / 2),
        ..replay.params
    };
    let mut world = World::new(params, replay.officers, citizens);
    world.start(schedule);
    let people: Vec<Person> = (0..replay.officers)
        .map(|index| Person {
            kind: PersonKind::Officer,
            index,
        })
        .chain(citizens.iter().map(|&index| Person {
            kind: PersonKind::Citizen,
            index,
        }))
        .collect();
    let planned = planned_officer_reports(replay, sent);
    let mut updates: Vec<Update> = Vec::new();
    for tick in 1..=schedule.last_tick {
        for &person in &people {
            let due_us = scheduled_us(person, tick);
            if planned.as_ref().is_some_and(|planned| {
                !sent.holds(person) && !planned.contains(&(person.index, tick))
            }) {
                continue;
            }
            if let Some(written_us) = sent.sent_at(person, tick, due_us) {
                updates.push(Update {
                    written_us,
                    due_us,
                    is_citizen: person.kind == PersonKind::Citizen,
                    index: person.index,
                    tick,
                });
            }
        }
    }
    updates.sort_unstable();
    let server_pick = |citizen: u32, since_us: i64, tied: &[u32]| {
        picked_among(pushes.get(&citizen), since_us, tied)
    };
    let mut tracker = TruthTracker::new(replay.rule, replay.officers);
    for person in &people {
        feed(&mut tracker, &world, person.kind, person.index, 0);
    }
    tracker.settle(schedule.t0_us - 1, &server_pick);
    for burst in bursts(&updates) {
        let newest_tick = burst.iter().map(|update| update.tick).max().unwrap_or(0);
        if !world.has_tick(newest_tick) {
            world.advance_to(newest_tick);
        }
        for update in burst {
            let kind = if update.is_citizen {
                PersonKind::Citizen
            } else {
                PersonKind::Officer
            };
            feed(&mut tracker, &world, kind, update.index, update.tick);
        }
        tracker.settle(burst[0].written_us, &server_pick);
    }
    tracker.into_timelines()
}

/// Under `--obey-cadence`, the `(officer, tick)` reports of the officers this
/// worker does not hold, as the run plans them (every worker computes the same);
/// `None` at the fixed pace, where every tick is reported.
fn planned_officer_reports(replay: &Replay, sent: &SendTimes) -> Option<HashSet<(u32, u64)>> {
    replay.params.officer_cadence?;
    let params = WorldParams {
        history_ticks: 2,
        ..replay.params
    };
    let mut world = World::new(params, replay.officers, &[]);
    let mut planned = HashSet::new();
    for tick in 1..=replay.schedule.last_tick {
        world.advance_to(tick);
        for index in 0..replay.officers {
            let officer = Person {
                kind: PersonKind::Officer,
                index,
            };
            if !sent.holds(officer)
                && world
                    .reported_at_tick(PersonKind::Officer, index, tick)
                    .is_some()
            {
                planned.insert((index, tick));
            }
        }
    }
    Some(planned)
}

/// Updates (sorted by write) in the groups the replay applies together: those
/// due in the same slot go out in one burst, microseconds apart, so they are
/// applied together, from the burst's first write, and no answer exists only
/// between two frames of one burst.
fn bursts(updates: &[Update]) -> impl Iterator<Item = &[Update]> {
    updates.chunk_by(|first, second| first.due_us == second.due_us)
}

/// One location update as the replay applies it; ordered by when it was
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Update {
    /// When its frame was written (or, for another worker's person, due), Unix µs.
    written_us: i64,
    /// When it was due, Unix µs.
    due_us: i64,
    /// A citizen's (officers' first among updates written together).
    is_citizen: bool,
    /// The person's index within its kind.
    index: u32,
    /// Its movement tick.
    tick: u64,
}

fn feed(tracker: &mut TruthTracker, world: &World, kind: PersonKind, index: u32, tick: u64) {
    let Some(point) = world.position_at_tick(kind, index, tick) else {
        return;
    };
    let Ok(position) = LatLng::new(point.lat, point.lng) else {
        return;
    };
    match kind {
        PersonKind::Officer => tracker.officer_at(index, position),
        PersonKind::Citizen => tracker.citizen_at(index, position),
    }
}

/// The officer among `tied` the server named for a tie that began at
/// `since_us`: the one on screen then, else the first one pushed after.
fn picked_among(pushes: Option<&Vec<Received>>, since_us: i64, tied: &[u32]) -> Option<u32> {
    let pushes = pushes?;
    let named = |push: &Received| {
        push.answer
            .officer
            .map(|(officer, _)| officer)
            .filter(|officer| tied.contains(officer))
    };
    let before = pushes.partition_point(|push| push.at_us <= since_us);
    before
        .checked_sub(1)
        .and_then(|last| named(&pushes[last]))
        .or_else(|| pushes[before..].iter().find_map(named))
}

/// Tallies one citizen's changes (its timeline's entries after the first)
/// against its pushes (in arrival order), up to `end_us`.
pub(crate) fn tally_citizen(
    tally: &mut ChangeTally,
    citizen: u32,
    timeline: &[TruthChange],
    pushes: &[Received],
    end_us: i64,
    t0_us: i64,
) {
    for (position, change) in timeline.iter().enumerate().skip(1) {
        let until_us = timeline.get(position + 1).map_or(end_us, |next| next.at_us);
        tally.changes += 1;
        let before = pushes.partition_point(|push| push.at_us <= change.at_us);
        let on_screen = before
            .checked_sub(1)
            .and_then(|last| pushes.get(last))
            .map(|push| push.answer);
        if on_screen.is_some_and(|answer| shows(&answer, change.answer.as_ref())) {
            tally.already_shown += 1;
            continue;
        }
        // The pushes that arrived while it was true, and the first one after: it
        // may have been on its way when the truth changed again, and then the
        // citizen did see this answer, late (its latency says how late).
        let in_flight_at_end = pushes[before..]
            .iter()
            .position(|push| push.at_us >= until_us)
            .map_or(pushes.len() - before, |first_after| first_after + 1);
        let first_showing = pushes[before..]
            .iter()
            .take(in_flight_at_end)
            .find(|push| shows(&push.answer, change.answer.as_ref()));
        match first_showing {
            Some(push) => {
                tally.pushed += 1;
                record(&mut tally.latency_us, push.at_us - change.at_us);
            }
            None => {
                tally.missed += 1;
                record(&mut tally.missed_lifetime_us, until_us - change.at_us);
                if tally.missed_samples.len() < MISSED_SAMPLES_KEPT {
                    tally.missed_samples.push(format!(
                        "citizen {citizen}: truth became {} at +{:.3} s and stayed {:.0} ms; never pushed (screen: {})",
                        describe_truth(change.answer.as_ref()),
                        (change.at_us - t0_us) as f64 / 1e6,
                        (until_us - change.at_us) as f64 / 1e3,
                        on_screen.map_or_else(|| "nothing".to_owned(), describe_answer),
                    ));
                }
            }
        }
    }
}

/// Whether a pushed answer shows the truth.
fn shows(pushed: &Answer, truth: Option<&TrueAnswer>) -> bool {
    match (pushed.officer, truth) {
        (None, None) => true,
        (Some((officer, band_m)), Some(truth)) => {
            truth.officers.contains(&officer)
                && band_m == truth.band_m
                && pushed.shown_cell == Some(truth.cell)
        }
        (Some(_), None) | (None, Some(_)) => false,
    }
}

fn describe_truth(truth: Option<&TrueAnswer>) -> String {
    match truth {
        None => "nobody".to_owned(),
        Some(truth) => format!(
            "officer {:?} in band {} m, cell {:x}",
            truth.officers, truth.band_m, truth.cell
        ),
    }
}

fn describe_answer(answer: Answer) -> String {
    match (answer.officer, answer.shown_cell) {
        (Some((officer, band_m)), Some(cell)) => {
            format!("officer {officer} in band {band_m} m, cell {cell:x}")
        }
        (Some((officer, band_m)), None) => format!("officer {officer} in band {band_m} m"),
        (None, _) => "nobody".to_owned(),
    }
}

fn record(histogram: &mut Histogram<u64>, value_us: i64) {
    let value = u64::try_from(value_us.max(1)).unwrap_or(1);
    histogram.saturating_record(value);
}

#[cfg(test)]
mod tests;
