//! A validated WGS84 coordinate and the haversine distance between two of them.
//!
//! A [`LatLng`] can only be built from finite degrees inside [-90, 90] × [-180, 180],
//! so everything downstream (H3 indexing, the ZIP lookup, distances) is infallible.
//! Its `Debug` output is redacted and it has no `Display`: precise positions must never
//! reach logs, and a `?location` field in a span is the easiest way to leak one.

use std::fmt;

/// Mean Earth radius (IUGG R1), in meters, used for every distance in the crate.
pub(crate) const EARTH_MEAN_RADIUS_M: f64 = 6_371_008.8;

/// Why a pair of numbers is not a coordinate. The messages carry no values, so an
/// error can be logged without logging the position that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CoordinateError {
    /// Latitude is NaN or infinite.
    #[error("latitude is not a finite number")]
    LatitudeNotFinite,
    /// Longitude is NaN or infinite.
    #[error("longitude is not a finite number")]
    LongitudeNotFinite,
    /// Latitude is finite but outside [-90, 90].
    #[error("latitude is outside [-90, 90]")]
    LatitudeOutOfRange,
    /// Longitude is finite but outside [-180, 180].
    #[error("longitude is outside [-180, 180]")]
    LongitudeOutOfRange,
}

/// A point on the Earth, in degrees, known to be finite and in range.
#[derive(Clone, Copy)]
pub(crate) struct LatLng {
    /// Latitude in degrees, exactly as given, so what is echoed is what was sent.
    lat_deg: f64,
    /// Longitude in degrees, exactly as given.
    lng_deg: f64,
    /// The same point as h3o holds it (radians), built once at validation so H3
    /// indexing and the haversine formula need neither conversion nor re-checking.
    h3: h3o::LatLng,
}

impl LatLng {
    /// Validates a coordinate given in degrees.
    pub(crate) fn new(lat_deg: f64, lng_deg: f64) -> Result<Self, CoordinateError> {
        if !lat_deg.is_finite() {
            return Err(CoordinateError::LatitudeNotFinite);
        }
        if !lng_deg.is_finite() {
            return Err(CoordinateError::LongitudeNotFinite);
        }
        if !(-90.0..=90.0).contains(&lat_deg) {
            return Err(CoordinateError::LatitudeOutOfRange);
        }
        if !(-180.0..=180.0).contains(&lng_deg) {
            return Err(CoordinateError::LongitudeOutOfRange);
        }
        let h3 = match h3o::LatLng::new(lat_deg, lng_deg) {
            Ok(h3) => h3,
            // h3o only rejects non-finite values, which were rejected above.
            Err(_) => return Err(CoordinateError::LatitudeNotFinite),
        };
        Ok(Self {
            lat_deg,
            lng_deg,
            h3,
        })
    }

    /// Wraps a coordinate produced by h3o (a cell centre). h3o keeps latitudes in
    /// [-π/2, π/2] and longitudes in [-π, π]; the clamp only absorbs rounding in the
    /// conversion to degrees.
    pub(crate) fn from_h3(h3: h3o::LatLng) -> Self {
        let lat_deg = h3.lat().clamp(-90.0, 90.0);
        let lng_deg = h3.lng().clamp(-180.0, 180.0);
        debug_assert!(lat_deg.is_finite() && lng_deg.is_finite());
        Self {
            lat_deg,
            lng_deg,
            h3,
        }
    }

    /// Latitude in degrees.
    pub(crate) fn lat(self) -> f64 {
        self.lat_deg
    }

    /// Longitude in degrees.
    pub(crate) fn lng(self) -> f64 {
        self.lng_deg
    }

    /// The point as h3o takes it.
    pub(crate) fn to_h3(self) -> h3o::LatLng {
        self.h3
    }

    /// The point as a unit vector from the Earth's centre (x towards 0°N 0°E, z towards
    /// the North Pole). The squared Euclidean (chord) distance between two such vectors
    /// is `4·sin²(θ/2)` for central angle θ, which grows monotonically with the
    /// great-circle distance, so nearest-by-chord is nearest-by-haversine.
    pub(crate) fn unit_vector(self) -> [f64; 3] {
        let lat = self.h3.lat_radians();
        let lng = self.h3.lng_radians();
        let (sin_lat, cos_lat) = lat.sin_cos();
        let (sin_lng, cos_lng) = lng.sin_cos();
        [cos_lat * cos_lng, cos_lat * sin_lng, sin_lat]
    }
}

impl PartialEq for LatLng {
    fn eq(&self, other: &Self) -> bool {
        self.lat_deg == other.lat_deg && self.lng_deg == other.lng_deg
    }
}

impl fmt::Debug for LatLng {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("LatLng(<redacted>)")
    }
}

/// Great-circle distance in meters between two points (haversine formula on a sphere
/// of radius [`EARTH_MEAN_RADIUS_M`]; within 0.5% of the ellipsoidal distance).
pub(crate) fn distance_m(from: LatLng, to: LatLng) -> f64 {
    let from_lat = from.h3.lat_radians();
    let to_lat = to.h3.lat_radians();
    let sin_half_delta_lat = ((to_lat - from_lat) * 0.5).sin();
    let sin_half_delta_lng = ((to.h3.lng_radians() - from.h3.lng_radians()) * 0.5).sin();
    let haversine = sin_half_delta_lat.mul_add(
        sin_half_delta_lat,
        from_lat.cos() * to_lat.cos() * sin_half_delta_lng * sin_half_delta_lng,
    );
    2.0 * EARTH_MEAN_RADIUS_M * haversine.clamp(0.0, 1.0).sqrt().asin()
}

#[cfg(test)]
mod tests;
