use proptest::prelude::*;

use super::*;
use crate::geo::test_support::{any_point, destination, point, point_in};

/// Two distances closer than this are a tie: far above the rounding of either the
/// chord or the haversine computation (both well under a micrometre).
const TIE_TOLERANCE_M: f64 = 1e-6;

fn zip(text: &str) -> Zip {
    text.parse().expect("test zip is valid")
}

/// The oracle: a haversine scan over every centroid.
fn brute_force_nearest(target: LatLng) -> (Zip, f64) {
    ZIP_INDEX
        .entries
        .iter()
        .map(|entry| (entry.zip, distance_m(target, entry.centroid)))
        .min_by(|first, second| first.1.total_cmp(&second.1))
        .expect("the index is not empty")
}

fn check_against_brute_force(target: LatLng) -> Result<(), TestCaseError> {
    let found = nearest_zip(target);
    let (expected_zip, expected_distance_m) = brute_force_nearest(target);
    prop_assert!(
        (found.distance_m - expected_distance_m).abs() <= TIE_TOLERANCE_M,
        "at ({}, {}) the tree found {} at {} m, the scan {} at {} m",
        target.lat(),
        target.lng(),
        found.zip,
        found.distance_m,
        expected_zip,
        expected_distance_m,
    );
    // A different ZIP is only acceptable as an exact tie, which the check above covers.
    if found.zip != expected_zip {
        let other_distance_m = zip_centroid(expected_zip)
            .map(|centroid| distance_m(target, centroid))
            .unwrap_or(f64::INFINITY);
        prop_assert!((other_distance_m - found.distance_m).abs() <= TIE_TOLERANCE_M);
    }
    Ok(())
}

#[test]
fn embedded_data_parses_completely() {
    let index = ZipIndex::from_csv_gz(ZIP_CENTROIDS_CSV_GZ).expect("embedded data is valid");
    assert_eq!(index.len(), 33_791);
    assert_eq!(preload_zip_index(), 33_791);
    assert!(
        index
            .entries
            .windows(2)
            .all(|pair| pair[0].zip < pair[1].zip)
    );
}

#[test]
fn leading_zeros_survive_parsing() {
    let san_juan_area = zip_centroid(zip("00601")).expect("00601 is a ZCTA");
    assert_eq!(
        (san_juan_area.lat(), san_juan_area.lng()),
        (18.180555, -66.749961)
    );
    let hoboken = zip_centroid(zip("07030")).expect("07030 is a ZCTA");
    assert_eq!((hoboken.lat(), hoboken.lng()), (40.745251, -74.027926));
}

#[test]
fn unknown_zips_have_no_centroid() {
    assert_eq!(zip_centroid(zip("00000")), None);
    assert_eq!(zip_centroid(zip("99999")), None);
}

#[test]
fn every_centroid_is_its_own_nearest_zip() {
    for entry in &ZIP_INDEX.entries {
        let found = nearest_zip(entry.centroid);
        assert_eq!(found.zip, entry.zip);
        assert_eq!(found.distance_m, 0.0);
    }
}

#[test]
fn known_places() {
    let cases = [
        // Broadway at W 46th St. The often-quoted Times Square point (40.7580, -73.9855)
        // is nearer the centroid of 10020 (Rockefeller Center), a small ZCTA.
        ("Times Square", 40.7580, -73.9870, "10036"),
        ("Hoboken, Sinatra Drive", 40.7445, -74.0255, "07030"),
        ("Hoboken, Washington St", 40.7440, -74.0324, "07030"),
        ("West Village, Pier 45", 40.7330, -74.0105, "10014"),
        // Mid-river, 60 m either side of the 10014 / 07030 bisector.
        ("Hudson, New Jersey side", 40.7396, -74.0175, "07030"),
        ("Hudson, Manhattan side", 40.7398, -74.0165, "10014"),
        ("Barrow, Alaska", 71.2906, -156.7886, "99723"),
    ];
    for (name, lat, lng, expected) in cases {
        let found = nearest_zip(point(lat, lng));
        assert_eq!(found.zip, zip(expected), "{name}");
        assert!(found.distance_m < 10_000.0, "{name}: {}", found.distance_m);
    }
}

#[test]
fn mid_atlantic_is_far_from_every_centroid() {
    let mid_atlantic = point(35.0, -45.0);
    let found = nearest_zip(mid_atlantic);
    assert!(found.distance_m > 2_000_000.0, "{}", found.distance_m);
    assert_eq!(nearest_zip_within(mid_atlantic, 50_000.0), None);
}

#[test]
fn bounded_search_includes_its_radius() {
    let hoboken = zip_centroid(zip("07030")).expect("a ZCTA");
    let exact = nearest_zip_within(hoboken, 0.0).expect("the centroid itself");
    assert_eq!((exact.zip, exact.distance_m), (zip("07030"), 0.0));
    assert_eq!(nearest_zip_within(hoboken, -1.0), None);
    assert_eq!(nearest_zip_within(hoboken, f64::NAN), None);
    let pago_pago = zip_centroid(zip("96799")).expect("a ZCTA");
    let offshore = destination(pago_pago, 180.0, 50_000.0);
    let at_the_limit = nearest_zip(offshore).distance_m;
    assert!(nearest_zip_within(offshore, at_the_limit).is_some());
    assert!(nearest_zip_within(offshore, at_the_limit - 1e-6).is_none());
}

