//! Test helpers shared by the geo tests: point strategies and the direct geodesic
//! problem (the point at a given bearing and distance), used to build offsets that are
//! known to lie within a radius.

use proptest::prelude::*;

use super::latlng::{EARTH_MEAN_RADIUS_M, LatLng};

/// Any valid point, poles and antimeridian included.
pub(crate) fn any_point() -> impl Strategy<Value = LatLng> {
    (-90.0..=90.0f64, -180.0..=180.0f64).prop_map(|(lat, lng)| point(lat, lng))
}

/// A point in the given box (degrees).
pub(crate) fn point_in(
    lat_range: std::ops::RangeInclusive<f64>,
    lng_range: std::ops::RangeInclusive<f64>,
) -> impl Strategy<Value = LatLng> {
    (lat_range, lng_range).prop_map(|(lat, lng)| point(lat, lng))
}

/// A point from literal test degrees.
pub(crate) fn point(lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat, lng).expect("test coordinates are valid")
}

/// The point reached from `origin` by travelling `distance_m` along the great circle
/// that leaves it at `bearing_deg` (clockwise from north).
pub(crate) fn destination(origin: LatLng, bearing_deg: f64, distance_m: f64) -> LatLng {
    let angular = distance_m / EARTH_MEAN_RADIUS_M;
    let bearing = bearing_deg.to_radians();
    let lat = origin.lat().to_radians();
    let lng = origin.lng().to_radians();
    let target_lat = (lat.sin() * angular.cos() + lat.cos() * angular.sin() * bearing.cos()).asin();
    let target_lng = lng
        + (bearing.sin() * angular.sin() * lat.cos())
            .atan2(angular.cos() - lat.sin() * target_lat.sin());
    let wrapped_lng = (target_lng.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
    point(target_lat.to_degrees().clamp(-90.0, 90.0), wrapped_lng)
}
