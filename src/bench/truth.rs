//! Ground truth for `nearest` pushes. The bench knows every officer's position (the
//! trajectories are deterministic) and when each was sent, so it can say whether a
//! pushed answer is right, and since when it has been right (the push latency).
//!
//! **Correct** means: the answer is the true nearest for *some* positions the
//! people involved had on the server during the last `tolerance` (the position
//! current at `t − tolerance` and every one sent after it, for the citizen and for
//! every officer): the named officer's distance band is reachable, the officer is
//! within the search radius, and no other officer is certainly closer by more than
//! the server's hysteresis. A `null` is correct when every officer may have been
//! beyond the radius. Distances get a slack of `DISTANCE_SLACK_M` for rounding.
//! An answer that fails this but passes with a 10 s window is **stale**; anything
//! else is **wrong**.
//!
//! **Latency** of a correct push: the bench looks at the send times of the updates
//! that can change this answer (the citizen's own, the named officer's, and the
//! previously named officer's) within the tolerance window, newest first, and takes
//! the newest one across which the exact ground truth turned into the pushed answer
//! (officer, band, and the cell shown as the officer's approximate position: a push
//! that only moved the shown cell answers the officer's move into it). A push that
//! repeats the previous answer (a renewed window) is counted, not timed.
//! The latency is the time from that update's scheduled send to the push's arrival;
//! it counts as an officer move or a citizen move by whose update it was.

use super::movement::{PersonKind, Point};
use super::world::World;
use crate::geo::{DISTANCE_BANDS_M, LatLng, distance_band_m};
use crate::privacy::{ShownPosition, distance_to_officer_m, max_shown_offset_m};

/// Slack on distances, metres: the server's and the bench's arithmetic may differ
/// in the last digits, and a band edge is a hard threshold.
const DISTANCE_SLACK_M: f64 = 1.0;
/// Window for telling a stale answer from a wrong one.
pub(crate) const STALE_WINDOW_US: i64 = 10_000_000;

/// What the server said: the named officer, band and shown cell, or nobody in
/// range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The officer's index (from the display name "Officer N") and distance band.
    pub(crate) officer: Option<(u32, u32)>,
    /// The resolution-9 cell whose centre was shown as the officer's approximate
    /// position. Not part of correctness; it tells which officer move a push
    /// that only changed the shown cell answered.
    pub(crate) shown_cell: Option<u64>,
}

/// The rules the server applies, as far as the check needs them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// Officers farther than this are never the nearest (metres).
    pub(crate) radius_m: f64,
    /// A new officer replaces the current one only if closer by more than this.
    pub(crate) hysteresis_m: f64,
    /// How old the positions behind a correct answer may be, microseconds.
    pub(crate) tolerance_us: i64,
}

/// The outcome of checking one answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Right within the tolerance; the latency when an update could be named.
    Correct(Option<Cause>),
    /// Right only for positions older than the tolerance (within 10 s).
    Stale,
    /// Not right for any recent positions; the reason, for the report.
    Wrong(String),
}

/// The update a correct push answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cause {
    /// Whose update it was.
    pub(crate) mover: PersonKind,
    /// From its scheduled send to the push's arrival, microseconds.
    pub(crate) latency_us: i64,
}

/// Checks `answer`, pushed to `citizen` and received at `received_us`; `previous` is
/// the citizen's previous answer.
pub(crate) fn check(
    world: &World,
    rules: &Rules,
    citizen: u32,
    received_us: i64,
    answer: Answer,
    previous: Option<Answer>,
) -> Verdict {
    if let Some((officer, _)) = answer.officer
        && officer >= world.officer_count()
    {
        return Verdict::Wrong(format!("officer {officer} does not exist"));
    }
    match consistent(
        world,
        rules,
        citizen,
        received_us - rules.tolerance_us,
        received_us,
        answer,
    ) {
        Ok(()) => Verdict::Correct(cause(world, rules, citizen, received_us, answer, previous)),
        Err(reason) => {
            let stale_from = received_us - STALE_WINDOW_US.max(rules.tolerance_us);
            match consistent(world, rules, citizen, stale_from, received_us, answer) {
                Ok(()) => Verdict::Stale,
                Err(_) => Verdict::Wrong(reason),
            }
        }
    }
}

