//! Deterministic movement: a random-waypoint walker per simulated person, seeded
//! from the run seed and the person's id, so every worker process computes the same
//! trajectories without talking to the others, and the send schedule (a fixed phase
//! per person inside each interval) that says when each position goes out.

use std::fmt;
use std::str::FromStr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Metres per degree of latitude (and of longitude at the equator).
const METRES_PER_DEGREE: f64 = 111_320.0;
/// Slowest walker, so nobody stands still for a whole run.
const MIN_SPEED_MPS: f64 = 0.5;

/// A rectangle of latitude and longitude that people move inside.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Southern edge, degrees.
    pub lat_min: f64,
    /// Western edge, degrees.
    pub lng_min: f64,
    /// Northern edge, degrees.
    pub lat_max: f64,
    /// Eastern edge, degrees.
    pub lng_max: f64,
}

impl BoundingBox {
    /// Manhattan and Hoboken, across ZIP-shard borders (the bench's default).
    pub(crate) const MANHATTAN_AND_HOBOKEN: BoundingBox = BoundingBox {
        lat_min: 40.70,
        lng_min: -74.06,
        lat_max: 40.82,
        lng_max: -73.93,
    };

    /// Whether `point` lies in the box (edges included).
    pub(crate) fn contains(&self, point: Point) -> bool {
        (self.lat_min..=self.lat_max).contains(&point.lat)
            && (self.lng_min..=self.lng_max).contains(&point.lng)
    }
}

impl FromStr for BoundingBox {
    type Err = String;

    /// Parses `lat_min,lng_min,lat_max,lng_max`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let numbers: Vec<f64> = text
            .split(',')
            .map(|part| part.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|error| format!("bounding box: {error}"))?;
        let [lat_min, lng_min, lat_max, lng_max] = numbers[..] else {
            return Err("bounding box: expected lat_min,lng_min,lat_max,lng_max".to_owned());
        };
        let valid = lat_min < lat_max
            && lng_min < lng_max
            && (-85.0..=85.0).contains(&lat_min)
            && (-85.0..=85.0).contains(&lat_max)
            && (-180.0..=180.0).contains(&lng_min)
            && (-180.0..=180.0).contains(&lng_max);
        if !valid {
            return Err(
                "bounding box: need lat_min < lat_max within ±85, lng_min < lng_max within ±180"
                    .to_owned(),
            );
        }
        Ok(Self {
            lat_min,
            lng_min,
            lat_max,
            lng_max,
        })
    }
}

impl fmt::Display for BoundingBox {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{},{},{},{}",
            self.lat_min, self.lng_min, self.lat_max, self.lng_max
        )
    }
}

/// Whether a simulated person is an officer or a citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum PersonKind {
    /// On the roster; goes available and moves.
    Officer,
    /// Moves and receives `nearest` pushes.
    Citizen,
}

/// A point in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Point {
    /// Latitude, degrees.
    pub(crate) lat: f64,
    /// Longitude, degrees.
    pub(crate) lng: f64,
}

/// One person's random-waypoint walk: head for a uniformly chosen point of the box
/// at a uniformly chosen speed, then pick the next.
#[derive(Debug)]
pub(crate) struct Walker {
    /// Where the person is now.
    position: Point,
    /// Where they are heading.
    waypoint: Point,
    /// Their speed on this leg, metres per second.
    speed_mps: f64,
    /// The box they stay in.
    bbox: BoundingBox,
    /// Fastest speed a leg may have.
    max_speed_mps: f64,
    /// Their own random stream, seeded from the run seed and their id.
    rng: StdRng,
}

impl Walker {
    /// The walker of person `index` of `kind` in a run seeded with `seed`.
    pub(crate) fn new(
        seed: u64,
        kind: PersonKind,
        index: u32,
        bbox: BoundingBox,
        max_speed_mps: f64,
    ) -> Self {
        let kind_salt: u64 = match kind {
            PersonKind::Officer => 0x4f66_6963_6572,
            PersonKind::Citizen => 0x4369_7469_7a65,
        };
        let mixed = seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(kind_salt << 20)
            .wrapping_add(u64::from(index));
        let mut rng = StdRng::seed_from_u64(mixed);
        let position = random_point(&mut rng, &bbox);
        let waypoint = random_point(&mut rng, &bbox);
        let speed_mps = random_speed(&mut rng, max_speed_mps);
        Self {
            position,
            waypoint,
            speed_mps,
            bbox,
            max_speed_mps,
            rng,
        }
    }

    /// Where the person is.
    pub(crate) fn position(&self) -> Point {
        self.position
    }

    /// Moves for `seconds`; on reaching the waypoint a new leg starts (the rest of
    /// the step is not carried over).
    pub(crate) fn step(&mut self, seconds: f64) {
        let metres_per_degree_lng = METRES_PER_DEGREE * self.position.lat.to_radians().cos();
        let north_m = (self.waypoint.lat - self.position.lat) * METRES_PER_DEGREE;
        let east_m = (self.waypoint.lng - self.position.lng) * metres_per_degree_lng;
        let remaining_m = north_m.hypot(east_m);
        let travel_m = self.speed_mps * seconds;
        if travel_m >= remaining_m {
            self.position = self.waypoint;
            self.waypoint = random_point(&mut self.rng, &self.bbox);
            self.speed_mps = random_speed(&mut self.rng, self.max_speed_mps);
            return;
        }
        let fraction = travel_m / remaining_m;
        self.position = Point {
            lat: self.position.lat + north_m * fraction / METRES_PER_DEGREE,
            lng: self.position.lng + east_m * fraction / metres_per_degree_lng,
        };
    }
}

