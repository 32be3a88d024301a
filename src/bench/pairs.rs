//! Where the handshake scenario's pairs stand and when each pair starts a round.
//! Pair `p` is officer `p` and citizen `p`: the officer on the centre of its own
//! shown cell (resolution 9, see `privacy`), the citizen a few metres north of it.
//! Citizens see officers at shown-cell centres, so with one officer per cell and
//! the officer on the centre, a citizen's own officer is shown 10 m away and every
//! other one at least a cell's width (about 300 m) away: its nearest officer is
//! never in doubt. Round `k` of the run is due at `t0 + k / rate` and belongs to
//! pair `k mod pairs`, so rounds are spread evenly over time and pairs.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::movement::{BoundingBox, Point};
use crate::geo::LatLng;
use crate::privacy::ShownPosition;

/// Metres per degree of latitude.
const METRES_PER_DEGREE: f64 = 111_320.0;
/// How far north of its officer a citizen stands: well within the default request
/// radius (500 m) and co-location threshold (250 m), and far inside the officer's
/// shown cell (its inner radius is about 150 m).
const PAIR_DISTANCE_M: f64 = 10.0;
/// Step of the walk over the box that finds its shown cells: under half a cell's
/// inner diameter (about 300 m), so no cell is stepped over.
const CELL_SEARCH_STEP_M: f64 = 100.0;
/// Most rounds one pair may start per second: each round costs each of the two
/// sockets one control message, a socket may send 100 a minute
/// (`CONTROL_MESSAGES_PER_MINUTE`), and some are kept for `go_available` and
/// cancels.
pub(crate) const MAX_ROUNDS_PER_PAIR_PER_SECOND: f64 = 1.5;

/// Where the pairs' officers stand: one shown-cell centre each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Placement {
    /// Officer `p` stands on `spots[p]`, row by row from the box's south-west
    /// corner, so a run covers a compact block of neighbouring cells.
    spots: Vec<Point>,
}

impl Placement {
    /// The first `pairs` shown cells of `bbox` (whole cells, centre and citizen
    /// inside the box), or why the box holds fewer.
    pub(crate) fn new(bbox: &BoundingBox, pairs: u32) -> Result<Self, String> {
        let wanted = usize::try_from(pairs).unwrap_or(usize::MAX);
        let lat_step = CELL_SEARCH_STEP_M / METRES_PER_DEGREE;
        let lng_step =
            CELL_SEARCH_STEP_M / metres_per_degree_lng((bbox.lat_min + bbox.lat_max) / 2.0);
        let mut seen = HashSet::new();
        let mut spots = Vec::with_capacity(wanted.min(100_000));
        let mut lat = bbox.lat_min;
        'rows: while lat <= bbox.lat_max {
            let mut lng = bbox.lng_min;
            while lng <= bbox.lng_max {
                if spots.len() >= wanted {
                    break 'rows;
                }
                let shown = ShownPosition::of(LatLng::new(lat, lng).map_err(|e| e.to_string())?);
                if seen.insert(shown.cell()) {
                    let centre = shown.point();
                    let spot = Point {
                        lat: centre.lat(),
                        lng: centre.lng(),
                    };
                    let citizen = citizen_of(spot);
                    if bbox.contains(spot) && bbox.contains(citizen) {
                        spots.push(spot);
                    }
                }
                lng += lng_step;
            }
            lat += lat_step;
        }
        if spots.len() < wanted {
            return Err(format!(
                "{pairs} pairs do not fit in --bbox {bbox}: it holds {} shown cells and each pair needs one; \
                 use a larger box or fewer pairs",
                spots.len()
            ));
        }
        Ok(Self { spots })
    }

    /// Where officer `pair` stands.
    pub(crate) fn officer(&self, pair: u32) -> Point {
        let index = usize::try_from(pair).unwrap_or(usize::MAX);
        self.spots[index]
    }

    /// Where citizen `pair` stands: a few metres north of its officer.
    pub(crate) fn citizen(&self, pair: u32) -> Point {
        citizen_of(self.officer(pair))
    }

    /// Distance from the first spot to its nearest neighbour, metres: the
    /// centre-to-centre distance of shown cells here.
    pub(crate) fn spacing_m(&self) -> f64 {
        let Some((&first, others)) = self.spots.split_first() else {
            return 0.0;
        };
        others
            .iter()
            .map(|&other| metres_between(first, other))
            .fold(f64::INFINITY, f64::min)
            .min(f64::MAX)
    }
}

fn citizen_of(officer: Point) -> Point {
    Point {
        lat: officer.lat + PAIR_DISTANCE_M / METRES_PER_DEGREE,
        lng: officer.lng,
    }
}

fn metres_between(from: Point, to: Point) -> f64 {
    match (LatLng::new(from.lat, from.lng), LatLng::new(to.lat, to.lng)) {
        (Ok(from), Ok(to)) => crate::geo::distance_m(from, to),
        _ => f64::INFINITY,
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
    use crate::geo::distance_m;
    use crate::privacy::distance_to_officer_m;

    const BOX: BoundingBox = BoundingBox::MANHATTAN_AND_HOBOKEN;

    fn metres(from: Point, to: Point) -> f64 {
        distance_m(
            LatLng::new(from.lat, from.lng).unwrap(),
            LatLng::new(to.lat, to.lng).unwrap(),
        )
    }

    #[test]
    fn every_citizen_is_shown_its_own_officer_first_and_stands_in_the_box() {
        for pairs in [1, 7, 1_000] {
            let placement = Placement::new(&BOX, pairs).unwrap();
            let shown: Vec<ShownPosition> = (0..pairs)
                .map(|pair| {
                    let officer = placement.officer(pair);
                    ShownPosition::of(LatLng::new(officer.lat, officer.lng).unwrap())
                })
                .collect();
            let cells: HashSet<u64> = shown.iter().map(|position| position.cell()).collect();
            assert_eq!(cells.len(), shown.len(), "one officer per shown cell");
            for pair in 0..pairs {
                let citizen = placement.citizen(pair);
                assert!(BOX.contains(citizen) && BOX.contains(placement.officer(pair)));
                let own = metres(placement.officer(pair), citizen);
                assert!((own - PAIR_DISTANCE_M).abs() < 0.5, "{own} m");
                let citizen = LatLng::new(citizen.lat, citizen.lng).unwrap();
                let own_shown = distance_to_officer_m(citizen, shown[pair as usize]);
                assert!(own_shown < 11.0, "own officer shown {own_shown} m away");
                let nearest_other = shown
                    .iter()
                    .enumerate()
                    .filter(|&(other, _)| other != pair as usize)
                    .map(|(_, &position)| distance_to_officer_m(citizen, position))
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    nearest_other > 250.0,
                    "another officer shown {nearest_other} m away"
                );
            }
        }
        let placement = Placement::new(&BOX, 2).unwrap();
        assert!(
            (250.0..450.0).contains(&placement.spacing_m()),
            "{}",
            placement.spacing_m()
        );
    }

    #[test]
    fn too_many_pairs_for_the_box_are_refused() {
        let small = BoundingBox {
            lat_min: 40.70,
            lng_min: -74.00,
            lat_max: 40.71,
            lng_max: -73.99,
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
