//! Files that are not what they claim: each gets a clear report entry and
//! nothing is written, whatever the flags.

use super::*;
use crate::import::ImportOutcome;

async fn refused(kind: ImportKind, bytes: &[u8]) -> ImportReport {
    let fixture = fixture().await;
    let flags = Flags {
        skip_invalid: true,
        ..Flags::default()
    };
    let report = import(&fixture, kind, bytes, flags).await;
    assert_eq!(report.outcome, ImportOutcome::Rejected, "{report}");
    assert_eq!(stored(&fixture, kind).await, 0);
    report
}

#[tokio::test]
async fn a_binary_file_is_not_text() {
    let report = refused(ImportKind::Retailers, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0").await;
    assert_eq!(
        report.problems[0].code,
        ProblemCode::EncodingError,
        "{report}"
    );
}

#[tokio::test]
async fn a_semicolon_separated_file_is_explained() {
    let report = refused(
        ImportKind::Charities,
        b"charity_ref;name;ein;description\nc-1;Bank;12-3456789;Meals\n",
    )
    .await;
    assert!(
        report
            .problems
            .iter()
            .any(|problem| problem.problem.contains("separated by `;`")),
        "{report}"
    );
}

#[tokio::test]
async fn a_missing_required_column_is_named() {
    let report = refused(
        ImportKind::Charities,
        b"charity_ref,name,description\nc-1,Bank,Meals\n",
    )
    .await;
    assert_eq!(
        found(&report),
        vec![(1, Some("ein"), ProblemCode::MissingValue)]
    );
}

#[tokio::test]
async fn a_bom_and_quoted_fields_are_read() {
    let fixture = fixture().await;
    let file = "\u{feff}charity_ref,name,ein,description\nc-1,\"Bank, \"\"the\"\" best\",12-3456789,Meals\n";
    let report = import(
        &fixture,
        ImportKind::Charities,
        file.as_bytes(),
        Flags::default(),
    )
    .await;
    assert!(!report.has_problems(), "{report}");
    let charities = fixture.context.store.charities(None, 10).await.unwrap();
    assert_eq!(charities[0].name, "Bank, \"the\" best");
}

#[tokio::test]
async fn an_empty_file_is_reported() {
    let report = refused(ImportKind::Officers, b"").await;
    assert_eq!(report.problems[0].code, ProblemCode::FormatError);
}
