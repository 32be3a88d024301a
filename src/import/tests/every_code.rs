//! For every kind, one file with one row for each problem code the kind can
//! have (after a valid row): the report lists exactly those, and nothing is
//! written; with skip-invalid, only the valid row is.

use super::*;

/// (kind, file, the (row, column, code) the report must list).
type Case = (
    ImportKind,
    String,
    Vec<(u64, Option<&'static str>, ProblemCode)>,
);

fn cases() -> Vec<Case> {
    let scheme_municipality = SAMPLE_MUNICIPALITY;
    let offer_tail = "Coffee,One coffee,50,10001,2026-01-01,2027-01-01,86400";
    vec![
        (
            ImportKind::Officers,
            "phone,display_name,badge,department,active,colour\n\
+12125550101,Officer Diaz,4411,NYPD,true,blue\n\
+12125550102,,4412,NYPD,true,\n\
+12125550103,Officer Park,4413,NYPD,maybe,\n\
not-a-phone,Officer Lee,4414,NYPD,true,\n\
+12125550101,Officer Diaz,4411,NYPD,true,\n\
+12125550106,Officer \u{fffd},4416,NYPD,true,\n\
+12125550107,Officer Kim\n"
                .replace('\u{fffd}', "\u{1}"),
            vec![
                (1, Some("colour"), ProblemCode::UnknownColumn),
                (3, Some("display_name"), ProblemCode::MissingValue),
                (4, Some("active"), ProblemCode::TypeError),
                (5, Some("phone"), ProblemCode::ConstraintError),
                (6, Some("phone"), ProblemCode::DuplicateKey),
                (7, Some("display_name"), ProblemCode::ConstraintError),
                (8, None, ProblemCode::FormatError),
            ],
        ),
        (
            ImportKind::Charities,
            "charity_ref,name,ein,description,colour\n\
c-1,Food Bank,12-3456789,Meals,blue\n\
c-2,,12-3456789,Meals,\n\
c-3,Food Bank,123456789,Meals,\n\
c-1,Food Bank,12-3456789,Meals,\n\
c 5,Food Bank,12-3456789,Meals,\n\
c-6,Food Bank\n"
                .to_owned(),
            vec![
                (1, Some("colour"), ProblemCode::UnknownColumn),
                (3, Some("name"), ProblemCode::MissingValue),
                (4, Some("ein"), ProblemCode::ConstraintError),
                (5, Some("charity_ref"), ProblemCode::DuplicateKey),
                (6, Some("charity_ref"), ProblemCode::ConstraintError),
                (7, None, ProblemCode::FormatError),
            ],
        ),
        (
            ImportKind::Offers,
            format!(
                "offer_ref,retailer_ref,title,description,point_cost,area,valid_from,valid_until,voucher_lifetime_seconds,colour\n\
o-1,shop-0001,{offer_tail},blue\n\
o-2,shop-0001,,One coffee,50,10001,2026-01-01,2027-01-01,86400,\n\
o-3,shop-0001,Coffee,One coffee,lots,10001,2026-01-01,2027-01-01,86400,\n\
o-4,shop-0001,Coffee,One coffee,50,10001,2027-01-01,2026-01-01,86400,\n\
o-1,shop-0001,{offer_tail},\n\
o-6,shop-9999,{offer_tail},\n\
o-7,shop-0001\n"
            ),
            vec![
                (1, Some("colour"), ProblemCode::UnknownColumn),
                (3, Some("title"), ProblemCode::MissingValue),
                (4, Some("point_cost"), ProblemCode::TypeError),
                (5, Some("valid_until"), ProblemCode::ConstraintError),
                (6, Some("offer_ref"), ProblemCode::DuplicateKey),
                (7, Some("retailer_ref"), ProblemCode::UnknownReference),
                (8, None, ProblemCode::FormatError),
            ],
        ),
        (
            ImportKind::Schemes,
            format!(
                "scheme_ref,municipality_id,title,description,point_cost,area,valid_from,valid_until,voucher_lifetime_seconds,colour\n\
s-1,{scheme_municipality},{offer_tail},blue\n\
s-2,{scheme_municipality},,One coffee,50,10001,2026-01-01,2027-01-01,86400,\n\
s-3,not-a-uuid,{offer_tail},\n\
s-4,{scheme_municipality},Coffee,One coffee,50,90210,2026-01-01,2027-01-01,86400,\n\
s-1,{scheme_municipality},{offer_tail},\n\
s-6,{},{offer_tail},\n\
s-7\n",
                uuid::Uuid::nil()
            ),
            vec![
                (1, Some("colour"), ProblemCode::UnknownColumn),
                (3, Some("title"), ProblemCode::MissingValue),
                (4, Some("municipality_id"), ProblemCode::TypeError),
                (5, Some("area"), ProblemCode::ConstraintError),
                (6, Some("scheme_ref"), ProblemCode::DuplicateKey),
                (7, Some("municipality_id"), ProblemCode::UnknownReference),
                (8, None, ProblemCode::FormatError),
            ],
        ),
    ]
}

#[tokio::test]
async fn each_kind_reports_every_code_it_can_have_and_writes_nothing() {
    for (kind, file, expected) in cases() {
        let fixture = fixture().await;
        prerequisites(&fixture, kind).await;
        let report = import(&fixture, kind, file.as_bytes(), Flags::default()).await;
        assert_eq!(found(&report), expected, "{kind}: {report}");
        assert_eq!(stored(&fixture, kind).await, 0, "{kind}");
        let flags = Flags {
            skip_invalid: true,
            ..Flags::default()
        };
        let report = import(&fixture, kind, file.as_bytes(), flags).await;
        assert_eq!((report.valid, report.created), (1, 1), "{kind}: {report}");
        assert_eq!(stored(&fixture, kind).await, 1, "{kind}");
    }
}

#[tokio::test]
async fn invalid_utf8_is_an_encoding_error_in_every_kind() {
    for kind in ImportKind::ALL {
        let fixture = fixture().await;
        let mut file = sample(kind);
        let header_end = file.iter().position(|byte| *byte == b'\n').unwrap();
        // A Latin-1 é in the first data row's key.
        file.insert(header_end + 2, 0xe9);
        let report = import(&fixture, kind, &file, Flags::default()).await;
        let codes: Vec<ProblemCode> = report.problems.iter().map(|problem| problem.code).collect();
        assert!(
            codes.contains(&ProblemCode::EncodingError),
            "{kind}: {report}"
        );
        assert_eq!(stored(&fixture, kind).await, 0, "{kind}");
    }
}
