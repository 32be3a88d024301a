//! Every citizen's true answer over time, replayed from the ground truth with the
//! server's own rule, so the bench can time each change of it (see
//! `change_latency`).
//!
//! **The rule** is the server's (`user_session::nearest`): from the officers'
//! *shown* positions (resolution-9 cell centres, `privacy`) take the nearest
//! within the radius; keep the current officer instead unless it left the radius
//! or the nearest is closer by more than the hysteresis. "Current" is the
//! citizen's previous *true* answer, so the truth depends on history just as the
//! server's answer does. An answer is the officer, the distance band and the shown
//! cell: all three are on the citizen's screen, and the server pushes when any of
//! them changes.
//!
//! **Ties.** Officers in the same shown cell are exactly as far from everyone. The
//! server then names the one with the lowest account id, which the bench does not
//! know, so a tied answer lists every tied officer and any of them is right. When
//! the hysteresis later needs the one current officer, the tracker takes the
//! server's pick for that tie: the tied officer on the citizen's screen when the
//! tie began, else the first tied officer pushed after it began (that push may
//! arrive only after the next update, so the screen at that moment cannot say),
//! else the lowest index.
//!
//! **Time.** A position counts from its update's scheduled send; updates due at
//! the same instant are applied together before the answers are re-evaluated, so
//! no answer exists for zero time.

use std::collections::{BTreeSet, HashMap};

use crate::geo::{LatLng, distance_band_m, distance_m};
use crate::privacy::ShownPosition;

/// Officer grid cell size, degrees (about 440 m × 340 m in New York).
const GRID_DEGREES: f64 = 0.004;
/// Metres per degree of latitude, rounded down so grid bounds stay lower bounds.
const METRES_PER_DEGREE_LOW: f64 = 110_000.0;

/// `(citizen, since_us, tied)` → the officer among `tied` the server named for
/// the tie that began at `since_us`, if it named one (see **Ties**).
pub(crate) type ServerPick<'a> = dyn Fn(u32, i64, &[u32]) -> Option<u32> + 'a;

/// A citizen's true answer: the officer(s) the server may name, the band and the
/// shown cell; `None` is "nobody in range".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrueAnswer {
    /// The officer, or every officer tied in the same shown cell (sorted).
    pub(crate) officers: Vec<u32>,
    /// The distance band shown, metres.
    pub(crate) band_m: u32,
    /// The resolution-9 cell shown as the officer's approximate position.
    pub(crate) cell: u64,
}

/// One entry of a citizen's timeline: from `at_us` on, the truth is `answer`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TruthChange {
    /// The scheduled send of the update(s) that made it true, Unix microseconds.
    pub(crate) at_us: i64,
    /// The answer from then on.
    pub(crate) answer: Option<TrueAnswer>,
}

/// The server's rule parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NearestRule {
    /// `presence.nearest_max_radius_meters`.
    pub(crate) radius_m: f64,
    /// `presence.nearest_hysteresis_meters`.
    pub(crate) hysteresis_m: f64,
}

/// One citizen as the tracker knows it.
#[derive(Debug)]
struct CitizenTruth {
    /// The citizen's last reported point.
    position: LatLng,
    /// Its truth so far, oldest first; the last entry is the current truth.
    timeline: Vec<TruthChange>,
    /// Whether something that may change its answer happened since the last
    /// evaluation.
    dirty: bool,
}

impl CitizenTruth {
    fn current(&self) -> Option<&TrueAnswer> {
        self.timeline
            .last()
            .and_then(|change| change.answer.as_ref())
    }
}

/// Replays positions in time order and keeps every citizen's truth timeline.
#[derive(Debug)]
pub(crate) struct TruthTracker {
    /// The rule.
    rule: NearestRule,
    /// Each officer's shown position, once it has reported one.
    officers: Vec<Option<ShownPosition>>,
    /// Officers by grid cell of their shown position.
    grid: HashMap<(i32, i32), Vec<u32>>,
    /// The citizens followed, by index.
    citizens: HashMap<u32, CitizenTruth>,
    /// The citizens marked `dirty`, so settling does not scan every citizen.
    marked: Vec<u32>,
}

