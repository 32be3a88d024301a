//! The geometry of the presence index: latitude/longitude grids of fixed-size
//! cells (a fine one of 0.001° ≈ 110 m and a coarse one of 0.01° ≈ 1.1 km
//! north–south) with exact lower bounds on the great-circle distance from a point
//! to any cell of a square ring around it. Those bounds let a nearest search expand
//! ring by ring and stop as soon as no farther ring can hold a closer officer,
//! which keeps lookups cheap in dense cities and correct across every ZIP, shard
//! and cell boundary (nothing about the grid follows them).

use crate::geo::LatLng;

/// Mean Earth radius (IUGG), metres: the radius every distance in the crate uses.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Highest latitude handled exactly; beyond it the longitude bound is taken as 0
/// (searches there scan whole rings, which is correct, only slower).
const POLAR_LIMIT_DEGREES: f64 = 89.0;

/// A grid: square cells of `cell_degrees` of latitude and of longitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    /// Cell size in degrees.
    cell_degrees: f64,
    /// Columns around the globe (longitude indices wrap modulo this).
    columns: i64,
}

impl Grid {
    /// 0.001°: a handful of officers per cell even in a crowded downtown.
    pub(crate) const FINE: Grid = Grid {
        cell_degrees: 0.001,
        columns: 360_000,
    };
    /// 0.01°: few cells to cover a 5 km search where officers are sparse.
    pub(crate) const COARSE: Grid = Grid {
        cell_degrees: 0.01,
        columns: 36_000,
    };

    /// The cell holding `point`.
    pub(crate) fn key(self, point: LatLng) -> GridKey {
        let row = (point.lat() / self.cell_degrees).floor() as i64;
        let column = (point.lng() / self.cell_degrees).floor() as i64;
        GridKey {
            row: row as i32,
            column: column.rem_euclid(self.columns) as i32,
        }
    }

    /// The cell `row_offset` rows and `column_offset` columns from `key` (columns
    /// wrap at the antimeridian); `None` past a pole.
    pub(crate) fn offset(
        self,
        key: GridKey,
        row_offset: i64,
        column_offset: i64,
    ) -> Option<GridKey> {
        let row = i64::from(key.row) + row_offset;
        let max_row = (90.0 / self.cell_degrees).round() as i64;
        if row < -max_row || row >= max_row {
            return None;
        }
        Some(GridKey {
            row: row as i32,
            column: (i64::from(key.column) + column_offset).rem_euclid(self.columns) as i32,
        })
    }

    /// The cells of ring `ring` around `center` (one cell for ring 0), each once,
    /// without allocating: edge rows are a run of columns, the rows between
    /// them only the ring's two side columns.
    pub(crate) fn ring_cells(self, center: GridKey, ring: u32) -> impl Iterator<Item = GridKey> {
        let radius = i64::from(ring);
        let columns = self.columns;
        let columns_in_ring = (2 * radius + 1).min(columns);
        (-radius..=radius).flat_map(move |row_offset| {
            let (end, step) = if row_offset.abs() == radius {
                (-radius + columns_in_ring, 1)
            } else if 2 * radius < columns {
                (radius + 1, (2 * radius) as usize)
            } else {
                (-radius, 1)
            };
            (-radius..end)
                .step_by(step)
                .filter_map(move |column_offset| self.offset(center, row_offset, column_offset))
        })
    }

    /// Rings needed so that every point within `radius_m` of `point` is covered.
    pub(crate) fn rings_covering(self, point: LatLng, radius_m: f64) -> u32 {
        let bounds = RingBounds::around(self, point);
        let mut ring = 0;
        while bounds.ring_lower_bound_m(ring + 1) <= radius_m && ring < MAX_RINGS {
            ring += 1;
        }
        ring
    }
}

/// One grid cell: latitude row and longitude column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct GridKey {
    /// `floor(lat / cell_degrees)`.
    pub(crate) row: i32,
    /// `floor(lng / cell_degrees)`, wrapped around the globe.
    pub(crate) column: i32,
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
    /// Cell size of the grid, degrees.
    cell_degrees: f64,
}

