//! Reports read the coarsest cells that answer them exactly: month cells for
//! whole months, day cells around them, and the same rows as a report built
//! from day cells; distinct people counted per month at the month grain.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::check::{assert_reports_match_records, stored_cells};
use super::query::{AreaBy, GroupBy, ReportRequest, cover, pieces_of, report};
use crate::domain::AccountId;
use crate::store::ReportUpkeep;
use crate::store::embedded::EmbeddedStore;
use crate::store::report_records::{Grain, ReportMetric, ReportRole};
use crate::store::{ConnectionParty, ConnectionRecord, ConnectionStore};

/// 2026-12-20.
const DEC_20: i64 = 20_807;
/// 2027-01-01.
const JAN_1: i64 = 20_819;
/// 2027-03-01.
const MAR_1: i64 = 20_878;
/// 2027-03-31.
const MAR_31: i64 = 20_908;
const DAY_MS: i64 = 86_400_000;

async fn connect(store: &EmbeddedStore, citizen: AccountId, zip: &str, at_ms: i64) {
    let party = |account_id, points| ConnectionParty {
        account_id,
        points,
        withheld: None,
    };
    let record = ConnectionRecord {
        connection_id: Uuid::new_v4(),
        citizen: party(citizen, 10),
        officer: party(AccountId::random(), 5),
        established_at_ms: at_ms,
        cell_r7: None,
        mode: Default::default(),
        zip: Some(zip.to_owned()),
    };
    store.insert_connection(&record).await.unwrap();
}

fn request(metric: ReportMetric, group_by: GroupBy, from_day: i64, to_day: i64) -> ReportRequest {
    ReportRequest {
        metric,
        from_day,
        to_day,
        group_by,
        area_by: AreaBy::Zip,
        role: ReportRole::All,
        top: 5,
    }
}

#[test]
fn a_span_is_read_in_pieces_that_hold_every_day_once_in_order() {
    for (from_day, to_day, pieces) in [
        (JAN_1, MAR_31, 2),
        (DEC_20, DEC_20, 8),
        (JAN_1, JAN_1 + 6, 3),
    ] {
        let cut = pieces_of(from_day, to_day, pieces);
        let days: Vec<i64> = cut
            .iter()
            .flat_map(|(first, last)| *first..=*last)
            .collect();
        assert_eq!(days, (from_day..=to_day).collect::<Vec<_>>(), "{cut:?}");
        assert!(cut.len() <= pieces && cut.iter().all(|(first, last)| first <= last));
    }
    assert_eq!(
        pieces_of(JAN_1, JAN_1 + 9, 2),
        [(JAN_1, JAN_1 + 4), (JAN_1 + 5, JAN_1 + 9)]
    );
}

#[test]
fn month_reports_read_month_cells_only_for_whole_months() {
    assert_eq!(
        cover(GroupBy::Month, DEC_20, MAR_1 + 9),
        vec![
            (Grain::Day, DEC_20, JAN_1 - 1),
            (Grain::Month, JAN_1, MAR_1 - 1),
            (Grain::Day, MAR_1, MAR_1 + 9),
        ]
    );
    assert_eq!(
        cover(GroupBy::Month, JAN_1, MAR_31),
        vec![(Grain::Month, JAN_1, MAR_31)]
    );
    assert_eq!(
        cover(GroupBy::Month, JAN_1 + 1, JAN_1 + 20),
        vec![(Grain::Day, JAN_1 + 1, JAN_1 + 20)]
    );
    assert_eq!(
        cover(GroupBy::Week, DEC_20, MAR_31),
        vec![(Grain::Day, DEC_20, MAR_31)]
    );
    assert_eq!(
        cover(GroupBy::HourOfDay, DEC_20, MAR_31),
        vec![(Grain::Hour, DEC_20, MAR_31)]
    );
}

#[tokio::test]
async fn a_report_by_month_equals_the_sum_of_its_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let regular = AccountId::random();
    for step in 0..90 {
        let at_ms = DEC_20 * DAY_MS + step * (DAY_MS + 3_600_000 + 61_000);
        let zip = if step % 3 == 0 { "10036" } else { "94110" };
        connect(&store, regular, zip, at_ms).await;
        connect(&store, AccountId::random(), zip, at_ms + 60_000).await;
    }
    let (from_day, to_day) = (DEC_20, MAR_1 + 9);
    for metric in [ReportMetric::Connections, ReportMetric::PointsCredited] {
        let by_month = report(
            &store,
            &request(metric, GroupBy::Month, from_day, to_day),
            &[],
            1,
        )
        .await
        .unwrap();
        let by_day = report(
            &store,
            &request(metric, GroupBy::Day, from_day, to_day),
            &[],
            1,
        )
        .await
        .unwrap();
        let mut summed: BTreeMap<(String, String), i64> = BTreeMap::new();
        for row in &by_day.rows {
            *summed
                .entry((row.period[..7].to_owned(), row.area.to_string()))
                .or_default() += row.count.value.unwrap();
        }
        let months: BTreeMap<(String, String), i64> = by_month
            .rows
            .iter()
            .map(|row| {
                (
                    (row.period.to_string(), row.area.to_string()),
                    row.count.value.unwrap(),
                )
            })
            .collect();
        assert_eq!(months, summed, "{metric:?}");
        assert_eq!(by_month.total, by_day.total, "{metric:?}");
        assert_eq!(months.len(), 8, "4 months × 2 ZIPs");
    }
    // The regular citizen is one person a month at the month grain, one a
    // day at the day grain.
    let participants = report(
        &store,
        &ReportRequest {
            role: ReportRole::Citizen,
            ..request(ReportMetric::Participants, GroupBy::Month, JAN_1, MAR_1 - 1)
        },
        &[],
        1,
    )
    .await
    .unwrap();
    let january_94110 = participants
        .rows
        .iter()
        .find(|row| &*row.period == "2027-01" && &*row.area == "94110")
        .unwrap();
    let connections_there = report(
        &store,
        &ReportRequest {
            role: ReportRole::Citizen,
            ..request(ReportMetric::Connections, GroupBy::Month, JAN_1, MAR_1 - 1)
        },
        &[],
        1,
    )
    .await
    .unwrap()
    .rows
    .into_iter()
    .find(|row| &*row.period == "2027-01" && &*row.area == "94110")
    .unwrap();
    let regular_there = connections_there.count.value.unwrap() / 2;
    assert_eq!(
        january_94110.count.value.unwrap(),
        regular_there + 1,
        "the other citizens once each, the regular one once"
    );
}

#[tokio::test]
async fn without_upkeep_reports_wait_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path())
        .await
        .unwrap()
        .with_report_upkeep(ReportUpkeep::Skip);
    connect(&store, AccountId::random(), "10036", JAN_1 * DAY_MS).await;
    assert!(
        stored_cells(&store, JAN_1 - 1, JAN_1 + 1).await.is_empty(),
        "nothing counted while upkeep is off"
    );
    super::rebuild(&store, None, JAN_1).await.unwrap();
    assert!(!stored_cells(&store, JAN_1 - 1, JAN_1 + 1).await.is_empty());
    assert_reports_match_records(&store, JAN_1).await;
}
