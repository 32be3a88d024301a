//! Reports read from an embedded store: grouping by period, area and
//! region, totals and the previous span, suppression, and CSV whose text
//! cells cannot run as spreadsheet formulas.

use uuid::Uuid;

use super::query::{AreaBy, GroupBy, ReportRequest, report};
use crate::config::RegionConfig;
use crate::domain::AccountId;
use crate::import::csv_text_cell;
use crate::store::embedded::EmbeddedStore;
use crate::store::report_records::{ReportMetric, ReportRole};
use crate::store::{ConnectionParty, ConnectionRecord, ConnectionStore};

/// 2027-01-15 00:00 UTC, a Friday.
const DAY: i64 = 20_833;
const DAY_MS: i64 = 86_400_000;

async fn connect(store: &EmbeddedStore, zip: &str, at_ms: i64) {
    let party = |points| ConnectionParty {
        account_id: AccountId::random(),
        points,
        withheld: None,
    };
    let record = ConnectionRecord {
        connection_id: Uuid::new_v4(),
        citizen: party(10),
        officer: party(5),
        established_at_ms: at_ms,
        cell_r7: None,
        zip: Some(zip.to_owned()),
    };
    store.insert_connection(&record).await.unwrap();
}

fn request(area_by: AreaBy, group_by: GroupBy) -> ReportRequest {
    ReportRequest {
        metric: ReportMetric::Connections,
        from_day: DAY,
        to_day: DAY + 6,
        group_by,
        area_by,
        role: ReportRole::All,
        top: 5,
    }
}

fn regions() -> Vec<RegionConfig> {
    vec![
        RegionConfig {
            name: "=east".to_owned(),
            zip_prefixes: vec!["1".to_owned()],
        },
        RegionConfig {
            name: "+west".to_owned(),
            zip_prefixes: vec!["9".to_owned()],
        },
    ]
}

#[tokio::test]
async fn reports_group_total_compare_and_suppress() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let at = DAY * DAY_MS + 14 * 3_600_000;
    for minute in 0..12 {
        connect(&store, "10036", at + minute * 60_000).await;
    }
    for minute in 0..3 {
        connect(&store, "10001", at + DAY_MS + minute * 60_000).await;
    }
    connect(&store, "94105", at + 2 * DAY_MS).await;
    for minute in 0..4 {
        connect(&store, "10036", at - 7 * DAY_MS + minute * 60_000).await;
    }

    let by_zip = report(&store, &request(AreaBy::Zip, GroupBy::Week), &[], 11)
        .await
        .unwrap();
    assert_eq!(by_zip.total.value, Some(16));
    assert_eq!(
        by_zip.previous_total.value, None,
        "4 earlier ones are withheld"
    );
    assert!(by_zip.previous_total.suppressed);
    let cells: Vec<(&str, &str, Option<i64>)> = by_zip
        .rows
        .iter()
        .map(|row| (row.period.as_str(), row.area.as_str(), row.count.value))
        .collect();
    // The week of 2027-01-15 starts on Monday 2027-01-11; 10001 and 94105
    // are small, so both are withheld (and hide each other).
    assert_eq!(
        cells,
        vec![
            ("2027-01-11", "10001", None),
            ("2027-01-11", "10036", Some(12)),
            ("2027-01-11", "94105", None),
        ]
    );
    assert_eq!(by_zip.top_areas.len(), 1);
    assert_eq!(by_zip.top_areas[0].area, "10036");

    let by_hour = report(
        &store,
        &request(AreaBy::Nation, GroupBy::HourOfDay),
        &[],
        11,
    )
    .await
    .unwrap();
    assert_eq!(by_hour.rows.len(), 1);
    assert_eq!(by_hour.rows[0].period, "14");
    assert_eq!(by_hour.rows[0].count.value, Some(16));

    let by_region = report(
        &store,
        &request(AreaBy::Region, GroupBy::Month),
        &regions(),
        5,
    )
    .await
    .unwrap();
    // One region is small, so the other hides it: the total alone tells
    // only their sum.
    let csv = by_region.to_csv();
    assert_eq!(
        csv,
        "period,area,value,suppressed\r\n2027-01,'+west,,true\r\n2027-01,'=east,,true\r\n\
         total,,16,false\r\n"
    );
}

#[test]
fn text_cells_that_open_formulas_are_defused() {
    assert_eq!(csv_text_cell("=1+1"), "'=1+1");
    assert_eq!(csv_text_cell("+west"), "'+west");
    assert_eq!(csv_text_cell("-2"), "'-2");
    assert_eq!(csv_text_cell("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(csv_text_cell("a,b"), "\"a,b\"");
    assert_eq!(csv_text_cell("10036"), "10036");
}
