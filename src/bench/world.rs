//! The simulated city as one worker knows it: every officer's trajectory (all
//! workers compute the same ones), the worker's own citizens, the positions of the
//! last ticks, the positions each person reported (what the server knows), and a
//! coarse grid of officers for neighbour queries. Ticks are computed on demand, by
//! whoever needs one first (the sender or the checker).
//!
//! At the fixed pace everybody reports every tick. Under `--obey-cadence`
//! (`cadence`) officers report by the cadence the run plans for them, so every
//! worker knows every officer's reports, and the worker's own citizens report
//! when their phone decides to (`report_citizen`).

use std::collections::{HashMap, VecDeque};

use super::cadence::{PhoneCadence, metres_between};
use super::movement::{BoundingBox, PersonKind, Point, Schedule, Walker};

/// Grid cell size for officer neighbour queries, degrees (about 440 m × 340 m).
const GRID_DEGREES: f64 = 0.004;
/// Metres per degree of latitude.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// What the world needs to know to move people.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorldParams {
    /// The run seed.
    pub(crate) seed: u64,
    /// Where people move.
    pub(crate) bbox: BoundingBox,
    /// Fastest walker, metres per second.
    pub(crate) max_speed_mps: f64,
    /// Time between two positions of one person, microseconds.
    pub(crate) interval_us: i64,
    /// Ticks of history kept per person (covers the longest check window).
    pub(crate) history_ticks: usize,
    /// `--obey-cadence`: the cadence every available officer reports at;
    /// citizens then report only through `report_citizen`. `None`: everybody
    /// reports every tick.
    pub(crate) officer_cadence: Option<PhoneCadence>,
}

/// One person's walk and recent positions.
#[derive(Debug)]
struct Track {
    /// The walker, at the world's current tick.
    walker: Walker,
    /// Send phase inside each interval, microseconds.
    phase_us: i64,
    /// Positions of the last ticks, oldest first; the back is the current tick.
    history: VecDeque<Point>,
    /// The reports sent, `(tick, position)` oldest first: those of the last
    /// `history_ticks` ticks and the newest one before them (still the
    /// server's picture until the next).
    reported: VecDeque<(u64, Point)>,
}

impl Track {
    fn new(params: &WorldParams, kind: PersonKind, index: u32) -> Self {
        let walker = Walker::new(params.seed, kind, index, params.bbox, params.max_speed_mps);
        let mut history = VecDeque::with_capacity(params.history_ticks + 1);
        history.push_back(walker.position());
        // Tick 0 goes out on connect, before any cadence is known.
        let reported = VecDeque::from([(0, walker.position())]);
        Self {
            walker,
            phase_us: Schedule::phase_us(params.interval_us, kind, index),
            history,
            reported,
        }
    }

    fn step(&mut self, seconds: f64, keep: usize) {
        self.walker.step(seconds);
        self.history.push_back(self.walker.position());
        while self.history.len() > keep {
            self.history.pop_front();
        }
    }

    /// Reports `position`, its place at `tick`, if `cadence` (or the fixed pace,
    /// `None`) says it is due; returns it when it was.
    fn report_if_due(
        &mut self,
        tick: u64,
        position: Point,
        cadence: Option<PhoneCadence>,
        tick_interval_us: i64,
        keep: usize,
    ) -> Option<Point> {
        let due = cadence.is_none_or(|cadence| {
            cadence.is_due(
                self.reported.back().copied(),
                tick,
                position,
                tick_interval_us,
            )
        });
        if !due {
            return None;
        }
        self.reported.push_back((tick, position));
        let keep = u64::try_from(keep).unwrap_or(u64::MAX);
        while self.reported.len() >= 2
            && self
                .reported
                .get(1)
                .is_some_and(|&(next, _)| next.saturating_add(keep) <= tick)
        {
            self.reported.pop_front();
        }
        Some(position)
    }

    /// The report current at `tick`: the newest sent at or before it.
    fn report_at(&self, tick: u64) -> Option<(u64, Point)> {
        self.reported
            .iter()
            .rev()
            .find(|&&(sent, _)| sent <= tick)
            .copied()
    }
}

