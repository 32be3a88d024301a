//! Contract cases of report aggregates: facts counted once however often
//! their records are written, cells at every level equal to a recomputation
//! from the records, scans that page through every record once, and a
//! rebuild that gives the same cells back.

use std::collections::BTreeSet;
use std::sync::Arc;

use uuid::Uuid;

use crate::domain::AccountId;
use crate::reports::check::{assert_reports_match_records, stored_cells};
use crate::store::report_area::ReportArea;
use crate::store::report_records::{
    AreaLevel, CellKey, Grain, ReportMetric, ReportRole, month_start,
};
use crate::store::{ConnectionParty, ConnectionRecord, LedgerReason, NewLedgerEntry, Store};

/// 2027-01-15 14:00 UTC.
const AT_MS: i64 = 1_800_021_600_000;
const HOUR_MS: i64 = 3_600_000;

fn record(
    citizen: AccountId,
    officer: AccountId,
    at_ms: i64,
    zip: Option<&str>,
) -> ConnectionRecord {
    ConnectionRecord {
        mode: Default::default(),
        connection_id: Uuid::new_v4(),
        citizen: ConnectionParty {
            account_id: citizen,
            points: 10,
            withheld: None,
        },
        officer: ConnectionParty {
            account_id: officer,
            points: 5,
            withheld: None,
        },
        established_at_ms: at_ms,
        cell_r7: None,
        zip: zip.map(str::to_owned),
    }
}

fn entry(account_id: AccountId, delta: i64, reason: LedgerReason) -> NewLedgerEntry {
    NewLedgerEntry {
        entry_id: Uuid::new_v4(),
        account_id,
        at_ms: AT_MS,
        delta,
        reason,
        reference: None,
    }
}

fn cell(metric: ReportMetric, level: AreaLevel, area: &str, role: ReportRole) -> CellKey {
    CellKey {
        metric,
        grain: Grain::Hour,
        level,
        day: AT_MS.div_euclid(24 * HOUR_MS),
        hour: 14,
        area: ReportArea::parse(area).expect("an area"),
        role,
        partner: None,
    }
}

/// Writes two connections in one ZIP and one elsewhere in its 3-digit area,
/// each twice, and ledger entries of every reported reason, each twice.
async fn write_sample(store: &Arc<dyn Store>) -> (AccountId, AccountId) {
    let citizen = AccountId::random();
    let officer = AccountId::random();
    let other_citizen = AccountId::random();
    let records = [
        record(citizen, officer, AT_MS, Some("10036")),
        record(other_citizen, officer, AT_MS + 60_000, Some("10036")),
        record(citizen, officer, AT_MS + 120_000, Some("10001")),
        record(citizen, officer, AT_MS + 180_000, None),
    ];
    for record in &records {
        store.insert_connection(record).await.expect("insert");
        store.insert_connection(record).await.expect("insert again");
    }
    let entries = [
        entry(citizen, 100, LedgerReason::Adjustment),
        entry(citizen, -30, LedgerReason::Redemption),
        entry(citizen, -20, LedgerReason::Donation),
        entry(citizen, 30, LedgerReason::Refund),
    ];
    for entry in &entries {
        store.append_ledger_entry(entry).await.expect("append");
        store
            .append_ledger_entry(entry)
            .await
            .expect("append again");
    }
    (citizen, officer)
}

