use proptest::prelude::*;

use super::*;
use crate::geo::test_support::{any_point, destination};

#[test]
fn accepts_the_corners_of_the_valid_range() {
    for (lat, lng) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0), (-0.0, -0.0)] {
        let point = LatLng::new(lat, lng).expect("in range");
        assert_eq!((point.lat(), point.lng()), (lat, lng));
    }
}

#[test]
fn rejects_non_finite_and_out_of_range_values() {
    let cases = [
        (f64::NAN, 0.0, CoordinateError::LatitudeNotFinite),
        (f64::INFINITY, 0.0, CoordinateError::LatitudeNotFinite),
        (0.0, f64::NAN, CoordinateError::LongitudeNotFinite),
        (0.0, f64::NEG_INFINITY, CoordinateError::LongitudeNotFinite),
        (90.000_001, 0.0, CoordinateError::LatitudeOutOfRange),
        (-91.0, 0.0, CoordinateError::LatitudeOutOfRange),
        (0.0, 180.000_001, CoordinateError::LongitudeOutOfRange),
        (0.0, -540.0, CoordinateError::LongitudeOutOfRange),
        (f64::NAN, f64::NAN, CoordinateError::LatitudeNotFinite),
    ];
    for (lat, lng, expected) in cases {
        assert_eq!(LatLng::new(lat, lng), Err(expected), "({lat}, {lng})");
    }
}

#[test]
fn debug_output_never_shows_the_position() {
    let point = LatLng::new(40.758_012_3, -73.985_567_8).expect("valid");
    let debug = format!("{point:?}");
    assert!(!debug.contains("40.75"), "{debug}");
    assert!(!debug.contains("73.98"), "{debug}");
}

#[test]
fn known_distances() {
    let times_square = LatLng::new(40.758, -73.9855).expect("valid");
    let hoboken_station = LatLng::new(40.7352, -74.0279).expect("valid");
    // Reference value from an independent haversine implementation, same radius.
    let distance = distance_m(times_square, hoboken_station);
    assert!((distance - 4_380.0).abs() < 20.0, "{distance}");

    let north_pole = LatLng::new(90.0, 0.0).expect("valid");
    let south_pole = LatLng::new(-90.0, 45.0).expect("valid");
    let half_circumference = std::f64::consts::PI * EARTH_MEAN_RADIUS_M;
    assert!((distance_m(north_pole, south_pole) - half_circumference).abs() < 1e-6);

    let west_of_antimeridian = LatLng::new(0.0, 179.999).expect("valid");
    let east_of_antimeridian = LatLng::new(0.0, -179.999).expect("valid");
    let across = distance_m(west_of_antimeridian, east_of_antimeridian);
    assert!((across - 222.39).abs() < 0.01, "{across}");
}

#[test]
fn cell_centres_convert_back_to_valid_points() {
    for cell in h3o::CellIndex::base_cells() {
        let centre = LatLng::from_h3(h3o::LatLng::from(cell));
        assert!(LatLng::new(centre.lat(), centre.lng()).is_ok());
    }
}

proptest! {
    #[test]
    fn distance_is_a_symmetric_non_negative_metric(
        first in any_point(),
        second in any_point(),
        third in any_point(),
    ) {
        let first_to_second = distance_m(first, second);
        prop_assert!(first_to_second >= 0.0);
        prop_assert_eq!(distance_m(first, first), 0.0);
        prop_assert!((first_to_second - distance_m(second, first)).abs() < 1e-6);
        prop_assert!(
            first_to_second <= distance_m(first, third) + distance_m(third, second) + 1e-6
        );
        prop_assert!(first_to_second <= std::f64::consts::PI * EARTH_MEAN_RADIUS_M + 1e-6);
    }

    #[test]
    fn destination_lies_at_the_requested_distance(
        origin in any_point(),
        bearing_deg in 0.0..360.0f64,
        offset_m in 0.0..50_000.0f64,
    ) {
        let target = destination(origin, bearing_deg, offset_m);
        prop_assert!((distance_m(origin, target) - offset_m).abs() < 1e-3);
    }

    #[test]
    fn chord_order_matches_great_circle_order(
        origin in any_point(),
        first in any_point(),
        second in any_point(),
    ) {
        let chord_squared = |point: LatLng| {
            let [x0, y0, z0] = origin.unit_vector();
            let [x1, y1, z1] = point.unit_vector();
            (x0 - x1).powi(2) + (y0 - y1).powi(2) + (z0 - z1).powi(2)
        };
        let by_distance = distance_m(origin, first) < distance_m(origin, second) - 1e-3;
        if by_distance {
            prop_assert!(chord_squared(first) < chord_squared(second));
        }
    }
}