impl TruthTracker {
    /// A tracker for `officer_count` officers, none placed yet.
    pub(crate) fn new(rule: NearestRule, officer_count: u32) -> Self {
        Self {
            rule,
            officers: vec![None; usize::try_from(officer_count).unwrap_or(0)],
            grid: HashMap::new(),
            citizens: HashMap::new(),
            marked: Vec::new(),
        }
    }

    /// An officer reported `position`. Only a new shown cell can change answers:
    /// citizens whose answer is this officer, or who are now at least as close to
    /// it as to their answer, are marked for re-evaluation.
    pub(crate) fn officer_at(&mut self, officer: u32, position: LatLng) {
        let Some(slot) = usize::try_from(officer)
            .ok()
            .and_then(|slot| self.officers.get_mut(slot))
        else {
            return;
        };
        let shown = ShownPosition::of(position);
        let previous = slot.replace(shown);
        if previous.is_some_and(|before| before.cell() == shown.cell()) {
            return;
        }
        if let Some(before) = previous {
            let old_key = grid_key(before.point());
            if let Some(list) = self.grid.get_mut(&old_key) {
                list.retain(|&other| other != officer);
            }
        }
        self.grid
            .entry(grid_key(shown.point()))
            .or_default()
            .push(officer);
        let officers = &self.officers;
        for (&index, citizen) in &mut self.citizens {
            let distance = distance_m(citizen.position, shown.point());
            let affected = match citizen.current() {
                Some(answer) => {
                    answer.officers.contains(&officer)
                        || distance <= distance_to(officers, citizen.position, answer.officers[0])
                }
                None => distance <= self.rule.radius_m,
            };
            if affected && !citizen.dirty {
                citizen.dirty = true;
                self.marked.push(index);
            }
        }
    }

    /// A citizen reported `position` (the first report starts following it).
    pub(crate) fn citizen_at(&mut self, citizen: u32, position: LatLng) {
        let entry = self.citizens.entry(citizen).or_insert(CitizenTruth {
            position,
            timeline: Vec::new(),
            dirty: false,
        });
        entry.position = position;
        if !entry.dirty {
            entry.dirty = true;
            self.marked.push(citizen);
        }
    }

    /// Re-evaluates every marked citizen at `at_us` and records changed answers.
    /// `server_pick(citizen, since_us, tied)` is the officer among `tied` the
    /// server named for the tie that began at `since_us`, which settles a tie the
    /// hysteresis needs broken.
    pub(crate) fn settle(&mut self, at_us: i64, server_pick: &ServerPick<'_>) {
        let mut marked = std::mem::take(&mut self.marked);
        marked.sort_unstable();
        marked.dedup();
        for index in marked {
            let Some(citizen) = self.citizens.get(&index) else {
                continue;
            };
            let current = citizen.timeline.last().and_then(|last| {
                let answer = last.answer.as_ref()?;
                let picked = match answer.officers[..] {
                    [only] => Some(only),
                    ref tied => server_pick(index, last.at_us, tied),
                };
                Some(picked.unwrap_or(answer.officers[0]))
            });
            let answer = self.evaluate(citizen.position, current);
            let Some(citizen) = self.citizens.get_mut(&index) else {
                continue;
            };
            citizen.dirty = false;
            let unchanged = citizen
                .timeline
                .last()
                .is_some_and(|last| last.answer == answer);
            if !unchanged {
                citizen.timeline.push(TruthChange { at_us, answer });
            }
        }
    }

    /// Every citizen's timeline, consumed.
    pub(crate) fn into_timelines(self) -> HashMap<u32, Vec<TruthChange>> {
        self.citizens
            .into_iter()
            .map(|(index, citizen)| (index, citizen.timeline))
            .collect()
    }