/// Whether some positions during `[from_us, to_us]` make `answer` the nearest.
fn consistent(
    world: &World,
    rules: &Rules,
    citizen: u32,
    from_us: i64,
    to_us: i64,
    answer: Answer,
) -> Result<(), String> {
    let citizen_positions = world.positions_between(PersonKind::Citizen, citizen, from_us, to_us);
    let Some(&centre) = citizen_positions.last() else {
        return Err("the bench has no position for this citizen".to_owned());
    };
    let range = |officer: u32| {
        let officer_positions =
            world.positions_between(PersonKind::Officer, officer, from_us, to_us);
        distance_range(&citizen_positions, &officer_positions)
    };
    // Officers are looked up by true position: reach as far as a shown position
    // can be closer than the true one.
    let margin_m = movement_margin_m(world, to_us - from_us) + max_shown_offset_m();
    match answer.officer {
        Some((named, band)) => {
            let (named_low, named_high) = range(named);
            let band_floor = band_floor_m(band).ok_or_else(|| format!("unknown band {band}"))?;
            if named_low > f64::from(band) + DISTANCE_SLACK_M
                || named_high <= f64::from(band_floor) - DISTANCE_SLACK_M
            {
                return Err(format!(
                    "officer {named} shown in band {band} m but was {named_low:.0}–{named_high:.0} m away"
                ));
            }
            if named_low > rules.radius_m + DISTANCE_SLACK_M {
                return Err(format!(
                    "officer {named} is beyond the radius ({named_low:.0} m)"
                ));
            }
            for other in world.officers_near(centre, named_low + margin_m) {
                if other == named {
                    continue;
                }
                let (_, other_high) = range(other);
                if other_high + rules.hysteresis_m + DISTANCE_SLACK_M < named_low {
                    return Err(format!(
                        "officer {other} was at most {other_high:.0} m away, closer than officer {named} ({named_low:.0} m)"
                    ));
                }
            }
            Ok(())
        }
        None => {
            for other in world.officers_near(centre, rules.radius_m + margin_m) {
                let (_, other_high) = range(other);
                if other_high < rules.radius_m - DISTANCE_SLACK_M {
                    return Err(format!(
                        "answered nobody, but officer {other} was at most {other_high:.0} m away"
                    ));
                }
            }
            Ok(())
        }
    }
}

/// The newest update in the tolerance window across which the exact truth became
/// `answer`. None for a push that changed nothing the bench models (the same
/// officer, band and cell: the officer renewed its window).
fn cause(
    world: &World,
    rules: &Rules,
    citizen: u32,
    received_us: i64,
    answer: Answer,
    previous: Option<Answer>,
) -> Option<Cause> {
    if previous == Some(answer) {
        return None;
    }
    let previous = previous.and_then(|earlier| earlier.officer.map(|(officer, _)| officer));
    let from_us = received_us - rules.tolerance_us;
    let mut changes: Vec<(i64, PersonKind)> = world
        .send_times_between(PersonKind::Citizen, citizen, from_us, received_us)
        .into_iter()
        .map(|sent_us| (sent_us, PersonKind::Citizen))
        .collect();
    let named = answer.officer.map(|(officer, _)| officer);
    for officer in [named, previous.filter(|&officer| Some(officer) != named)]
        .into_iter()
        .flatten()
    {
        changes.extend(
            world
                .send_times_between(PersonKind::Officer, officer, from_us, received_us)
                .into_iter()
                .map(|sent_us| (sent_us, PersonKind::Officer)),
        );
    }
    changes.sort_by_key(|&(sent_us, _)| std::cmp::Reverse(sent_us));
    changes.into_iter().find_map(|(sent_us, mover)| {
        let true_after = exact_truth_is(world, rules, citizen, sent_us, answer);
        let true_before = exact_truth_is(world, rules, citizen, sent_us - 1, answer);
        (true_after && !true_before).then_some(Cause {
            mover,
            latency_us: received_us - sent_us,
        })
    })
}