fn random_point(rng: &mut StdRng, bbox: &BoundingBox) -> Point {
    Point {
        lat: rng.random_range(bbox.lat_min..bbox.lat_max),
        lng: rng.random_range(bbox.lng_min..bbox.lng_max),
    }
}

fn random_speed(rng: &mut StdRng, max_speed_mps: f64) -> f64 {
    if max_speed_mps <= MIN_SPEED_MPS {
        return max_speed_mps;
    }
    rng.random_range(MIN_SPEED_MPS..max_speed_mps)
}

/// When each person sends: tick 0 (the starting position) during setup, tick `k ≥ 1`
/// at `t0 + phase + (k - 1) × interval`, up to the last tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Schedule {
    /// Start of movement, Unix microseconds.
    pub(crate) t0_us: i64,
    /// Time between two positions of one person, microseconds.
    pub(crate) interval_us: i64,
    /// The last tick sent; positions stay put afterwards.
    pub(crate) last_tick: u64,
}

impl Schedule {
    /// The phase of a person inside the interval: spread evenly, deterministic, a
    /// whole number of milliseconds.
    pub(crate) fn phase_us(interval_us: i64, kind: PersonKind, index: u32) -> i64 {
        let offset: u64 = match kind {
            PersonKind::Officer => 0,
            PersonKind::Citizen => 7_919,
        };
        let spread = (u64::from(index) + offset).wrapping_mul(2_654_435_761) % 1_000_003;
        let interval = u64::try_from(interval_us.max(1)).unwrap_or(1);
        // Whole milliseconds: the sender wakes once per millisecond slot (tokio's
        // timer resolution) and sends everything due in it, never early.
        let phase_us = spread * interval / 1_000_003;
        i64::try_from(phase_us - phase_us % 1_000).unwrap_or(0)
    }

    /// When tick `tick ≥ 1` of a person with `phase_us` is due.
    pub(crate) fn send_time_us(&self, phase_us: i64, tick: u64) -> i64 {
        let steps = i64::try_from(tick.saturating_sub(1)).unwrap_or(i64::MAX / 2);
        self.t0_us + phase_us + steps * self.interval_us
    }

    /// The tick a person with `phase_us` has most recently sent at `time_us`.
    pub(crate) fn tick_at(&self, phase_us: i64, time_us: i64) -> u64 {
        let since_first_us = time_us - self.t0_us - phase_us;
        if since_first_us < 0 {
            return 0;
        }
        let tick = u64::try_from(since_first_us / self.interval_us).unwrap_or(0) + 1;
        tick.min(self.last_tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOX: BoundingBox = BoundingBox::MANHATTAN_AND_HOBOKEN;

    #[test]
    fn walkers_are_deterministic_and_stay_in_the_box() {
        let mut first = Walker::new(7, PersonKind::Officer, 3, BOX, 12.0);
        let mut second = Walker::new(7, PersonKind::Officer, 3, BOX, 12.0);
        for _ in 0..2_000 {
            first.step(1.0);
            second.step(1.0);
            let point = first.position();
            assert_eq!(point, second.position());
            assert!((BOX.lat_min..=BOX.lat_max).contains(&point.lat));
            assert!((BOX.lng_min..=BOX.lng_max).contains(&point.lng));
        }
        let citizen = Walker::new(7, PersonKind::Citizen, 3, BOX, 12.0);
        assert_ne!(
            citizen.position(),
            Walker::new(7, PersonKind::Officer, 3, BOX, 12.0).position()
        );
    }

    #[test]
    fn a_step_moves_at_most_the_speed() {
        let mut walker = Walker::new(1, PersonKind::Citizen, 0, BOX, 10.0);
        for _ in 0..500 {
            let before = walker.position();
            walker.step(1.0);
            let after = walker.position();
            let moved = crate::geo::distance_m(
                crate::geo::LatLng::new(before.lat, before.lng).unwrap(),
                crate::geo::LatLng::new(after.lat, after.lng).unwrap(),
            );
            assert!(moved <= 10.1, "moved {moved} m in a second");
        }
    }

    #[test]
    fn the_schedule_maps_times_to_ticks() {
        let schedule = Schedule {
            t0_us: 1_000_000,
            interval_us: 1_000_000,
            last_tick: 5,
        };
        let phase = 250_000;
        assert_eq!(schedule.tick_at(phase, 0), 0);
        assert_eq!(schedule.tick_at(phase, 1_249_999), 0);
        assert_eq!(schedule.send_time_us(phase, 1), 1_250_000);
        assert_eq!(schedule.tick_at(phase, 1_250_000), 1);
        assert_eq!(schedule.tick_at(phase, 2_250_000), 2);
        assert_eq!(schedule.tick_at(phase, 60_000_000), 5);
        for index in 0..1_000 {
            let phase = Schedule::phase_us(1_000_000, PersonKind::Officer, index);
            assert!((0..1_000_000).contains(&phase));
            assert_eq!(phase % 1_000, 0);
        }
    }

    #[test]
    fn bounding_boxes_parse() {
        let parsed: BoundingBox = "40.70,-74.06,40.82,-73.93".parse().unwrap();
        assert_eq!(parsed, BOX);
        assert!("40.82,-74.06,40.70,-73.93".parse::<BoundingBox>().is_err());
        assert!("1,2,3".parse::<BoundingBox>().is_err());
    }
}