/// The officers, this worker's citizens, and the schedule once movement starts.
#[derive(Debug)]
pub(crate) struct World {
    /// Movement parameters.
    params: WorldParams,
    /// Every officer of the run, by index.
    officers: Vec<Track>,
    /// This worker's citizens, by global index.
    citizens: HashMap<u32, Track>,
    /// The tick every track has reached.
    tick: u64,
    /// Set when movement starts.
    schedule: Option<Schedule>,
    /// Officer indices by grid cell, at the current tick.
    grid: HashMap<(i32, i32), Vec<u32>>,
}

impl World {
    /// A world at tick 0 with `officers` officers and the given citizens.
    pub(crate) fn new(params: WorldParams, officers: u32, own_citizens: &[u32]) -> Self {
        let officer_tracks = (0..officers)
            .map(|index| Track::new(&params, PersonKind::Officer, index))
            .collect();
        let citizens = own_citizens
            .iter()
            .map(|&index| (index, Track::new(&params, PersonKind::Citizen, index)))
            .collect();
        let mut world = Self {
            params,
            officers: officer_tracks,
            citizens,
            tick: 0,
            schedule: None,
            grid: HashMap::new(),
        };
        world.rebuild_grid();
        world
    }

    /// Fixes the schedule: movement starts at `schedule.t0_us`.
    pub(crate) fn start(&mut self, schedule: Schedule) {
        self.schedule = Some(schedule);
    }

    /// The movement parameters.
    pub(crate) fn params(&self) -> &WorldParams {
        &self.params
    }

    /// The number of officers.
    pub(crate) fn officer_count(&self) -> u32 {
        u32::try_from(self.officers.len()).unwrap_or(u32::MAX)
    }

    /// The tick the world has to reach for a check at `time_us`.
    pub(crate) fn tick_needed_at(&self, time_us: i64) -> u64 {
        match self.schedule {
            Some(schedule) => schedule.tick_at(0, time_us),
            None => 0,
        }
    }

    /// Whether `tick` is computed already.
    pub(crate) fn has_tick(&self, tick: u64) -> bool {
        self.tick >= tick
    }

    /// Moves everybody forward to `tick`; officers (and, at the fixed pace,
    /// citizens) report as they go.
    pub(crate) fn advance_to(&mut self, tick: u64) {
        let seconds = self.params.interval_us as f64 / 1e6;
        let keep = self.params.history_ticks;
        let interval_us = self.params.interval_us;
        let officer_cadence = self.params.officer_cadence;
        while self.tick < tick {
            let next = self.tick + 1;
            for track in &mut self.officers {
                track.step(seconds, keep);
                let position = track.walker.position();
                track.report_if_due(next, position, officer_cadence, interval_us, keep);
            }
            for track in self.citizens.values_mut() {
                track.step(seconds, keep);
                if officer_cadence.is_none() {
                    let position = track.walker.position();
                    track.report_if_due(next, position, None, interval_us, keep);
                }
            }
            self.tick = next;
        }
        self.rebuild_grid();
    }

    /// Under `--obey-cadence`: the worker's citizen `index` reports its
    /// position of `tick` (computed already; ticks in order) if its phone's
    /// `cadence` says so (`None`: not told yet, the fixed pace). Returns the
    /// position sent.
    pub(crate) fn report_citizen(
        &mut self,
        index: u32,
        tick: u64,
        cadence: Option<PhoneCadence>,
    ) -> Option<Point> {
        let position = self.position_at_tick(PersonKind::Citizen, index, tick)?;
        let (interval_us, keep) = (self.params.interval_us, self.params.history_ticks);
        self.citizens
            .get_mut(&index)?
            .report_if_due(tick, position, cadence, interval_us, keep)
    }

    /// How far the worker's citizen `index` is at `tick` from the position it
    /// last reported before it, metres.
    pub(crate) fn unreported_m(&self, index: u32, tick: u64) -> Option<f64> {
        let now = self.position_at_tick(PersonKind::Citizen, index, tick)?;
        let (_, reported) = self.citizens.get(&index)?.report_at(tick.checked_sub(1)?)?;
        Some(metres_between(now, reported))
    }

    /// The position `kind` `index` reported at exactly `tick`, if it reported
    /// then.
    pub(crate) fn reported_at_tick(
        &self,
        kind: PersonKind,
        index: u32,
        tick: u64,
    ) -> Option<Point> {
        self.track(kind, index)?
            .report_at(tick)
            .filter(|&(sent, _)| sent == tick)
            .map(|(_, position)| position)
    }

