//! Distance bands: what a person is shown instead of a precise distance. A band is
//! named by its upper bound in meters, so "within 250 m" is `250`.
//!
//! The bands are 100 m, 250 m, 500 m, 1 km, 2 km, 5 km and 10 km; beyond 10 km, the next
//! multiple of 10 km. They are fine enough near the 250 m "officer nearby" threshold to
//! be useful and coarse enough that walking around does not reveal a position, and they
//! only change when the distance crosses a bound, which keeps pushes rare.

/// Upper bounds of the named bands, in meters, ascending.
pub(crate) const DISTANCE_BANDS_M: [u32; 7] = [100, 250, 500, 1_000, 2_000, 5_000, 10_000];

/// Width of each band beyond the last named one.
const FAR_BAND_WIDTH_M: u32 = 10_000;

/// The band for a distance: the smallest bound that is at least `distance_m`, so a
/// band never understates the distance. Negative distances fall in the first band;
/// an unknown (NaN) or enormous distance in the widest, `u32::MAX`.
pub(crate) fn distance_band_m(distance_m: f64) -> u32 {
    if distance_m.is_nan() {
        return u32::MAX;
    }
    for bound_m in DISTANCE_BANDS_M {
        if distance_m <= f64::from(bound_m) {
            return bound_m;
        }
    }
    let far_bands = (distance_m / f64::from(FAR_BAND_WIDTH_M)).ceil();
    let far_bound_m = far_bands * f64::from(FAR_BAND_WIDTH_M);
    if far_bound_m >= f64::from(u32::MAX) {
        return u32::MAX;
    }
    // Finite, positive and below u32::MAX, so the conversion is exact.
    far_bound_m as u32
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        let cases = [
            (-5.0, 100),
            (0.0, 100),
            (100.0, 100),
            (100.000_1, 250),
            (249.9, 250),
            (250.0, 250),
            (250.1, 500),
            (999.0, 1_000),
            (1_500.0, 2_000),
            (4_999.0, 5_000),
            (5_001.0, 10_000),
            (10_000.0, 10_000),
            (10_000.1, 20_000),
            (20_000.0, 20_000),
            (20_015_086.0, 20_020_000),
            (1e12, u32::MAX),
            (f64::INFINITY, u32::MAX),
            (f64::NAN, u32::MAX),
        ];
        for (distance_m, expected) in cases {
            assert_eq!(distance_band_m(distance_m), expected, "{distance_m}");
        }
    }

    #[test]
    fn named_bands_ascend() {
        assert!(DISTANCE_BANDS_M.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(DISTANCE_BANDS_M.last(), Some(&FAR_BAND_WIDTH_M));
    }

    proptest! {
        #[test]
        fn bands_are_monotonic(first in 0.0..30_000_000.0f64, second in 0.0..30_000_000.0f64) {
            let (near, far) = if first <= second { (first, second) } else { (second, first) };
            prop_assert!(distance_band_m(near) <= distance_band_m(far));
        }

        #[test]
        fn a_band_never_understates_the_distance(distance_m in 0.0..30_000_000.0f64) {
            prop_assert!(f64::from(distance_band_m(distance_m)) >= distance_m);
        }

        #[test]
        fn bands_are_coarse(distance_m in 0.0..30_000_000.0f64) {
            let band = distance_band_m(distance_m);
            prop_assert!(DISTANCE_BANDS_M.contains(&band) || band.is_multiple_of(FAR_BAND_WIDTH_M));
        }
    }
}
