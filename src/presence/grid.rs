//! The geometry of the presence index: a latitude/longitude grid of fixed-size
//! cells (0.01° ≈ 1.1 km north–south) with exact lower bounds on the great-circle
//! distance from a point to any cell of a square ring around it. Those bounds let a
//! nearest search expand ring by ring and stop as soon as no farther ring can hold
//! a closer officer, which keeps lookups cheap in dense cities and correct across
//! every ZIP, shard and cell boundary (nothing about the grid follows them).

use crate::geo::LatLng;

/// Mean Earth radius (IUGG), metres: the radius every distance in the crate uses.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Grid cell size in degrees of latitude and of longitude.
pub(crate) const CELL_DEGREES: f64 = 0.01;
/// Grid columns around the globe (longitude indices wrap modulo this).
const COLUMNS: i64 = (360.0 / CELL_DEGREES) as i64;
/// Highest latitude handled exactly; beyond it the longitude bound is taken as 0
/// (searches there scan whole rings, which is correct, only slower).
const POLAR_LIMIT_DEGREES: f64 = 89.0;

/// One grid cell: latitude row and longitude column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct GridKey {
    /// `floor(lat / CELL_DEGREES)`.
    pub(crate) row: i32,
    /// `floor(lng / CELL_DEGREES)` wrapped into `[0, COLUMNS)`.
    pub(crate) column: i32,
}

impl GridKey {
    /// The cell holding `point`.
    pub(crate) fn of(point: LatLng) -> Self {
        let row = (point.lat() / CELL_DEGREES).floor() as i64;
        let column = (point.lng() / CELL_DEGREES).floor() as i64;
        Self {
            row: row as i32,
            column: column.rem_euclid(COLUMNS) as i32,
        }
    }

    /// The cell `row_offset` rows and `column_offset` columns away (columns wrap at
    /// the antimeridian); `None` past a pole.
    pub(crate) fn offset(self, row_offset: i64, column_offset: i64) -> Option<Self> {
        let row = i64::from(self.row) + row_offset;
        let max_row = (90.0 / CELL_DEGREES) as i64;
        if row < -max_row || row >= max_row {
            return None;
        }
        Some(Self {
            row: row as i32,
            column: (i64::from(self.column) + column_offset).rem_euclid(COLUMNS) as i32,
        })
    }
}

/// Where a point sits inside its cell, to bound distances to the rings around it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RingBounds {
    /// Metres from the point to its cell's southern and northern edges.
    south_m: f64,
    north_m: f64,
    /// Fraction of a cell from the point to its cell's western and eastern edges.
    west_fraction: f64,
    east_fraction: f64,
    /// The point's latitude (degrees).
    lat: f64,
}

impl RingBounds {
    /// Bounds for searches around `point`.
    pub(crate) fn around(point: LatLng) -> Self {
        let row_fraction = point.lat() / CELL_DEGREES - (point.lat() / CELL_DEGREES).floor();
        let column_fraction = point.lng() / CELL_DEGREES - (point.lng() / CELL_DEGREES).floor();
        let cell_height_m = CELL_DEGREES.to_radians() * EARTH_RADIUS_M;
        Self {
            south_m: row_fraction * cell_height_m,
            north_m: (1.0 - row_fraction) * cell_height_m,
            west_fraction: column_fraction,
            east_fraction: 1.0 - column_fraction,
            lat: point.lat(),
        }
    }