    /// A person's position at `tick` (must be computed and still in the history).
    pub(crate) fn position_at_tick(
        &self,
        kind: PersonKind,
        index: u32,
        tick: u64,
    ) -> Option<Point> {
        let track = self.track(kind, index)?;
        let back = usize::try_from(self.tick.checked_sub(tick)?).ok()?;
        let position = track.history.len().checked_sub(1 + back)?;
        track.history.get(position).copied()
    }

    /// The movement tick due most recently at `time_us` for a person (whether
    /// or not it was reported).
    fn tick_of(&self, track: &Track, time_us: i64) -> u64 {
        match self.schedule {
            Some(schedule) => schedule.tick_at(track.phase_us, time_us).min(self.tick),
            None => 0,
        }
    }

    /// Where the server should believe a person is at `time_us`: its newest
    /// report by then.
    pub(crate) fn position_at_time(
        &self,
        kind: PersonKind,
        index: u32,
        time_us: i64,
    ) -> Option<Point> {
        let track = self.track(kind, index)?;
        track
            .report_at(self.tick_of(track, time_us))
            .map(|(_, position)| position)
    }

    /// Every position a person may have had on the server during
    /// `[from_us, to_us]`: the report current at `from_us` and all sent after it.
    pub(crate) fn positions_between(
        &self,
        kind: PersonKind,
        index: u32,
        from_us: i64,
        to_us: i64,
    ) -> Vec<Point> {
        let Some(track) = self.track(kind, index) else {
            return Vec::new();
        };
        let (first, last) = (self.tick_of(track, from_us), self.tick_of(track, to_us));
        let current = track.report_at(first);
        current
            .into_iter()
            .chain(
                track
                    .reported
                    .iter()
                    .copied()
                    .filter(|&(sent, _)| sent > first && sent <= last),
            )
            .map(|(_, position)| position)
            .collect()
    }

    /// Send times of a person's reports in `(from_us, to_us]`, newest first.
    pub(crate) fn send_times_between(
        &self,
        kind: PersonKind,
        index: u32,
        from_us: i64,
        to_us: i64,
    ) -> Vec<i64> {
        let (Some(schedule), Some(track)) = (self.schedule, self.track(kind, index)) else {
            return Vec::new();
        };
        track
            .reported
            .iter()
            .rev()
            .filter(|&&(tick, _)| tick >= 1)
            .map(|&(tick, _)| schedule.send_time_us(track.phase_us, tick))
            .skip_while(|&sent_us| sent_us > to_us)
            .take_while(|&sent_us| sent_us > from_us)
            .collect()
    }

    /// Officers whose current-tick position lies within about `radius_m` of
    /// `centre` (a superset: whole grid cells).
    pub(crate) fn officers_near(&self, centre: Point, radius_m: f64) -> Vec<u32> {
        let lat_cells = (radius_m / METRES_PER_DEGREE / GRID_DEGREES).ceil() as i32;
        let metres_per_degree_lng = METRES_PER_DEGREE * centre.lat.to_radians().cos().max(0.01);
        let lng_cells = (radius_m / metres_per_degree_lng / GRID_DEGREES).ceil() as i32;
        let (row, column) = grid_cell(centre);
        let mut found = Vec::new();
        for dr in -lat_cells..=lat_cells {
            for dc in -lng_cells..=lng_cells {
                if let Some(officers) = self.grid.get(&(row + dr, column + dc)) {
                    found.extend_from_slice(officers);
                }
            }
        }
        found
    }

    fn track(&self, kind: PersonKind, index: u32) -> Option<&Track> {
        match kind {
            PersonKind::Officer => self.officers.get(usize::try_from(index).ok()?),
            PersonKind::Citizen => self.citizens.get(&index),
        }
    }

    fn rebuild_grid(&mut self) {
        self.grid.clear();
        for (index, track) in self.officers.iter().enumerate() {
            let Ok(index) = u32::try_from(index) else {
                continue;
            };
            self.grid
                .entry(grid_cell(track.walker.position()))
                .or_default()
                .push(index);
        }
    }
}

fn grid_cell(point: Point) -> (i32, i32) {
    (
        (point.lat / GRID_DEGREES).floor() as i32,
        (point.lng / GRID_DEGREES).floor() as i32,
    )
}

#[cfg(test)]
mod tests;