#[test]
fn zip_text_round_trips_with_leading_zeros() {
    let hoboken = zip("07030");
    assert_eq!(hoboken.code(), 7_030);
    assert_eq!(hoboken.to_string(), "07030");
    assert_eq!(hoboken.prefix3(), 70);
    assert_eq!(zip("00501").prefix3(), 5);
    assert_eq!(zip("99950").prefix3(), 999);
    assert_eq!(Zip::new(100_000), None);
    assert_eq!(
        Zip::new(601).map(|code| code.to_string()),
        Some("00601".to_owned())
    );
}

#[test]
fn malformed_zips_are_rejected() {
    for text in [
        "",
        "7030",
        "070300",
        "0703a",
        "+7030",
        " 7030",
        "7030 ",
        "10036-1234",
        "٠٧٠٣٠",
    ] {
        assert_eq!(text.parse::<Zip>(), Err(ZipParseError), "{text:?}");
    }
}

#[test]
fn zips_serialize_as_strings() {
    let json = serde_json::to_string(&zip("07030")).expect("serializes");
    assert_eq!(json, "\"07030\"");
    let back: Zip = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, zip("07030"));
    assert!(serde_json::from_str::<Zip>("7030").is_err());
    assert!(serde_json::from_str::<Zip>("\"7030\"").is_err());
}

#[test]
fn malformed_data_is_reported() {
    let cases = [
        ("", "expected header"),
        ("zip,lng,lat\n07030,40.7,-74.0\n", "expected header"),
        ("zip,lat,lng\n", "no centroids"),
        ("zip,lat,lng\n07030,40.7\n", "line 2: expected three fields"),
        (
            "zip,lat,lng\n07030,40.7,-74.0,1\n",
            "line 2: expected three fields",
        ),
        ("zip,lat,lng\n7030,40.7,-74.0\n", "line 2: a zip code"),
        (
            "zip,lat,lng\n07030,north,-74.0\n",
            "line 2: coordinate is not a number",
        ),
        (
            "zip,lat,lng\n07030,40.7,-74.0\n10014,40.7,-194.0\n",
            "line 3: longitude",
        ),
        (
            "zip,lat,lng\n07030,40.7,-74.0\n07030,40.8,-74.0\n",
            "zip 07030 appears",
        ),
    ];
    for (csv, expected) in cases {
        let error = ZipIndex::from_csv(csv).expect_err(csv);
        assert!(error.to_string().starts_with(expected), "{csv:?}: {error}");
    }
    assert!(matches!(
        ZipIndex::from_csv_gz(b"not gzip"),
        Err(ZipDataError::Decompress(_))
    ));
}

#[test]
fn crlf_data_and_blank_lines_parse() {
    let index = ZipIndex::from_csv("zip,lat,lng\r\n07030,40.7,-74.0\r\n\r\n").expect("valid");
    assert_eq!(index.len(), 1);
}

fn near_a_centroid() -> impl Strategy<Value = LatLng> {
    (0..ZIP_INDEX.len(), 0.0..360.0f64, 0.0..20_000.0f64).prop_map(
        |(position, bearing_deg, offset_m)| {
            destination(ZIP_INDEX.entries[position].centroid, bearing_deg, offset_m)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_500))]

    #[test]
    fn matches_brute_force_near_centroids(target in near_a_centroid()) {
        check_against_brute_force(target)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    /// Lower Manhattan and Hoboken / Jersey City, across the Hudson: dense small ZCTAs
    /// on both sides of a state line.
    #[test]
    fn matches_brute_force_across_the_hudson(
        target in point_in(40.70..=40.78, -74.06..=-73.97),
    ) {
        check_against_brute_force(target)?;
    }

    #[test]
    fn matches_brute_force_in_the_contiguous_states(
        target in point_in(24.5..=49.5, -125.0..=-66.9),
    ) {
        check_against_brute_force(target)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Anywhere on Earth, including the Aleutians across the antimeridian.
    #[test]
    fn matches_brute_force_anywhere(target in any_point()) {
        check_against_brute_force(target)?;
    }

    #[test]
    fn matches_brute_force_around_the_antimeridian(
        target in point_in(50.0..=56.0, 170.0..=180.0),
        flip in any::<bool>(),
    ) {
        let mirrored = if flip { point(target.lat(), -target.lng()) } else { target };
        check_against_brute_force(mirrored)?;
    }

    #[test]
    fn bounded_search_agrees_with_the_full_search(
        target in prop_oneof![any_point(), near_a_centroid()],
        max_distance_m in prop_oneof![0.0..100_000.0f64, Just(0.0), Just(50_000.0)],
    ) {
        let nearest = nearest_zip(target);
        let expected = (nearest.distance_m <= max_distance_m).then_some(nearest);
        prop_assert_eq!(nearest_zip_within(target, max_distance_m), expected);
    }

    #[test]
    fn zip_text_round_trips(code in 0..=99_999u32) {
        let parsed = Zip::new(code).expect("in range");
        let text = parsed.to_string();
        prop_assert_eq!(text.len(), 5);
        prop_assert_eq!(text.parse::<Zip>(), Ok(parsed));
        prop_assert_eq!(u32::from(parsed.prefix3()), code / 100);
    }
}
