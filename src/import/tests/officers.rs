//! The officer roster on the pipeline: what the roster import did before
//! (reports by row and column, all or nothing, skip-invalid, header checks)
//! and the `active` column.

use super::*;
use crate::domain::phone::{PhoneNumber, PhoneRegions};

const US: phonenumber::country::Id = phonenumber::country::Id::US;

const GOOD: &str = "phone,display_name,badge,department\n\
+12125550101,Officer Diaz,4411,NYPD\n\
(212) 555-0102,Officer Chen,4412,NYPD\n";

const MIXED: &str = "phone,display_name,badge,department\n\
+12125550101,Officer Diaz,4411,NYPD\n\
not-a-phone,Officer Chen,4412,NYPD\n\
+12125550103,,4413,NYPD\n\
+12125550101,Officer Again,4414,NYPD\n\
+12125550105,Officer Park,4415\n";

#[tokio::test]
async fn valid_file_is_imported() {
    let fixture = fixture().await;
    let report = import(
        &fixture,
        ImportKind::Officers,
        GOOD.as_bytes(),
        Flags::default(),
    )
    .await;
    assert_eq!(report.rows_read, 2);
    assert_eq!(report.created, 2);
    assert!(report.problems.is_empty());
    assert_eq!(report.roster_size, Some(2));
    let chen = PhoneNumber::parse("+12125550102", &PhoneRegions::only(US)).unwrap();
    let entry = fixture
        .context
        .store
        .roster_entry(&fixture.context.keys.phone_hash(&chen))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.display_name, "Officer Chen");
}

#[tokio::test]
async fn bad_rows_are_reported_and_nothing_is_imported() {
    let fixture = fixture().await;
    let report = import(
        &fixture,
        ImportKind::Officers,
        MIXED.as_bytes(),
        Flags::default(),
    )
    .await;
    assert_eq!(report.rows_read, 5);
    assert_eq!(report.outcome, crate::import::ImportOutcome::Rejected);
    assert_eq!(
        found(&report),
        vec![
            (3, Some("phone"), ProblemCode::ConstraintError),
            (4, Some("display_name"), ProblemCode::MissingValue),
            (5, Some("phone"), ProblemCode::DuplicateKey),
            (6, None, ProblemCode::FormatError),
        ]
    );
    assert!(report.problems[2].problem.contains("also on row 2"));
    assert_eq!(stored(&fixture, ImportKind::Officers).await, 0);
    let text = report.to_string();
    assert!(text.contains("phone number cannot be parsed"), "{text}");
}

#[tokio::test]
async fn skip_invalid_imports_the_good_rows() {
    let fixture = fixture().await;
    let flags = Flags {
        skip_invalid: true,
        ..Flags::default()
    };
    let report = import(&fixture, ImportKind::Officers, MIXED.as_bytes(), flags).await;
    assert_eq!(report.valid, 1);
    assert_eq!(report.invalid, 4);
    assert_eq!(stored(&fixture, ImportKind::Officers).await, 1);
}

#[tokio::test]
async fn wrong_header_is_reported() {
    let fixture = fixture().await;
    let flags = Flags {
        skip_invalid: true,
        ..Flags::default()
    };
    let report = import(&fixture, ImportKind::Officers, b"name,phone\nx,y\n", flags).await;
    assert_eq!(report.outcome, crate::import::ImportOutcome::Rejected);
    assert_eq!(report.problems[0].row, 1);
    assert!(
        found(&report).contains(&(1, Some("badge"), ProblemCode::MissingValue)),
        "{report}"
    );
    assert_eq!(stored(&fixture, ImportKind::Officers).await, 0);
}

#[tokio::test]
async fn formula_cells_are_refused_outside_the_phone_column() {
    let fixture = fixture().await;
    let file = "phone,display_name,badge,department\n+12125550101,=cmd|' /C calc'!A0,4411,NYPD\n";
    let report = import(
        &fixture,
        ImportKind::Officers,
        file.as_bytes(),
        Flags::default(),
    )
    .await;
    assert_eq!(
        found(&report),
        vec![(2, Some("display_name"), ProblemCode::ConstraintError)]
    );
    assert_eq!(stored(&fixture, ImportKind::Officers).await, 0);
}

#[tokio::test]
async fn an_inactive_officer_leaves_the_roster_and_their_sessions_end() {
    let fixture = fixture().await;
    import(
        &fixture,
        ImportKind::Officers,
        GOOD.as_bytes(),
        Flags::default(),
    )
    .await;
    let leaving = "phone,display_name,badge,department,active\n\
+12125550101,Officer Diaz,4411,NYPD,false\n\
(212) 555-0102,Officer Chen,4412,NYPD,true\n";
    let report = import(
        &fixture,
        ImportKind::Officers,
        leaving.as_bytes(),
        Flags::default(),
    )
    .await;
    assert_eq!((report.updated, report.unchanged), (1, 1), "{report}");
    assert_eq!(report.roster_size, Some(1));
    let diaz = PhoneNumber::parse("+12125550101", &PhoneRegions::only(US)).unwrap();
    let diaz_hash = fixture.context.keys.phone_hash(&diaz);
    assert!(
        fixture
            .context
            .store
            .roster_entry(&diaz_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        *fixture.departures.left.lock().unwrap(),
        vec![diaz_hash],
        "the departure ends the officer's sign-ins and sockets"
    );
}
