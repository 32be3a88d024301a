//! H3 helpers: the cell of a point, a cell's centre, the coarse cell kept in
//! records, and the block of cells to search around a point. (What citizens are
//! shown of an officer is decided in `privacy`.)

use h3o::{CellIndex, Resolution};

use super::latlng::LatLng;

/// Resolution of the cell kept in connection records (edge ≈ 1.4 km, area ≈ 5 km²).
pub(crate) const RECORD_RESOLUTION: Resolution = Resolution::Seven;

/// Lower bound on how far apart the centres of two cells `n` rings apart are, per
/// ring, in multiples of the resolution's average edge length. A regular hexagon grid
/// gives 1.5; H3's icosahedral distortion brings the worst case down to 1.053 at odd
/// resolutions and 1.096 at even ones (measured for rings 1 to 8 over every cell of
/// resolution 5 and 100,000 random cells at each of resolutions 6 and 8 to 12, worst
/// next to the pentagons; ring 1 alone is at least 1.2). 1.0 keeps a margin.
const MIN_CENTRE_DISTANCE_PER_RING_IN_EDGES: f64 = 1.0;

/// Upper bound on the distance from a cell's centre to any point of the cell, in
/// multiples of the resolution's average edge length. A regular hexagon gives 1.0;
/// the largest measured (every hexagon of resolutions 4 to 6, random cells up to 12)
/// is 1.103.
const MAX_CIRCUMRADIUS_IN_EDGES: f64 = 1.2;

/// The cell containing `point` at `resolution`.
pub(crate) fn cell_at(point: LatLng, resolution: Resolution) -> CellIndex {
    point.to_h3().to_cell(resolution)
}

/// The centre of a cell.
pub(crate) fn cell_center(cell: CellIndex) -> LatLng {
    LatLng::from_h3(h3o::LatLng::from(cell))
}

/// The cell records keep for a position (resolution 7).
pub(crate) fn record_cell(point: LatLng) -> CellIndex {
    cell_at(point, RECORD_RESOLUTION)
}

/// The ZIP a record keeps for its cell: the ZIP of the cell's centre, so the ZIP
/// never narrows the place below the cell; `None` with no centroid within reach.
pub(crate) fn record_zip(cell: CellIndex) -> Option<String> {
    super::zip::nearest_zip_within(cell_center(cell), super::shard::ZIP_SHARD_MAX_DISTANCE_M)
        .map(|nearest| nearest.zip.to_string())
}

/// How many rings around a point's cell to search so that every point within
/// `radius_m` of it lies in one of the searched cells.
///
/// Why this is enough: let `q` be within `radius_m` of `p`, in a cell `n` rings from
/// `p`'s cell. The two centres are each within one circumradius of their point, so they
/// are at most `radius_m + 2·R` apart; and cells `n` rings apart have centres at least
/// `n·s` apart. Hence `n ≤ (radius_m + 2·R) / s`, with `R` and `s` the conservative
/// per-resolution bounds above. Tested with random points and offsets worldwide,
/// around pentagons and at the poles; the tests fail if the ring bound is raised to
/// 1.2, so the margin is real but not wide. At resolution 8 (edge ≈ 531 m) a 5 km
/// radius gives k = 11 (397 cells), 250 m gives k = 2 (19 cells).
///
/// A radius that is zero, negative or NaN searches only the point's own cell.
pub(crate) fn search_disk_k(resolution: Resolution, radius_m: f64) -> u32 {
    if radius_m.is_nan() || radius_m <= 0.0 {
        return 0;
    }
    let edge_m = resolution.edge_length_m();
    let rings = (radius_m + 2.0 * MAX_CIRCUMRADIUS_IN_EDGES * edge_m)
        / (MIN_CENTRE_DISTANCE_PER_RING_IN_EDGES * edge_m);
    // Saturating float-to-int conversion; radii come from validated configuration.
    rings.floor() as u32
}

/// The cells at `resolution` covering every point within `radius_m` of `point`: the
/// disk of [`search_disk_k`] rings around its cell, the point's own cell first.
pub(crate) fn search_cells(point: LatLng, radius_m: f64, resolution: Resolution) -> Vec<CellIndex> {
    cell_at(point, resolution).grid_disk::<Vec<_>>(search_disk_k(resolution, radius_m))
}

#[cfg(test)]
mod tests;