/// Whether `answer` is exactly the nearest at the instant `time_us` (allowing the
/// hysteresis and the distance slack).
fn exact_truth_is(
    world: &World,
    rules: &Rules,
    citizen: u32,
    time_us: i64,
    answer: Answer,
) -> bool {
    let Some(centre) = world.position_at_time(PersonKind::Citizen, citizen, time_us) else {
        return false;
    };
    let distance_to = |officer: u32| {
        world
            .position_at_time(PersonKind::Officer, officer, time_us)
            .map(|position| distance_between(centre, position))
    };
    let margin_m = movement_margin_m(world, rules.tolerance_us) + max_shown_offset_m();
    match answer.officer {
        Some((named, band)) => {
            let Some(named_m) = distance_to(named) else {
                return false;
            };
            if named_m > rules.radius_m || distance_band_m(named_m) != band {
                return false;
            }
            if let Some(shown_cell) = answer.shown_cell
                && shown_cell_at(world, named, time_us) != Some(shown_cell)
            {
                return false;
            }
            world
                .officers_near(centre, named_m + margin_m)
                .into_iter()
                .filter(|&other| other != named)
                .filter_map(distance_to)
                .all(|other_m| other_m + rules.hysteresis_m + DISTANCE_SLACK_M >= named_m)
        }
        None => world
            .officers_near(centre, rules.radius_m + margin_m)
            .into_iter()
            .filter_map(distance_to)
            .all(|other_m| other_m > rules.radius_m),
    }
}

/// How far anyone may have moved from their current-tick grid position during a
/// window, both people together, plus a tick either side, plus how far an
/// officer obeying a cadence may be from its last report.
fn movement_margin_m(world: &World, window_us: i64) -> f64 {
    let params = world.params();
    let seconds = (window_us + 2 * params.interval_us) as f64 / 1e6;
    let unreported_m = params
        .officer_cadence
        .map_or(0.0, |cadence| cadence.lag_m(params.max_speed_mps));
    2.0 * params.max_speed_mps * seconds + 50.0 + unreported_m
}

fn distance_range(citizen_positions: &[Point], officer_positions: &[Point]) -> (f64, f64) {
    let mut low = f64::INFINITY;
    let mut high = 0.0_f64;
    for &citizen in citizen_positions {
        for &officer in officer_positions {
            let metres = distance_between(citizen, officer);
            low = low.min(metres);
            high = high.max(metres);
        }
    }
    (low, high)
}

/// The distance the server answers from: the citizen's point to the officer's
/// shown position (its resolution-9 cell's centre), as `privacy` decides.
fn distance_between(citizen: Point, officer: Point) -> f64 {
    match (
        LatLng::new(citizen.lat, citizen.lng),
        LatLng::new(officer.lat, officer.lng),
    ) {
        (Ok(citizen), Ok(officer)) => distance_to_officer_m(citizen, ShownPosition::of(officer)),
        (Err(_), _) | (_, Err(_)) => f64::INFINITY,
    }
}

/// The cell the server shows for `officer`'s position at `time_us`.
fn shown_cell_at(world: &World, officer: u32, time_us: i64) -> Option<u64> {
    let position = world.position_at_time(PersonKind::Officer, officer, time_us)?;
    LatLng::new(position.lat, position.lng)
        .ok()
        .map(|precise| ShownPosition::of(precise).cell())
}

/// The lower edge of a band (the band below it, or 0).
fn band_floor_m(band: u32) -> Option<u32> {
    let position = DISTANCE_BANDS_M.iter().position(|&known| known == band)?;
    Some(match position.checked_sub(1) {
        Some(below) => DISTANCE_BANDS_M[below],
        None => 0,
    })
}

/// Reads the officer index from a display name "Officer N".
pub(crate) fn officer_index(display_name: &str) -> Option<u32> {
    display_name.strip_prefix("Officer ")?.parse().ok()
}
