use h3o::{CellIndex, Resolution};
use proptest::prelude::*;

use super::*;
use crate::geo::latlng::distance_m;
use crate::geo::test_support::{any_point, destination, point, point_in};

fn resolution_between(finest: u8, coarsest: u8) -> impl Strategy<Value = Resolution> {
    (coarsest..=finest).prop_map(|level| Resolution::try_from(level).expect("valid level"))
}

/// Asserts that a point at `fraction` of `radius_m` from `origin` lies in the searched
/// cells.
fn check_covered(
    origin: LatLng,
    resolution: Resolution,
    radius_m: f64,
    bearing_deg: f64,
    fraction: f64,
) -> Result<(), TestCaseError> {
    let target = destination(origin, bearing_deg, radius_m * fraction);
    prop_assume!(distance_m(origin, target) <= radius_m);
    let cells = search_cells(origin, radius_m, resolution);
    let target_cell = cell_at(target, resolution);
    prop_assert!(
        cells.contains(&target_cell),
        "({}, {}) in {target_cell} not among {} cells (k = {}) around ({}, {}) in {}",
        target.lat(),
        target.lng(),
        cells.len(),
        search_disk_k(resolution, radius_m),
        origin.lat(),
        origin.lng(),
        cell_at(origin, resolution),
    );
    Ok(())
}

#[test]
fn cells_have_the_requested_resolution() {
    let times_square = point(40.758, -73.9855);
    assert_eq!(
        cell_at(times_square, Resolution::Eight).resolution(),
        Resolution::Eight
    );
    assert_eq!(record_cell(times_square).resolution(), Resolution::Seven);
}

#[test]
fn search_disk_sizes_at_the_default_resolution() {
    assert_eq!(search_disk_k(Resolution::Eight, 5_000.0), 11);
    assert_eq!(search_disk_k(Resolution::Eight, 250.0), 2);
    assert_eq!(search_disk_k(Resolution::Eight, 0.0), 0);
    assert_eq!(search_disk_k(Resolution::Eight, -1.0), 0);
    assert_eq!(search_disk_k(Resolution::Eight, f64::NAN), 0);
    let around_times_square = search_cells(point(40.758, -73.9855), 5_000.0, Resolution::Eight);
    assert_eq!(around_times_square.len(), 397);
}

#[test]
fn search_starts_with_the_point_s_own_cell() {
    let origin = point(40.758, -73.9855);
    let cells = search_cells(origin, 1_000.0, Resolution::Eight);
    assert_eq!(cells.first(), Some(&cell_at(origin, Resolution::Eight)));
    assert_eq!(
        search_cells(origin, 0.0, Resolution::Eight),
        vec![cell_at(origin, Resolution::Eight)]
    );
}

#[test]
fn search_disk_k_grows_with_the_radius() {
    for level in 0..=15u8 {
        let resolution = Resolution::try_from(level).expect("valid level");
        let mut previous = 0;
        for radius_m in (0..=200).map(|step| f64::from(step) * 100.0) {
            let k = search_disk_k(resolution, radius_m);
            assert!(k >= previous, "{resolution:?} {radius_m}");
            previous = k;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// The guarantee at the server's defaults: resolution-8 cells, a 5 km nearest
    /// radius, anywhere in the US (Alaska and Hawaii included).
    #[test]
    fn covers_the_nearest_radius_in_the_us(
        origin in point_in(18.0..=71.0, -170.0..=-66.0),
        bearing_deg in 0.0..360.0f64,
        fraction in 0.0..=1.0f64,
    ) {
        check_covered(origin, Resolution::Eight, 5_000.0, bearing_deg, fraction)?;
    }

    /// The same guarantee worldwide, poles and antimeridian included, for other
    /// resolutions and radii of up to 30 edge lengths.
    #[test]
    fn covers_any_radius_anywhere(
        origin in any_point(),
        resolution in resolution_between(11, 5),
        radius_in_edges in 0.0..30.0f64,
        bearing_deg in 0.0..360.0f64,
        fraction in 0.9..=1.0f64,
    ) {
        let radius_m = radius_in_edges * resolution.edge_length_m();
        check_covered(origin, resolution, radius_m, bearing_deg, fraction)?;
    }

    /// Around the twelve pentagons, where the grid is most distorted.
    #[test]
    fn covers_the_radius_around_pentagons(
        pentagon_position in 0..12usize,
        resolution in resolution_between(10, 6),
        origin_bearing_deg in 0.0..360.0f64,
        origin_offset_in_edges in 0.0..5.0f64,
        radius_in_edges in 0.0..20.0f64,
        bearing_deg in 0.0..360.0f64,
        fraction in 0.8..=1.0f64,
    ) {
        let pentagon = resolution.pentagons().nth(pentagon_position).expect("twelve pentagons");
        let edge_m = resolution.edge_length_m();
        let origin = destination(
            cell_center(pentagon),
            origin_bearing_deg,
            origin_offset_in_edges * edge_m,
        );
        check_covered(origin, resolution, radius_in_edges * edge_m, bearing_deg, fraction)?;
    }

    #[test]
    fn a_cell_s_centre_lies_in_the_cell(level in 0..=15u8, origin in any_point()) {
        let resolution = Resolution::try_from(level).expect("valid level");
        let cell: CellIndex = cell_at(origin, resolution);
        prop_assert_eq!(cell_at(cell_center(cell), resolution), cell);
    }
}