    /// A lower bound on the distance from the point to anything in ring `ring`
    /// (the cells at Chebyshev distance `ring` from the point's cell). Ring 0 is 0.
    pub(crate) fn ring_lower_bound_m(&self, ring: u32) -> f64 {
        if ring == 0 {
            return 0.0;
        }
        let rings_between = f64::from(ring - 1);
        let cell_height_m = CELL_DEGREES.to_radians() * EARTH_RADIUS_M;
        // Along a meridian: the latitude gap alone bounds the great-circle distance.
        let north_south_m = rings_between * cell_height_m + self.south_m.min(self.north_m);
        // Across meridians: hav(d) >= cos(lat1) cos(lat2) hav(dlng), and both
        // latitudes are at most `max_lat` from the equator within the ring.
        let max_lat = (self.lat.abs() + f64::from(ring + 1) * CELL_DEGREES).min(90.0);
        let east_west_m = if max_lat >= POLAR_LIMIT_DEGREES {
            0.0
        } else {
            let gap_degrees =
                (rings_between + self.west_fraction.min(self.east_fraction)) * CELL_DEGREES;
            let half_gap = (gap_degrees.to_radians() / 2.0).min(std::f64::consts::FRAC_PI_2);
            2.0 * EARTH_RADIUS_M * (max_lat.to_radians().cos() * half_gap.sin()).asin()
        };
        north_south_m.min(east_west_m)
    }
}

/// The cells of ring `ring` around `center` (one cell for ring 0), each once.
pub(crate) fn ring_cells(center: GridKey, ring: u32) -> impl Iterator<Item = GridKey> {
    let radius = i64::from(ring);
    let columns_in_ring = (2 * radius + 1).min(COLUMNS);
    (-radius..=radius).flat_map(move |row_offset| {
        let on_edge_row = row_offset.abs() == radius;
        let column_offsets: Vec<i64> = if on_edge_row {
            (-radius..-radius + columns_in_ring).collect()
        } else if 2 * radius < COLUMNS {
            vec![-radius, radius]
        } else {
            Vec::new()
        };
        column_offsets
            .into_iter()
            .filter_map(move |column_offset| center.offset(row_offset, column_offset))
    })
}

/// Rings needed so that every point within `radius_m` of the centre is covered.
pub(crate) fn rings_covering(point: LatLng, radius_m: f64) -> u32 {
    let bounds = RingBounds::around(point);
    let mut ring = 0;
    while bounds.ring_lower_bound_m(ring + 1) <= radius_m && ring < MAX_RINGS {
        ring += 1;
    }
    ring
}

/// Safety cap on ring expansion (about 1,100 km at the equator).
pub(crate) const MAX_RINGS: u32 = 1_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::distance_m;

    fn point(lat: f64, lng: f64) -> LatLng {
        LatLng::new(lat, lng).unwrap()
    }

    #[test]
    fn ring_cells_are_distinct_and_sized() {
        let center = GridKey::of(point(40.75, -73.99));
        for ring in 0..5u32 {
            let cells: Vec<GridKey> = ring_cells(center, ring).collect();
            let expected = if ring == 0 { 1 } else { 8 * ring as usize };
            assert_eq!(cells.len(), expected, "ring {ring}");
            let unique: std::collections::HashSet<_> = cells.iter().collect();
            assert_eq!(unique.len(), cells.len());
        }
    }

    #[test]
    fn columns_wrap_at_the_antimeridian() {
        let east = GridKey::of(point(0.0, 179.999));
        let west = GridKey::of(point(0.0, -179.999));
        assert_eq!(east.offset(0, 1), Some(west));
    }

    proptest::proptest! {
        #[test]
        fn lower_bounds_never_exceed_true_distances(
            lat in -80.0f64..80.0,
            lng in -180.0f64..180.0,
            dlat in -0.2f64..0.2,
            dlng in -0.3f64..0.3,
        ) {
            let origin = point(lat, lng);
            let other_lng = (lng + dlng + 540.0).rem_euclid(360.0) - 180.0;
            let other = point((lat + dlat).clamp(-90.0, 90.0), other_lng);
            let from = GridKey::of(origin);
            let to = GridKey::of(other);
            let row_gap = (i64::from(to.row) - i64::from(from.row)).abs();
            let raw_column_gap = (i64::from(to.column) - i64::from(from.column)).abs();
            let column_gap = raw_column_gap.min(COLUMNS - raw_column_gap);
            let ring = row_gap.max(column_gap) as u32;
            let bound = RingBounds::around(origin).ring_lower_bound_m(ring);
            proptest::prop_assert!(bound <= distance_m(origin, other) + 1e-6,
                "ring {} bound {} > distance {}", ring, bound, distance_m(origin, other));
        }
    }
}
