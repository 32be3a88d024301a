use h3o::{CellIndex, Resolution};
use proptest::prelude::*;

use super::*;
use crate::geo::latlng::distance_m;
use crate::geo::test_support::{any_point, destination, point};
use crate::geo::zip::{nearest_zip, zip_centroid};

fn shard_at(lat: f64, lng: f64) -> ShardId {
    shard_for_cell(cell_at(point(lat, lng), Resolution::Eight))
}

#[test]
fn us_cells_get_zip_prefix_shards() {
    assert_eq!(shard_at(40.7580, -73.9870).to_string(), "100");
    assert_eq!(shard_at(40.7445, -74.0255).to_string(), "070");
    assert_eq!(shard_at(18.2, -66.75).to_string(), "006");
    assert_eq!(shard_at(71.2906, -156.7886).to_string(), "997");
}

#[test]
fn mid_atlantic_cells_get_h3_shards() {
    let cell = cell_at(point(35.0, -45.0), Resolution::Eight);
    let shard = shard_for_cell(cell);
    let expected_parent = cell
        .parent(Resolution::Three)
        .expect("resolution 8 has a parent");
    assert_eq!(shard, ShardId::H3(expected_parent));
    let text = shard.to_string();
    assert_eq!(text, format!("h3:{expected_parent}"));
    assert_eq!(text.len(), "h3:".len() + 15);
    assert_eq!(text.parse::<ShardId>(), Ok(shard));
}

#[test]
fn coarse_cells_far_from_zips_get_a_resolution_3_shard() {
    for level in 0..=2u8 {
        let resolution = Resolution::try_from(level).expect("valid level");
        let cell = cell_at(point(-60.0, 20.0), resolution);
        let ShardId::H3(shard_cell) = shard_for_cell(cell) else {
            panic!("the Southern Ocean has no ZIP");
        };
        assert_eq!(shard_cell.resolution(), Resolution::Three);
    }
}

#[test]
fn the_50_km_threshold_applies_to_the_cell_centre() {
    // American Samoa's single ZCTA; the open Pacific lies to its south.
    let pago_pago = zip_centroid("96799".parse().expect("valid")).expect("a ZCTA");
    let inside = destination(pago_pago, 180.0, 45_000.0);
    let outside = destination(pago_pago, 180.0, 55_000.0);
    assert_eq!(
        shard_for_cell(cell_at(inside, Resolution::Eight)),
        ShardId::Zip3(967)
    );
    assert!(matches!(
        shard_for_cell(cell_at(outside, Resolution::Eight)),
        ShardId::H3(_)
    ));
}

#[test]
fn zip_shards_display_with_leading_zeros() {
    assert_eq!(ShardId::Zip3(0).to_string(), "000");
    assert_eq!(ShardId::Zip3(70).to_string(), "070");
    assert_eq!(ShardId::Zip3(999).to_string(), "999");
    assert_eq!(
        ShardId::for_zip("07030".parse().expect("valid")),
        ShardId::Zip3(70)
    );
}

#[test]
fn malformed_shard_names_are_rejected() {
    let res3 = cell_at(point(35.0, -45.0), Resolution::Three);
    let res8 = cell_at(point(35.0, -45.0), Resolution::Eight);
    let cases = [
        (String::new(), ShardParseError::Format),
        ("10".to_owned(), ShardParseError::Format),
        ("1000".to_owned(), ShardParseError::Format),
        ("+10".to_owned(), ShardParseError::Format),
        (" 10".to_owned(), ShardParseError::Format),
        ("zip:100".to_owned(), ShardParseError::Format),
        ("h3:".to_owned(), ShardParseError::Format),
        ("h3:+832a10fffffffff".to_owned(), ShardParseError::Format),
        (format!("H3:{res3}"), ShardParseError::Format),
        (
            "h3:ffffffffffffffff".to_owned(),
            ShardParseError::InvalidCell,
        ),
        (
            "h3:123456789abcdef0123".to_owned(),
            ShardParseError::InvalidCell,
        ),
        (format!("h3:{res8}"), ShardParseError::WrongResolution),
        (
            format!("h3:{}", res3.to_string().to_uppercase()),
            ShardParseError::NotCanonical,
        ),
        (format!("h3:0{res3}"), ShardParseError::NotCanonical),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<ShardId>(), Err(expected), "{text:?}");
    }
}

#[test]
fn shards_serialize_as_strings() {
    let json = serde_json::to_string(&ShardId::Zip3(70)).expect("serializes");
    assert_eq!(json, "\"070\"");
    let back: ShardId = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, ShardId::Zip3(70));
    assert!(serde_json::from_str::<ShardId>("70").is_err());
}

fn any_shard() -> impl Strategy<Value = ShardId> {
    prop_oneof![
        (0..1_000u16).prop_map(ShardId::Zip3),
        any_point().prop_map(|origin| ShardId::H3(cell_at(origin, Resolution::Three))),
    ]
}

proptest! {
    #[test]
    fn display_and_parse_round_trip(shard in any_shard()) {
        let text = shard.to_string();
        prop_assert_eq!(text.parse::<ShardId>(), Ok(shard));
    }

    #[test]
    fn shard_follows_the_nearest_zip_of_the_cell_centre(
        origin in any_point(),
        level in 4..=10u8,
    ) {
        let resolution = Resolution::try_from(level).expect("valid level");
        let cell: CellIndex = cell_at(origin, resolution);
        let nearest = nearest_zip(cell_center(cell));
        let expected = if nearest.distance_m <= ZIP_SHARD_MAX_DISTANCE_M {
            ShardId::Zip3(nearest.zip.prefix3())
        } else {
            ShardId::H3(cell.parent(Resolution::Three).expect("finer than resolution 3"))
        };
        prop_assert_eq!(shard_for_cell(cell), expected);
        if let ShardId::H3(shard_cell) = expected {
            let centre = cell_center(cell);
            prop_assert!(distance_m(centre, cell_center(shard_cell)) < 150_000.0);
        }
    }
}