pub(crate) async fn report_facts_count_once_at_every_level(store: Arc<dyn Store>) {
    let (citizen, officer) = write_sample(&store).await;
    // The same people two days later, in the same ZIP and month.
    let later = record(citizen, officer, AT_MS + 48 * HOUR_MS, Some("10036"));
    store.insert_connection(&later).await.expect("insert");
    store.insert_connection(&later).await.expect("insert again");
    let day = AT_MS.div_euclid(24 * HOUR_MS);
    let cells = stored_cells(store.as_ref(), day, day).await;
    let value = |key: CellKey| cells.get(&key).copied();
    use AreaLevel::{Nation, Zip, Zip3};
    use ReportMetric::{
        Connections, Participants, PointsCredited, PointsDonated, PointsRedeemed, PointsRefunded,
    };
    use ReportRole::{All, Citizen, Officer};
    assert_eq!(value(cell(Connections, Zip, "10036", All)), Some(2));
    assert_eq!(value(cell(Connections, Zip, "10036", Officer)), Some(2));
    assert_eq!(value(cell(Connections, Zip, "10001", Citizen)), Some(1));
    assert_eq!(value(cell(Connections, Zip3, "100", All)), Some(3));
    assert_eq!(value(cell(Connections, Nation, "", All)), Some(4));
    assert_eq!(value(cell(Participants, Zip, "10036", All)), Some(3));
    assert_eq!(value(cell(Participants, Zip, "10036", Officer)), Some(1));
    assert_eq!(value(cell(Participants, Zip3, "100", Citizen)), Some(2));
    assert_eq!(value(cell(Participants, Nation, "", All)), Some(3));
    assert_eq!(value(cell(PointsCredited, Zip, "10036", Citizen)), Some(20));
    assert_eq!(value(cell(PointsCredited, Nation, "", All)), Some(60));
    assert_eq!(value(cell(PointsRedeemed, Nation, "", All)), Some(30));
    assert_eq!(value(cell(PointsDonated, Nation, "", All)), Some(20));
    assert_eq!(value(cell(PointsRefunded, Nation, "", All)), Some(30));
    assert_eq!(value(cell(PointsRedeemed, Zip3, "100", All)), None);
    let daily = |key: CellKey| CellKey {
        grain: Grain::Day,
        hour: 0,
        ..key
    };
    let monthly = |key: CellKey| CellKey {
        grain: Grain::Month,
        day: month_start(day),
        hour: 0,
        ..key
    };
    assert_eq!(value(daily(cell(Connections, Zip, "10036", All))), Some(2));
    assert_eq!(value(daily(cell(Participants, Nation, "", All))), Some(3));
    assert_eq!(
        value(monthly(cell(Connections, Zip, "10036", All))),
        Some(3)
    );
    assert_eq!(value(monthly(cell(Connections, Nation, "", All))), Some(5));
    // Distinct within the month: the later connection brings no one new.
    assert_eq!(
        value(monthly(cell(Participants, Zip, "10036", All))),
        Some(3)
    );
    assert_eq!(
        value(monthly(cell(Participants, Zip, "10036", Citizen))),
        Some(2)
    );
    assert_eq!(
        value(monthly(cell(PointsCredited, Nation, "", All))),
        Some(75)
    );
    assert_reports_match_records(store.as_ref(), day).await;
}

pub(crate) async fn scans_list_every_record_once(store: Arc<dyn Store>) {
    let citizen = AccountId::random();
    let officer = AccountId::random();
    let mut written = BTreeSet::new();
    for minute in 0..23 {
        let record = record(citizen, officer, AT_MS + minute * 60_000, Some("10036"));
        written.insert(record.connection_id);
        store.insert_connection(&record).await.expect("insert");
        store
            .append_ledger_entry(&entry(citizen, 1, LedgerReason::Adjustment))
            .await
            .expect("append");
    }
    let mut scanned = BTreeSet::new();
    let mut cursor = None;
    loop {
        let page = store.scan_connections(cursor, 5).await.expect("scan");
        assert!(page.records.len() <= 5, "a page holds at most the limit");
        for record in page.records {
            assert!(scanned.insert(record.connection_id), "scanned twice");
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(scanned, written);
    let mut entries = 0;
    let mut cursor = None;
    loop {
        let page = store.scan_ledger_entries(cursor, 5).await.expect("scan");
        entries += page.records.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(entries >= 22, "{entries} of 23 ledger entries listed");
}

pub(crate) async fn a_rebuild_gives_the_same_cells_back(store: Arc<dyn Store>) {
    write_sample(&store).await;
    let day = AT_MS.div_euclid(24 * HOUR_MS);
    let before = stored_cells(store.as_ref(), day - 1, day + 1).await;
    assert!(
        before.keys().any(|key| key.grain == Grain::Month),
        "month cells kept"
    );
    // A rebuild from a day forgets its whole month (the month cells).
    store
        .clear_report_cells(month_start(day), day)
        .await
        .expect("clear");
    assert!(
        stored_cells(store.as_ref(), day - 1, day + 1)
            .await
            .is_empty()
    );
    let summary = crate::reports::rebuild(store.as_ref(), Some(day), day)
        .await
        .expect("rebuild");
    assert_eq!(summary.connections, 4);
    assert_eq!(stored_cells(store.as_ref(), day - 1, day + 1).await, before);
    crate::reports::rebuild(store.as_ref(), None, day)
        .await
        .expect("rebuild again");
    assert_eq!(stored_cells(store.as_ref(), day - 1, day + 1).await, before);
    assert_reports_match_records(store.as_ref(), day).await;
}
