use proptest::prelude::*;

use super::*;
use crate::geo::test_support::{any_point, destination, point, point_in};

/// Points in and around New York City.
fn city_point() -> impl Strategy<Value = LatLng> {
    point_in(40.55..=40.90, -74.20..=-73.70)
}

proptest! {
    #[test]
    fn a_shown_position_is_near_and_stable(origin in any_point()) {
        let shown = ShownPosition::of(origin);
        prop_assert!(geo::distance_m(origin, shown.point()) <= max_shown_offset_m());
        prop_assert_eq!(ShownPosition::of(shown.point()), shown);
        prop_assert_eq!(shown.cell(), u64::from(geo::cell_at(origin, SHOWN_RESOLUTION)));
    }

    /// Whatever the officer's point inside one cell, every distance a citizen's
    /// answers are computed from is the same.
    #[test]
    fn answers_depend_on_the_officer_s_cell_only(
        officer in city_point(),
        bearing_deg in 0.0..360.0f64,
        offset_m in 0.0..400.0f64,
        citizen in city_point(),
    ) {
        let moved = destination(officer, bearing_deg, offset_m);
        prop_assume!(ShownPosition::of(moved) == ShownPosition::of(officer));
        prop_assert_eq!(
            distance_to_officer_m(citizen, ShownPosition::of(officer)),
            distance_to_officer_m(citizen, ShownPosition::of(moved))
        );
        prop_assert_eq!(
            citizen_band_for_officer_m(citizen, ShownPosition::of(officer)),
            citizen_band_for_officer_m(citizen, ShownPosition::of(moved))
        );
    }

    /// The officer sees a band that does not change while the citizen moves
    /// inside one cell either.
    #[test]
    fn the_officer_sees_the_citizen_s_cell_only(
        citizen in city_point(),
        bearing_deg in 0.0..360.0f64,
        offset_m in 0.0..400.0f64,
        officer in city_point(),
    ) {
        let moved = destination(citizen, bearing_deg, offset_m);
        prop_assume!(ShownPosition::of(moved) == ShownPosition::of(citizen));
        let officer = ShownPosition::of(officer);
        prop_assert_eq!(
            citizen_band_for_officer_m(citizen, officer),
            citizen_band_for_officer_m(moved, officer)
        );
    }
}

#[test]
fn moves_faster_than_the_plausible_speed_are_refused() {
    let start = point(40.7580, -73.9855);
    let previous = Observed {
        position: start,
        at_ms: 1_000_000,
    };
    let after = |seconds: i64| 1_000_000 + seconds * 1_000;
    // 60 m/s over ten seconds: a car on a highway.
    assert!(is_plausible_move(
        previous,
        destination(start, 90.0, 600.0),
        after(10),
        70.0,
        1_000
    ));
    // 1 km in one second.
    assert!(!is_plausible_move(
        previous,
        destination(start, 90.0, 1_000.0),
        after(1),
        70.0,
        1_000
    ));
    // Two fixes sent back to back count as one interval apart: GPS jitter passes.
    assert!(is_plausible_move(
        previous,
        destination(start, 0.0, 50.0),
        1_000_000,
        70.0,
        1_000
    ));
    // A long silence makes a far fix plausible again.
    assert!(is_plausible_move(
        previous,
        destination(start, 0.0, 50_000.0),
        after(3_600),
        70.0,
        1_000
    ));
}
