//! Where the handshake scenario's pairs stand and when each pair starts a round.
//! Pair `p` is officer `p` and citizen `p`: the officer on a grid spot, the citizen
//! a few metres north of it. Spots are far enough apart that every citizen's
//! nearest officer is its own, and the pair is well inside the request radius and
//! the co-location threshold. Round `k` of the run is due at `t0 + k / rate` and
//! belongs to pair `k mod pairs`, so rounds are spread evenly over time and pairs.

use serde::{Deserialize, Serialize};

use super::movement::{BoundingBox, Point};

/// Metres per degree of latitude.
const METRES_PER_DEGREE: f64 = 111_320.0;
/// How far north of its officer a citizen stands: well within the default request
/// radius (500 m) and co-location threshold (250 m).
const PAIR_DISTANCE_M: f64 = 10.0;
/// Closest two spots may be: other officers stay several times farther from a
/// citizen than its own, so the nearest answer is never in doubt.
const MIN_SPACING_M: f64 = 60.0;
/// Spots are no farther apart than this even when the box is roomy, so a run
/// spans few ZIP shards and cells (as a busy neighbourhood would).
const MAX_SPACING_M: f64 = 400.0;
/// Most rounds one pair may start per second: each round costs each of the two
/// sockets one control message, a socket may send 100 a minute
/// (`CONTROL_MESSAGES_PER_MINUTE`), and some are kept for `go_available` and
/// cancels.
pub(crate) const MAX_ROUNDS_PER_PAIR_PER_SECOND: f64 = 1.5;

/// The grid the pairs stand on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Placement {
    /// Centre of spot 0 (south-west corner of the grid).
    origin: Point,
    /// Distance between neighbouring spots, metres.
    spacing_m: f64,
    /// Spots per row.
    columns: u32,
}

impl Placement {
    /// A grid of `pairs` spots filling `bbox`, or why it cannot hold them.
    pub(crate) fn new(bbox: &BoundingBox, pairs: u32) -> Result<Self, String> {
        let mid_lat = (bbox.lat_min + bbox.lat_max) / 2.0;
        let height_m = (bbox.lat_max - bbox.lat_min) * METRES_PER_DEGREE;
        let width_m = (bbox.lng_max - bbox.lng_min) * metres_per_degree_lng(mid_lat);
        let area_per_pair = height_m * width_m / f64::from(pairs.max(1));
        let mut spacing_m = area_per_pair.sqrt().clamp(MIN_SPACING_M, MAX_SPACING_M);
        // Whole rows and columns hold fewer spots than the area suggests: tighten
        // the grid until they hold every pair.
        let fits = |spacing_m: f64| {
            let columns = (width_m / spacing_m).floor();
            let rows = (height_m / spacing_m).floor();
            columns >= 1.0 && rows >= 1.0 && columns * rows >= f64::from(pairs)
        };
        while !fits(spacing_m) && spacing_m > MIN_SPACING_M {
            spacing_m = (spacing_m * 0.98).max(MIN_SPACING_M);
        }
        if !fits(spacing_m) {
            return Err(format!(
                "{pairs} pairs do not fit in --bbox {bbox} at {MIN_SPACING_M} m apart; use a larger box or fewer pairs"
            ));
        }
        let columns = (width_m / spacing_m).floor() as u32;
        let origin = Point {
            lat: bbox.lat_min + spacing_m / 2.0 / METRES_PER_DEGREE,
            lng: bbox.lng_min + spacing_m / 2.0 / metres_per_degree_lng(mid_lat),
        };
        Ok(Self {
            origin,
            spacing_m,
            columns,
        })
    }

    /// Where officer `pair` stands.
    pub(crate) fn officer(&self, pair: u32) -> Point {
        let row = pair / self.columns;
        let column = pair % self.columns;
        Point {
            lat: self.origin.lat + f64::from(row) * self.spacing_m / METRES_PER_DEGREE,
            lng: self.origin.lng
                + f64::from(column) * self.spacing_m / metres_per_degree_lng(self.origin.lat),
        }
    }

    /// Where citizen `pair` stands: a few metres north of its officer.
    pub(crate) fn citizen(&self, pair: u32) -> Point {
        let officer = self.officer(pair);
        Point {
            lat: officer.lat + PAIR_DISTANCE_M / METRES_PER_DEGREE,
            lng: officer.lng,
        }
    }

