use std::sync::Arc;

use super::*;
use crate::store::embedded::EmbeddedStore;

fn us() -> PhoneRegions {
    PhoneRegions::only(phonenumber::country::Id::US)
}

async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).await.unwrap());
    (store, dir)
}

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
    let (store, _dir) = store().await;
    let keys = ServerKeys::derive(&[1; 32]);
    let report = import_officers(
        store.as_ref(),
        &keys,
        Clock::system(),
        &us(),
        GOOD.as_bytes(),
        ImportMode::AllOrNothing,
    )
    .await
    .unwrap();
    assert_eq!(report.rows_read, 2);
    assert_eq!(report.imported, 2);
    assert!(report.problems.is_empty());
    assert_eq!(store.roster_size().await.unwrap(), 2);
    let chen = PhoneNumber::parse("+12125550102", &us()).unwrap();
    let entry = store
        .roster_entry(&keys.phone_hash(&chen))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.display_name, "Officer Chen");
}

#[tokio::test]
async fn bad_rows_are_reported_and_nothing_is_imported() {
    let (store, _dir) = store().await;
    let keys = ServerKeys::derive(&[1; 32]);
    let report = import_officers(
        store.as_ref(),
        &keys,
        Clock::system(),
        &us(),
        MIXED.as_bytes(),
        ImportMode::AllOrNothing,
    )
    .await
    .unwrap();
    assert_eq!(report.rows_read, 5);
    assert_eq!(report.imported, 0);
    let found: Vec<(u64, Option<&str>)> = report
        .problems
        .iter()
        .map(|problem| (problem.row, problem.column.as_deref()))
        .collect();
    assert_eq!(
        found,
        vec![
            (3, Some("phone")),
            (4, Some("display_name")),
            (5, Some("phone")),
            (6, None)
        ]
    );
    assert!(report.problems[2].problem.contains("also on row 2"));
    assert_eq!(store.roster_size().await.unwrap(), 0);
    let text = report.to_string();
    assert!(
        text.contains("row 3, column phone: phone number cannot be parsed"),
        "{text}"
    );
}

#[tokio::test]
async fn skip_invalid_imports_the_good_rows() {
    let (store, _dir) = store().await;
    let keys = ServerKeys::derive(&[1; 32]);
    let report = import_officers(
        store.as_ref(),
        &keys,
        Clock::system(),
        &us(),
        MIXED.as_bytes(),
        ImportMode::SkipInvalid,
    )
    .await
    .unwrap();
    assert_eq!(report.imported, 1);
    assert_eq!(report.skipped, 4);
    assert_eq!(store.roster_size().await.unwrap(), 1);
}

#[tokio::test]
async fn wrong_header_is_reported() {
    let (store, _dir) = store().await;
    let keys = ServerKeys::derive(&[1; 32]);
    let report = import_officers(
        store.as_ref(),
        &keys,
        Clock::system(),
        &us(),
        b"name,phone\nx,y\n",
        ImportMode::SkipInvalid,
    )
    .await
    .unwrap();
    assert_eq!(report.imported, 0);
    assert_eq!(report.problems[0].row, 1);
    assert!(report.problems[0].problem.starts_with("header must be"));
}