    /// The server's rule for a citizen at `position` whose current officer is
    /// `current`.
    fn evaluate(&self, position: LatLng, current: Option<u32>) -> Option<TrueAnswer> {
        let (tied, best_m) = self.nearest(position)?;
        if let Some(current) = current
            && !tied.contains(&current)
            && let Some(current_shown) = self.shown(current)
        {
            let current_m = distance_m(position, current_shown.point());
            if current_m <= self.rule.radius_m && best_m + self.rule.hysteresis_m >= current_m {
                return Some(answer_for(vec![current], current_m, current_shown));
            }
        }
        // The server keeps its current officer among tied ones.
        let officers = match current.filter(|current| tied.contains(current)) {
            Some(current) => vec![current],
            None => tied.into_iter().collect(),
        };
        let shown = self.shown(officers[0])?;
        Some(answer_for(officers, best_m, shown))
    }

    /// The officers nearest to `position` within the radius (several when tied)
    /// and their distance: a ring search over the grid that stops once no
    /// farther ring can hold anyone as close.
    fn nearest(&self, position: LatLng) -> Option<(BTreeSet<u32>, f64)> {
        let (row, column) = grid_key(position);
        let lat_side_m = GRID_DEGREES * METRES_PER_DEGREE_LOW;
        let lng_side_m = lat_side_m * (position.lat().abs() + 1.0).to_radians().cos().max(0.01);
        let side_m = lat_side_m.min(lng_side_m);
        let last_ring = (self.rule.radius_m / side_m).ceil() as i32 + 1;
        let mut best: Option<(BTreeSet<u32>, f64)> = None;
        for ring in 0..=last_ring {
            let floor_m = f64::from((ring - 1).max(0)) * side_m;
            let limit_m = best
                .as_ref()
                .map_or(self.rule.radius_m, |(_, best_m)| *best_m);
            if floor_m > limit_m {
                break;
            }
            for (dr, dc) in ring_cells(ring) {
                let Some(list) = self.grid.get(&(row + dr, column + dc)) else {
                    continue;
                };
                for &officer in list {
                    let Some(shown) = self.shown(officer) else {
                        continue;
                    };
                    let metres = distance_m(position, shown.point());
                    if metres > self.rule.radius_m {
                        continue;
                    }
                    match &mut best {
                        Some((tied, best_m)) if metres == *best_m => {
                            tied.insert(officer);
                        }
                        Some((_, best_m)) if metres > *best_m => {}
                        Some(_) | None => best = Some((BTreeSet::from([officer]), metres)),
                    }
                }
            }
        }
        best
    }

    fn shown(&self, officer: u32) -> Option<ShownPosition> {
        shown_of(&self.officers, officer)
    }
}

fn shown_of(officers: &[Option<ShownPosition>], officer: u32) -> Option<ShownPosition> {
    *officers.get(usize::try_from(officer).ok()?)?
}

/// From `position` to `officer`'s shown position (infinite if it has none).
fn distance_to(officers: &[Option<ShownPosition>], position: LatLng, officer: u32) -> f64 {
    shown_of(officers, officer).map_or(f64::INFINITY, |shown| distance_m(position, shown.point()))
}

fn answer_for(officers: Vec<u32>, metres: f64, shown: ShownPosition) -> TrueAnswer {
    TrueAnswer {
        officers,
        band_m: distance_band_m(metres),
        cell: shown.cell(),
    }
}

fn grid_key(point: LatLng) -> (i32, i32) {
    (
        (point.lat() / GRID_DEGREES).floor() as i32,
        (point.lng() / GRID_DEGREES).floor() as i32,
    )
}

/// The grid offsets at Chebyshev distance `ring` (the centre for 0).
fn ring_cells(ring: i32) -> impl Iterator<Item = (i32, i32)> {
    (-ring..=ring).flat_map(move |dr| {
        (-ring..=ring)
            .filter(move |dc| dr.abs() == ring || dc.abs() == ring)
            .map(move |dc| (dr, dc))
    })
}

#[cfg(test)]
mod tests;