    /// Distance between neighbouring spots, metres.
    pub(crate) fn spacing_m(&self) -> f64 {
        self.spacing_m
    }
}

fn metres_per_degree_lng(lat: f64) -> f64 {
    METRES_PER_DEGREE * lat.to_radians().cos().max(0.01)
}

/// When the rounds of a run are due and which pair runs each.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoundSchedule {
    /// When round 0 is due, Unix microseconds.
    pub(crate) t0_us: i64,
    /// Rounds per second over the whole run.
    pub(crate) rate_per_second: f64,
    /// Rounds in the run.
    pub(crate) total_rounds: u64,
    /// Pairs sharing them.
    pub(crate) pairs: u32,
}

impl RoundSchedule {
    /// When round `round` is due, Unix microseconds.
    pub(crate) fn due_us(&self, round: u64) -> i64 {
        let offset_us = round as f64 * 1e6 / self.rate_per_second.max(f64::MIN_POSITIVE);
        self.t0_us + offset_us as i64
    }

    /// The rounds pair `pair` runs, in order.
    pub(crate) fn rounds_of(&self, pair: u32) -> impl Iterator<Item = u64> + use<> {
        let step = usize::try_from(self.pairs.max(1)).unwrap_or(1);
        (u64::from(pair)..self.total_rounds).step_by(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{LatLng, distance_m};

    const BOX: BoundingBox = BoundingBox::MANHATTAN_AND_HOBOKEN;

    fn metres(from: Point, to: Point) -> f64 {
        distance_m(
            LatLng::new(from.lat, from.lng).unwrap(),
            LatLng::new(to.lat, to.lng).unwrap(),
        )
    }

    #[test]
    fn every_citizen_is_nearest_to_its_own_officer_and_inside_the_box() {
        for pairs in [1, 7, 1_000, 5_000] {
            let placement = Placement::new(&BOX, pairs).unwrap();
            let spots: Vec<(Point, Point)> = (0..pairs)
                .map(|pair| (placement.officer(pair), placement.citizen(pair)))
                .collect();
            for (officer, citizen) in &spots {
                assert!((BOX.lat_min..=BOX.lat_max).contains(&citizen.lat));
                assert!((BOX.lng_min..=BOX.lng_max).contains(&officer.lng));
                let own = metres(*officer, *citizen);
                assert!((own - PAIR_DISTANCE_M).abs() < 0.5, "{own} m");
            }
            // Neighbours on the grid are the closest others.
            let (officer, citizen) = spots[0];
            for (other_officer, _) in spots.iter().skip(1).take(3) {
                assert!(metres(*other_officer, citizen) > 4.0 * metres(officer, citizen));
            }
            assert!(placement.spacing_m() >= MIN_SPACING_M);
        }
    }

    #[test]
    fn too_many_pairs_for_the_box_are_refused() {
        let small = BoundingBox {
            lat_min: 40.70,
            lng_min: -74.00,
            lat_max: 40.701,
            lng_max: -73.999,
        };
        assert!(Placement::new(&small, 1).is_ok());
        assert!(Placement::new(&small, 100).is_err());
    }

    #[test]
    fn every_round_belongs_to_one_pair_and_rounds_are_evenly_spread() {
        let schedule = RoundSchedule {
            t0_us: 1_000_000,
            rate_per_second: 200.0,
            total_rounds: 1_003,
            pairs: 150,
        };
        let mut seen = vec![0_u32; 1_003];
        for pair in 0..150 {
            let rounds: Vec<u64> = schedule.rounds_of(pair).collect();
            for window in rounds.windows(2) {
                let gap_us = schedule.due_us(window[1]) - schedule.due_us(window[0]);
                // 150 pairs at 200 rounds/s: each pair every 0.75 s.
                assert!((749_999..=750_001).contains(&gap_us), "{gap_us}");
            }
            for round in rounds {
                seen[usize::try_from(round).unwrap()] += 1;
            }
        }
        assert!(seen.iter().all(|&count| count == 1));
        assert_eq!(schedule.due_us(0), 1_000_000);
        assert_eq!(schedule.due_us(200), 2_000_000);
    }
}
