//! Validation of catalog drafts: every field bounded, the failing field named.

use uuid::Uuid;

use super::offer::check_scheme_area;
use super::*;

/// Stamps of a new record.
const STAMPS: Stamps = Stamps {
    created_at_ms: 1_767_225_600_000,
    updated_at_ms: 1_767_225_600_000,
};

/// One edit of a retailer draft.
type RetailerChange = fn(&mut RetailerDraft);

fn retailer_draft() -> RetailerDraft {
    RetailerDraft {
        name: "  Corner Cafe ".to_owned(),
        address: "1 Main Street".to_owned(),
        zip: "10001".to_owned(),
        contact: "owner@example.com".to_owned(),
        status: CatalogStatus::Active,
    }
}

fn offer_draft() -> OfferDraft {
    OfferDraft {
        kind: OfferKind::Offer,
        issuer_id: Uuid::new_v4(),
        title: "Free coffee".to_owned(),
        description: "One small coffee.\nAny day.".to_owned(),
        point_cost: 50,
        area: vec!["10001".to_owned(), "112".to_owned(), "10001".to_owned()],
        valid_from_ms: STAMPS.created_at_ms,
        valid_until_ms: STAMPS.created_at_ms + 86_400_000,
        total_quantity: Some(10),
        per_person_limit: Some(PerPersonLimit {
            count: 1,
            per: LimitPeriod::Day,
        }),
        voucher_lifetime_seconds: 86_400,
        status: CatalogStatus::Active,
    }
}

fn offer_field_error(change: impl FnOnce(&mut OfferDraft)) -> &'static str {
    let mut draft = offer_draft();
    change(&mut draft);
    draft
        .into_offer(Uuid::new_v4(), STAMPS, None)
        .expect_err("the draft is refused")
        .field
}

#[test]
fn a_valid_retailer_is_trimmed_and_stamped() {
    let id = Uuid::new_v4();
    let retailer = retailer_draft().into_retailer(id, STAMPS).expect("valid");
    assert_eq!(retailer.id, id);
    assert_eq!(retailer.name, "Corner Cafe");
    assert_eq!(retailer.created_at_ms, STAMPS.created_at_ms);
}

#[test]
fn retailer_fields_are_checked_one_by_one() {
    let cases: [(&str, RetailerChange); 5] = [
        ("name", |draft| draft.name = "   ".to_owned()),
        ("name", |draft| draft.name = "x".repeat(101)),
        ("address", |draft| {
            draft.address = "Main\u{202E}Street".to_owned()
        }),
        ("zip", |draft| draft.zip = "1000".to_owned()),
        ("contact", |draft| draft.contact = "a\nb".to_owned()),
    ];
    for (field, change) in cases {
        let mut draft = retailer_draft();
        change(&mut draft);
        let error = draft
            .into_retailer(Uuid::new_v4(), STAMPS)
            .expect_err("refused");
        assert_eq!(error.field, field, "{error}");
    }
}

#[test]
fn a_valid_offer_has_a_sorted_distinct_area_and_full_stock() {
    let offer = offer_draft()
        .into_offer(Uuid::new_v4(), STAMPS, None)
        .expect("valid");
    assert_eq!(offer.area.codes(), ["10001", "112"]);
    assert_eq!(offer.remaining, Some(10));
    assert_eq!(offer.version, 1);
    assert_eq!(offer.description, "One small coffee.\nAny day.");
}

#[test]
fn offer_fields_are_checked_one_by_one() {
    assert_eq!(
        offer_field_error(|draft| draft.point_cost = 0),
        "point_cost"
    );
    assert_eq!(
        offer_field_error(|draft| draft.point_cost = 1_000_001),
        "point_cost"
    );
    assert_eq!(
        offer_field_error(|draft| draft.title = String::new()),
        "title"
    );
    assert_eq!(
        offer_field_error(|draft| draft.description = "d".repeat(1_001)),
        "description"
    );
    assert_eq!(offer_field_error(|draft| draft.area = Vec::new()), "area");
    assert_eq!(
        offer_field_error(|draft| draft.area = vec!["1234".to_owned()]),
        "area"
    );
    assert_eq!(
        offer_field_error(|draft| draft.area = vec!["1000a".to_owned()]),
        "area"
    );
    assert_eq!(
        offer_field_error(|draft| draft.area = (0..101).map(|n| format!("{n:05}")).collect()),
        "area"
    );
    assert_eq!(
        offer_field_error(|draft| draft.valid_until_ms = draft.valid_from_ms),
        "valid_until_ms"
    );
    assert_eq!(
        offer_field_error(|draft| draft.valid_from_ms = 0),
        "valid_from_ms"
    );
    assert_eq!(
        offer_field_error(|draft| draft.total_quantity = Some(0)),
        "total_quantity"
    );
    assert_eq!(
        offer_field_error(|draft| draft.per_person_limit = Some(PerPersonLimit {
            count: 0,
            per: LimitPeriod::Ever
        })),
        "per_person_limit.count"
    );
    assert_eq!(
        offer_field_error(|draft| draft.voucher_lifetime_seconds = 60),
        "voucher_lifetime_seconds"
    );
}

