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
        mode: Default::default(),
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
        .map(|row| (&*row.period, &*row.area, row.count.value))
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
    assert_eq!(&*by_hour.rows[0].period, "14");
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

#[tokio::test]
async fn pledges_are_reported_per_charity_and_availability_per_zip() {
    use crate::store::{AvailabilityRecord, Donation, DonationStatus, PledgeStore, ReportStore};
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let at = DAY * DAY_MS + 14 * 3_600_000;
    let (food_bank, shelter, library) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for (charity, count) in [(food_bank, 14), (shelter, 3), (library, 12)] {
        for index in 0..count {
            let started = Donation {
                account_id: AccountId::random(),
                idempotency_key: format!("k{index}"),
                donation_id: Uuid::new_v4(),
                charity_id: charity,
                points: 10,
                dollars_per_point: rust_decimal::Decimal::new(1, 2),
                requested_at_ms: at,
                attempt: 0,
                attempt_started_at_ms: at,
                status: DonationStatus::Started,
                refusal: None,
            };
            store.insert_donation(&started).await.unwrap();
            let completed = Donation {
                status: DonationStatus::Completed,
                ..started
            };
            assert!(store.update_donation(&completed, 0).await.unwrap());
        }
    }
    let pledges = ReportRequest {
        metric: ReportMetric::Pledges,
        ..request(AreaBy::Nation, GroupBy::Day)
    };
    let published = report(&store, &pledges, &[], 11).await.unwrap();
    assert_eq!(published.total.value, Some(29));
    let rows: Vec<(Option<String>, Option<i64>)> = published
        .rows
        .iter()
        .map(|row| (row.partner.clone(), row.count.value))
        .collect();
    // The shelter's 3 are withheld, and the library's 12 with them, so the
    // total cannot give the shelter's away.
    let value_of = |charity: Uuid| {
        rows.iter()
            .find(|(partner, _)| partner.as_deref() == Some(charity.to_string().as_str()))
            .map(|(_, value)| *value)
    };
    assert_eq!(value_of(food_bank), Some(Some(14)));
    assert_eq!(value_of(shelter), Some(None));
    assert_eq!(value_of(library), Some(None));
    let csv = published.to_csv();
    assert!(csv.starts_with("period,area,partner,value,suppressed\r\n"));
    assert!(csv.contains(&format!("2027-01-15,,{food_bank},14,false\r\n")));
    assert!(csv.ends_with("total,,,29,false\r\n"));
    let json = serde_json::to_value(&published).unwrap();
    assert_eq!(json["rows"][0]["partner"].as_str().map(str::len), Some(36));

    for (zip, minutes) in [("10036", 45), ("10001", 4)] {
        let stretch = AvailabilityRecord {
            window_id: Uuid::new_v4(),
            started_at_ms: at,
            ended_at_ms: at + minutes * 60_000,
            zip: Some(zip.to_owned()),
        };
        store.record_availability(&stretch).await.unwrap();
        store.record_availability(&stretch).await.unwrap();
    }
    let availability = ReportRequest {
        metric: ReportMetric::AvailabilityMinutes,
        role: ReportRole::Officer,
        ..request(AreaBy::Zip, GroupBy::Day)
    };
    let published = report(&store, &availability, &[], 11).await.unwrap();
    assert_eq!(published.total.value, Some(49), "each stretch counted once");
    let rows: Vec<(&str, Option<i64>)> = published
        .rows
        .iter()
        .map(|row| (&*row.area, row.count.value))
        .collect();
    assert_eq!(rows, vec![("10001", None), ("10036", None)]);
    assert!(published.rows.iter().all(|row| row.partner.is_none()));
    let citizens = ReportRequest {
        role: ReportRole::Citizen,
        ..availability
    };
    let published = report(&store, &citizens, &[], 11).await.unwrap();
    assert!(published.rows.is_empty(), "citizens are never available");
}
