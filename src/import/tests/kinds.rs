//! Every kind: the sample imports cleanly (CSV and NDJSON); re-importing it
//! changes nothing; a corrected row updates in place; a file with one error
//! of each code reports exactly those and writes nothing; skip-invalid
//! writes only the valid rows; a dry run writes nothing.

use super::*;
use crate::import::ImportOutcome;

#[tokio::test]
async fn each_sample_imports_cleanly_and_again_unchanged() {
    for kind in ImportKind::ALL {
        let fixture = fixture().await;
        prerequisites(&fixture, kind).await;
        let file = sample(kind);
        let first = import(&fixture, kind, &file, Flags::default()).await;
        assert!(!first.has_problems(), "{kind}: {first}");
        assert_eq!(first.outcome, ImportOutcome::Applied, "{kind}");
        let rows = first.rows_read;
        assert!(rows >= 2, "{kind}");
        assert_eq!(first.created, rows, "{kind}: {first}");
        assert_eq!(stored(&fixture, kind).await as u64, rows, "{kind}");
        assert_eq!(first.file_sha256.len(), 64);
        let second = import(&fixture, kind, &file, Flags::default()).await;
        assert_eq!(
            (second.created, second.updated, second.unchanged),
            (0, 0, rows),
            "{kind}: {second}"
        );
        assert_eq!(second.file_sha256, first.file_sha256);
    }
}

#[tokio::test]
async fn a_corrected_retailer_is_updated_in_place() {
    let fixture = fixture().await;
    import(
        &fixture,
        ImportKind::Retailers,
        &sample(ImportKind::Retailers),
        Flags::default(),
    )
    .await;
    let before = fixture.context.store.retailers(None, 10).await.unwrap();
    let corrected = String::from_utf8(sample(ImportKind::Retailers))
        .unwrap()
        .replace("Corner Cafe", "Corner Café");
    let report = import(
        &fixture,
        ImportKind::Retailers,
        corrected.as_bytes(),
        Flags::default(),
    )
    .await;
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 2),
        "{report}"
    );
    let after = fixture.context.store.retailers(None, 10).await.unwrap();
    assert_eq!(after.len(), before.len());
    let cafe = after
        .iter()
        .find(|retailer| retailer.name == "Corner Café")
        .unwrap();
    let original = before
        .iter()
        .find(|retailer| retailer.name == "Corner Cafe")
        .unwrap();
    assert_eq!(cafe.id, original.id);
    assert_eq!(cafe.created_at_ms, original.created_at_ms);
}

#[tokio::test]
async fn a_corrected_offer_is_updated_in_place() {
    let fixture = fixture().await;
    prerequisites(&fixture, ImportKind::Offers).await;
    import(
        &fixture,
        ImportKind::Offers,
        &sample(ImportKind::Offers),
        Flags::default(),
    )
    .await;
    let corrected = String::from_utf8(sample(ImportKind::Offers))
        .unwrap()
        .replace(
            "Free coffee,One small coffee,50",
            "Free coffee,One small coffee,40",
        );
    let report = import(
        &fixture,
        ImportKind::Offers,
        corrected.as_bytes(),
        Flags::default(),
    )
    .await;
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 1),
        "{report}"
    );
    let offers = fixture.context.store.offers(None, 10).await.unwrap();
    assert_eq!(offers.len(), 2);
    let coffee = offers
        .iter()
        .find(|offer| offer.title == "Free coffee")
        .unwrap();
    assert_eq!((coffee.point_cost, coffee.version), (40, 2));
}

/// One retailer row per problem code a row can have, after a valid row.
const RETAILERS_WITH_EVERY_ERROR: &[u8] = b"retailer_ref,name,address,zip,contact,status,colour\n\
ok-1,Good Shop,1 Main Street,10001,a@example.com,active,blue\n\
missing-1,,1 Main Street,10001,a@example.com,active,\n\
range-1,Shop,1 Main Street,1000,a@example.com,active,\n\
ok-1,Again,1 Main Street,10001,a@example.com,active,\n\
enc-1,Caf\xe9,1 Main Street,10001,a@example.com,active,\n\
short-1,Shop\n";

#[tokio::test]
async fn every_code_is_reported_and_nothing_is_written() {
    let fixture = fixture().await;
    let report = import(
        &fixture,
        ImportKind::Retailers,
        RETAILERS_WITH_EVERY_ERROR,
        Flags::default(),
    )
    .await;
    assert_eq!(
        found(&report),
        vec![
            (1, Some("colour"), ProblemCode::UnknownColumn),
            (3, Some("name"), ProblemCode::MissingValue),
            (4, Some("zip"), ProblemCode::ConstraintError),
            (5, Some("retailer_ref"), ProblemCode::DuplicateKey),
            (6, Some("name"), ProblemCode::EncodingError),
            (7, None, ProblemCode::FormatError),
        ],
        "{report}"
    );
    assert_eq!(report.outcome, ImportOutcome::Rejected);
    assert_eq!((report.rows_read, report.valid, report.invalid), (6, 1, 5));
    assert_eq!(stored(&fixture, ImportKind::Retailers).await, 0);
}