#[test]
fn a_replacement_keeps_the_units_already_taken() {
    let mut stored = offer_draft()
        .into_offer(Uuid::new_v4(), STAMPS, None)
        .expect("valid");
    stored.remaining = Some(6);
    let replace = |total: Option<u32>, previous: &RewardOffer| {
        let mut draft = offer_draft();
        draft.total_quantity = total;
        draft.into_offer(previous.id, STAMPS, Some(previous))
    };

    let raised = replace(Some(20), &stored).expect("valid");
    assert_eq!((raised.remaining, raised.version), (Some(16), 2));
    assert_eq!(replace(Some(4), &stored).expect("valid").remaining, Some(0));
    assert_eq!(
        replace(Some(3), &stored).expect_err("below taken").field,
        "total_quantity"
    );
    let unlimited = replace(None, &stored).expect("valid");
    assert_eq!(unlimited.remaining, None);
    assert_eq!(
        replace(Some(5), &unlimited).expect("valid").remaining,
        Some(5)
    );
}

#[test]
fn charities_need_an_ein_written_nn_nnnnnnn() {
    let draft = |ein: &str| CharityDraft {
        name: "Food Bank".to_owned(),
        ein: ein.to_owned(),
        description: "Meals.".to_owned(),
        status: CatalogStatus::Active,
    };
    assert!(
        draft("12-3456789")
            .into_charity(Uuid::new_v4(), STAMPS)
            .is_ok()
    );
    for bad in [
        "123456789",
        "12-345678",
        "1-23456789",
        "ab-cdefghi",
        "12-3456789 0",
        "12–3456789",
    ] {
        let error = draft(bad)
            .into_charity(Uuid::new_v4(), STAMPS)
            .expect_err("refused");
        assert_eq!(error.field, "ein", "{bad}");
    }
}

#[test]
fn municipalities_need_a_state_code_and_an_area() {
    let draft = |state: &str, area: &[&str]| MunicipalityDraft {
        name: "Springfield".to_owned(),
        state: state.to_owned(),
        area: area.iter().map(|code| (*code).to_owned()).collect(),
        contact: "parks@example.gov".to_owned(),
        status: CatalogStatus::Active,
    };
    let city = draft("ny", &["100", "11201"])
        .into_municipality(Uuid::new_v4(), STAMPS)
        .expect("valid");
    assert_eq!(city.state, "NY");
    for (state, area, field) in [("XX", &["100"][..], "state"), ("NY", &[][..], "area")] {
        let error = draft(state, area)
            .into_municipality(Uuid::new_v4(), STAMPS)
            .expect_err("refused");
        assert_eq!(error.field, field);
    }
}

#[test]
fn areas_cover_listed_zips_and_zips_under_listed_prefixes() {
    let area = Area::parse("area", vec!["10001".to_owned(), "112".to_owned()]).expect("valid");
    assert!(area.covers("10001"));
    assert!(area.covers("11215"));
    assert!(!area.covers("10002"));
    assert!(!area.covers("21201"));
    assert_eq!(
        area.prefixes().into_iter().collect::<Vec<_>>(),
        ["100", "112"]
    );
}

#[test]
fn schemes_stay_inside_their_municipality() {
    let city = Area::parse("area", vec!["100".to_owned(), "11201".to_owned()]).expect("valid");
    let inside = Area::parse(
        "area",
        vec!["10001".to_owned(), "100".to_owned(), "11201".to_owned()],
    )
    .expect("valid");
    assert_eq!(check_scheme_area(&inside, &city), Ok(()));
    for outside in ["112", "11202", "101"] {
        let area = Area::parse("area", vec![outside.to_owned()]).expect("valid");
        assert_eq!(
            check_scheme_area(&area, &city).expect_err("outside").field,
            "area"
        );
    }
}

#[test]
fn browsable_offers_are_active_current_in_stock_and_in_the_zip() {
    let offer = offer_draft()
        .into_offer(Uuid::new_v4(), STAMPS, None)
        .expect("valid");
    let during = offer.valid_from_ms + 1;
    assert!(offer.is_browsable("10001", during));
    assert!(offer.is_browsable("11230", during));
    assert!(!offer.is_browsable("10002", during));
    assert!(!offer.is_browsable("10001", offer.valid_from_ms - 1));
    assert!(!offer.is_browsable("10001", offer.valid_until_ms));
    let sold_out = RewardOffer {
        remaining: Some(0),
        ..offer.clone()
    };
    assert!(!sold_out.is_browsable("10001", during));
    let suspended = RewardOffer {
        status: CatalogStatus::Suspended,
        ..offer
    };
    assert!(!suspended.is_browsable("10001", during));
}