impl RingBounds {
    /// Bounds for searches around `point`.
    pub(crate) fn around(grid: Grid, point: LatLng) -> Self {
        let cell_degrees = grid.cell_degrees;
        let row_fraction = point.lat() / cell_degrees - (point.lat() / cell_degrees).floor();
        let column_fraction = point.lng() / cell_degrees - (point.lng() / cell_degrees).floor();
        let cell_height_m = cell_degrees.to_radians() * EARTH_RADIUS_M;
        Self {
            south_m: row_fraction * cell_height_m,
            north_m: (1.0 - row_fraction) * cell_height_m,
            west_fraction: column_fraction,
            east_fraction: 1.0 - column_fraction,
            lat: point.lat(),
            cell_degrees,
        }
    }

    /// A lower bound on the distance from the point to anything in ring `ring`
    /// (the cells at Chebyshev distance `ring` from the point's cell). Ring 0 is 0.
    pub(crate) fn ring_lower_bound_m(&self, ring: u32) -> f64 {
        if ring == 0 {
            return 0.0;
        }
        let rings_between = f64::from(ring - 1);
        let cell_degrees = self.cell_degrees;
        let cell_height_m = cell_degrees.to_radians() * EARTH_RADIUS_M;
        // Along a meridian: the latitude gap alone bounds the great-circle distance.
        let north_south_m = rings_between * cell_height_m + self.south_m.min(self.north_m);
        // Across meridians: hav(d) >= cos(lat1) cos(lat2) hav(dlng), and both
        // latitudes are at most `max_lat` from the equator within the ring.
        let max_lat = (self.lat.abs() + f64::from(ring + 1) * cell_degrees).min(90.0);
        let east_west_m = if max_lat >= POLAR_LIMIT_DEGREES {
            0.0
        } else {
            let gap_degrees =
                (rings_between + self.west_fraction.min(self.east_fraction)) * cell_degrees;
            let half_gap = (gap_degrees.to_radians() / 2.0).min(std::f64::consts::FRAC_PI_2);
            2.0 * EARTH_RADIUS_M * (max_lat.to_radians().cos() * half_gap.sin()).asin()
        };
        north_south_m.min(east_west_m)
    }
}

/// Safety cap on ring expansion (beyond any search radius the server allows).
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
        let center = Grid::FINE.key(point(40.75, -73.99));
        for ring in 0..5u32 {
            let cells: Vec<GridKey> = Grid::FINE.ring_cells(center, ring).collect();
            let expected = if ring == 0 { 1 } else { 8 * ring as usize };
            assert_eq!(cells.len(), expected, "ring {ring}");
            let unique: std::collections::HashSet<_> = cells.iter().collect();
            assert_eq!(unique.len(), cells.len());
        }
    }

    #[test]
    fn columns_wrap_at_the_antimeridian() {
        for grid in [Grid::FINE, Grid::COARSE] {
            let east = grid.key(point(0.0, 179.9999));
            let west = grid.key(point(0.0, -179.9999));
            assert_eq!(grid.offset(east, 0, 1), Some(west));
        }
    }

    proptest::proptest! {
        #[test]
        fn lower_bounds_never_exceed_true_distances(
            lat in -80.0f64..80.0,
            lng in -180.0f64..180.0,
            dlat in -0.2f64..0.2,
            dlng in -0.3f64..0.3,
            fine in proptest::bool::ANY,
        ) {
            let grid = if fine { Grid::FINE } else { Grid::COARSE };
            let origin = point(lat, lng);
            let other_lng = (lng + dlng + 540.0).rem_euclid(360.0) - 180.0;
            let other = point((lat + dlat).clamp(-90.0, 90.0), other_lng);
            let from = grid.key(origin);
            let to = grid.key(other);
            let row_gap = (i64::from(to.row) - i64::from(from.row)).abs();
            let raw_column_gap = (i64::from(to.column) - i64::from(from.column)).abs();
            let column_gap = raw_column_gap.min(grid.columns - raw_column_gap);
            let ring = row_gap.max(column_gap) as u32;
            let bound = RingBounds::around(grid, origin).ring_lower_bound_m(ring);
            proptest::prop_assert!(bound <= distance_m(origin, other) + 1e-6,
                "ring {} bound {} > distance {}", ring, bound, distance_m(origin, other));
        }
    }
}