#[tokio::test]
async fn offers_report_type_errors_and_unknown_references() {
    let fixture = fixture().await;
    prerequisites(&fixture, ImportKind::Offers).await;
    let file = "offer_ref,retailer_ref,title,description,point_cost,area,valid_from,valid_until,voucher_lifetime_seconds\n\
o-1,shop-0001,Coffee,One coffee,fifty,10001,2026-01-01,2027-01-01,86400\n\
o-2,shop-9999,Coffee,One coffee,50,10001,2026-01-01,2027-01-01,86400\n\
o-3,shop-0001,Coffee,One coffee,50,10001,soon,2027-01-01,86400\n\
o-4,shop-0001,Coffee,One coffee,50,10001,2026-01-01,2027-01-01,86400\n";
    let report = import(
        &fixture,
        ImportKind::Offers,
        file.as_bytes(),
        Flags::default(),
    )
    .await;
    assert_eq!(
        found(&report),
        vec![
            (2, Some("point_cost"), ProblemCode::TypeError),
            (3, Some("retailer_ref"), ProblemCode::UnknownReference),
            (4, Some("valid_from"), ProblemCode::TypeError),
        ],
        "{report}"
    );
    assert_eq!(stored(&fixture, ImportKind::Offers).await, 0);
    let flags = Flags {
        skip_invalid: true,
        ..Flags::default()
    };
    let report = import(&fixture, ImportKind::Offers, file.as_bytes(), flags).await;
    assert_eq!((report.valid, report.invalid, report.created), (1, 3, 1));
    assert_eq!(stored(&fixture, ImportKind::Offers).await, 1);
}

#[tokio::test]
async fn schemes_stay_inside_their_municipality() {
    let fixture = fixture().await;
    sample_municipality(&fixture).await;
    let file = format!(
        "scheme_ref,municipality_id,title,description,point_cost,area,valid_from,valid_until,voucher_lifetime_seconds\n\
s-1,{SAMPLE_MUNICIPALITY},Bus day,Buses,10,90210,2026-01-01,2027-01-01,86400\n\
s-2,{},Bus day,Buses,10,10001,2026-01-01,2027-01-01,86400\n",
        Uuid::new_v4()
    );
    let report = import(
        &fixture,
        ImportKind::Schemes,
        file.as_bytes(),
        Flags::default(),
    )
    .await;
    assert_eq!(
        found(&report),
        vec![
            (2, Some("area"), ProblemCode::ConstraintError),
            (3, Some("municipality_id"), ProblemCode::UnknownReference),
        ],
        "{report}"
    );
}

#[tokio::test]
async fn ndjson_files_import_like_csv() {
    let fixture = fixture().await;
    let file = "{\"charity_ref\":\"c-1\",\"name\":\"Food Bank\",\"ein\":\"12-3456789\",\"description\":\"Meals\"}\n\
\n\
{\"charity_ref\":\"c-2\",\"name\":\"Shelter\",\"ein\":\"12-3456780\",\"description\":\"Beds\",\"status\":\"suspended\"}\n\
{\"charity_ref\":\"c-3\",\"name\":\"X\",\"ein\":\"12-3456781\",\"description\":\"Y\",\"mission\":1}\n\
[1,2]\n";
    let flags = Flags {
        ndjson: true,
        ..Flags::default()
    };
    let report = import(&fixture, ImportKind::Charities, file.as_bytes(), flags).await;
    assert_eq!(
        found(&report),
        vec![
            (4, Some("mission"), ProblemCode::UnknownColumn),
            (5, None, ProblemCode::FormatError),
        ],
        "{report}"
    );
    let flags = Flags {
        ndjson: true,
        skip_invalid: true,
        ..Flags::default()
    };
    let report = import(&fixture, ImportKind::Charities, file.as_bytes(), flags).await;
    assert_eq!(report.created, 2, "{report}");
    assert_eq!(stored(&fixture, ImportKind::Charities).await, 2);
}

#[tokio::test]
async fn a_dry_run_reports_what_would_change_and_writes_nothing() {
    let fixture = fixture().await;
    let flags = Flags {
        dry_run: true,
        ..Flags::default()
    };
    let report = import(
        &fixture,
        ImportKind::Charities,
        &sample(ImportKind::Charities),
        flags,
    )
    .await;
    assert_eq!((report.outcome, report.created), (ImportOutcome::DryRun, 2));
    assert_eq!(stored(&fixture, ImportKind::Charities).await, 0);
    let runs = fixture.context.store.import_runs(None, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, crate::store::ImportRunState::DryRun);
}

#[tokio::test]
async fn formula_text_in_the_catalog_is_stored_as_text() {
    let fixture = fixture().await;
    import(
        &fixture,
        ImportKind::Retailers,
        &sample(ImportKind::Retailers),
        Flags::default(),
    )
    .await;
    let retailers = fixture.context.store.retailers(None, 10).await.unwrap();
    assert!(
        retailers
            .iter()
            .any(|retailer| retailer.name == "=Formula Bakery")
    );
    assert_eq!(
        crate::import::spreadsheet_safe("=Formula Bakery"),
        "'=Formula Bakery"
    );
}

#[tokio::test]
async fn a_corrected_row_of_each_kind_is_updated_in_place() {
    let corrections = [
        (ImportKind::Officers, "Officer Diaz", "Officer Díaz"),
        (ImportKind::Retailers, "Corner Cafe", "Corner Café"),
        (ImportKind::Offers, "Free coffee", "Free tea"),
        (ImportKind::Schemes, "Pool pass", "Pool day pass"),
        (
            ImportKind::Charities,
            "City Food Bank",
            "City Food Bank Inc",
        ),
    ];
    for (kind, before, after) in corrections {
        let fixture = fixture().await;
        prerequisites(&fixture, kind).await;
        let first = import(&fixture, kind, &sample(kind), Flags::default()).await;
        let corrected = String::from_utf8(sample(kind))
            .unwrap()
            .replacen(before, after, 1);
        let report = import(&fixture, kind, corrected.as_bytes(), Flags::default()).await;
        assert_eq!(
            (report.created, report.updated, report.unchanged),
            (0, 1, first.rows_read - 1),
            "{kind}: {report}"
        );
        assert_eq!(
            stored(&fixture, kind).await as u64,
            first.rows_read,
            "{kind}"
        );
    }
}
