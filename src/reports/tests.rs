//! Unit tests of report days and rebuilds on an empty store.

use super::rebuild_command::{day_text, parse_day};

#[test]
fn days_are_written_and_read_as_utc_dates() {
    assert_eq!(parse_day("1970-01-01"), Some(0));
    assert_eq!(parse_day("2027-01-15"), Some(20_833));
    assert_eq!(day_text(20_833), "2027-01-15");
    assert_eq!(parse_day("2027-13-01"), None);
    assert_eq!(parse_day("yesterday"), None);
}

#[tokio::test]
async fn rebuilding_an_empty_store_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::embedded::EmbeddedStore::open(dir.path())
        .await
        .unwrap();
    let summary = super::rebuild(&store, None, 20_833).await.unwrap();
    assert_eq!(summary, super::rebuild::RebuildSummary::default());
}
