//! Roll-ups of report cells on a real CQL node (`HEYBLUE_SCYLLA_URI`): cells
//! read after a roll-up equal a fold of the same facts at every grain,
//! level and role; a retried fact changes nothing and a new one shows in the
//! next read; a mark written while a roll-up runs survives it; of two
//! overlapping roll-ups the one that started later wins; and reads of
//! rolled-up days read no facts.

use uuid::Uuid;

use super::ScyllaStore;
use super::tests::{KeyspaceDropper, fresh_keyspace_store};
use crate::domain::AccountId;
use crate::store::report_area::ReportArea;
use crate::store::report_facts::{connection_facts, fold_facts};
use crate::store::report_records::{
    AreaLevel, CellSelection, Grain, ReportCell, ReportFact, ReportMetric, ReportRole, month_start,
    next_month_start,
};
use crate::store::{ConnectionParty, ConnectionRecord, ReportStore};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// 2027-01-30: the sample spans two days of January and two of February.
const FIRST_DAY: i64 = 20_848;
/// Days the sample covers.
const SAMPLE_DAYS: i64 = 4;

/// The metrics the cases compare: two additive ones, the distinct one, and
/// one kept per partner.
const METRICS: [ReportMetric; 4] = [
    ReportMetric::Connections,
    ReportMetric::PointsCredited,
    ReportMetric::Participants,
    ReportMetric::VouchersIssued,
];

/// A store on a fresh keyspace, or `None` (with a message) without a node.
async fn fresh_store(case: &str) -> Option<(ScyllaStore, KeyspaceDropper)> {
    fresh_keyspace_store("report roll-up", case).await
}

fn person(number: u128) -> AccountId {
    AccountId(Uuid::from_u128(number))
}

/// The facts of connection number `index` (people repeat across days, one
/// in four has no ZIP) and of a voucher issued at the same time.
fn facts_of(index: u32, day: i64) -> Vec<ReportFact> {
    let zips = [Some("10036"), Some("10001"), Some("94103"), None];
    let at_ms = day * DAY_MS + i64::from(index * 7 % 24) * HOUR_MS + i64::from(index) * 1_000;
    let record = ConnectionRecord {
        connection_id: Uuid::from_u128(1_000 + u128::from(index)),
        citizen: ConnectionParty {
            account_id: person(u128::from(index % 5) + 1),
            points: 10,
            withheld: None,
        },
        officer: ConnectionParty {
            account_id: person(100 + u128::from(index % 2)),
            points: 5,
            withheld: None,
        },
        established_at_ms: at_ms,
        mode: Default::default(),
        cell_r7: None,
        zip: zips[(index % 4) as usize].map(str::to_owned),
    };
    let mut facts = connection_facts(&record);
    facts.push(ReportFact {
        fact_id: Uuid::from_u128(50_000 + u128::from(index)),
        metric: ReportMetric::VouchersIssued,
        at_ms,
        zip: None,
        roles: vec![ReportRole::All],
        amount: 1,
        person: None,
        partner: Some(Uuid::from_u128(u128::from(index % 3) + 1)),
    });
    facts
}

/// Forty connections (and vouchers) over the sample's four days.
fn sample_facts() -> Vec<ReportFact> {
    (0..40)
        .flat_map(|index| facts_of(index, FIRST_DAY + i64::from(index) % SAMPLE_DAYS))
        .collect()
}

/// `cells` in key order.
fn sorted(mut cells: Vec<ReportCell>) -> Vec<ReportCell> {
    cells.sort_by(|left, right| left.key.cmp(&right.key));
    cells
}

/// Every selection of `metric` over the sample's months.
fn selections(metric: ReportMetric) -> Vec<CellSelection> {
    let mut all = Vec::new();
    for grain in Grain::ALL {
        for level in AreaLevel::ALL {
            for role in ReportRole::ALL {
                all.push(CellSelection {
                    metric,
                    grain,
                    level,
                    role,
                    from_day: month_start(FIRST_DAY),
                    to_day: FIRST_DAY + SAMPLE_DAYS,
                });
            }
        }
    }
    all
}

/// Asserts that every selection of the compared metrics reads what a fold of
/// `facts` gives.
async fn assert_cells_equal_fold(store: &ScyllaStore, facts: &[ReportFact]) {
    let folded = fold_facts(facts);
    for metric in METRICS {
        for selection in selections(metric) {
            let stored = sorted(store.report_cells(selection).await.expect("cells"));
            let expected: Vec<ReportCell> = folded
                .iter()
                .filter(|cell| selection.contains(&cell.key))
                .cloned()
                .collect();
            assert_eq!(stored, sorted(expected), "{selection:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cells_after_a_roll_up_equal_a_fold_of_the_facts() {
    let Some((store, _dropper)) = fresh_store("cells_equal_fold").await else {
        return;
    };
    let facts = sample_facts();
    store.add_report_facts(&facts).await.expect("add");
    let pass = store.roll_up_reports().await.expect("roll up");
    // Four metrics have facts (connections, participants, points credited,
    // vouchers issued), each on four days of two months.
    assert_eq!(pass.days, 4 * SAMPLE_DAYS as u64);
    assert_eq!(pass.months, 4 * 2);
    assert_cells_equal_fold(&store, &facts).await;
    assert_eq!(
        store.roll_up_reports().await.expect("again").days,
        0,
        "nothing dirty"
    );
    // Both months have cells: the sample crosses a month boundary.
    let months: Vec<i64> = sorted(
        store
            .report_cells(CellSelection {
                metric: ReportMetric::Connections,
                grain: Grain::Month,
                level: AreaLevel::Nation,
                role: ReportRole::All,
                from_day: month_start(FIRST_DAY),
                to_day: FIRST_DAY + SAMPLE_DAYS,
            })
            .await
            .expect("months"),
    )
    .iter()
    .map(|cell| cell.key.day)
    .collect();
    assert_eq!(
        months,
        vec![month_start(FIRST_DAY), next_month_start(FIRST_DAY)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_fact_changes_nothing_and_a_new_one_shows_at_once() {
    let Some((store, _dropper)) = fresh_store("retried_and_new").await else {
        return;
    };
    let mut facts = sample_facts();
    store.add_report_facts(&facts).await.expect("add");
    // Read before any background pass: the read rolls up what it needs.
    assert_cells_equal_fold(&store, &facts).await;
    store.add_report_facts(&facts).await.expect("add again");
    assert_cells_equal_fold(&store, &facts).await;
    // A new connection and voucher on an already rolled-up day.
    let new_facts = facts_of(99, FIRST_DAY + 1);
    store.add_report_facts(&new_facts).await.expect("add new");
    facts.extend(new_facts);
    assert_cells_equal_fold(&store, &facts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mark_written_while_a_roll_up_runs_survives_it() {
    let Some((store, _dropper)) = fresh_store("mark_survives").await else {
        return;
    };
    let metric = ReportMetric::Connections;
    let mut facts = sample_facts();
    store.add_report_facts(&facts).await.expect("add");
    let day = FIRST_DAY + 2;
    // The roll-up reads its marks; a write of the same day (by the same
    // writer: the same mark row) lands before it deletes them.
    let marks = store.dirty_marks(metric, day, day).await.expect("marks");
    assert_eq!(marks.len(), 1);
    let late = facts_of(200, day);
    store.add_report_facts(&late).await.expect("add late");
    facts.extend(late);
    store.roll_up_marked(metric, &marks).await.expect("roll up");
    let left = store.dirty_marks(metric, day, day).await.expect("marks");
    assert_eq!(left.len(), 1, "the later mark survives");
    assert!(left[0].written_micros > marks[0].written_micros);
    // Without a write in between, the marks read are all deleted.
    let other_day = FIRST_DAY + 3;
    let marks = store
        .dirty_marks(metric, other_day, other_day)
        .await
        .expect("marks");
    store.roll_up_marked(metric, &marks).await.expect("roll up");
    assert!(
        store
            .dirty_marks(metric, other_day, other_day)
            .await
            .expect("marks")
            .is_empty()
    );
    assert_cells_equal_fold(&store, &facts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_overlapping_roll_ups_the_later_one_wins() {
    let Some((store, _dropper)) = fresh_store("later_wins").await else {
        return;
    };
    let metric = ReportMetric::Connections;
    let day = FIRST_DAY;
    let mut facts = facts_of(1, day);
    store.add_report_facts(&facts).await.expect("add");
    let earlier = store.fold_day(metric, day).await.expect("fold");
    let more = facts_of(2, day);
    store.add_report_facts(&more).await.expect("add more");
    facts.extend(more);
    let later = store.fold_day(metric, day).await.expect("fold");
    // The later fold is written first; the earlier one, written after,
    // must not replace it.
    store.write_fold(&later).await.expect("write later");
    store.write_fold(&earlier).await.expect("write earlier");
    let folded = fold_facts(&facts);
    for grain in [Grain::Hour, Grain::Day] {
        for level in AreaLevel::ALL {
            let mut expected: Vec<(u8, ReportArea, i64)> = folded
                .iter()
                .filter(|cell| {
                    cell.key.metric == metric
                        && cell.key.grain == grain
                        && cell.key.level == level
                        && cell.key.role == ReportRole::All
                })
                .map(|cell| (cell.key.hour, cell.key.area, cell.value))
                .collect();
            expected.sort();
            // Straight from the partition: a report read would roll the
            // day up again (it is still marked dirty).
            let mut stored: Vec<(u8, ReportArea, i64)> = store
                .read_partition((metric, grain, level, ReportRole::All, day))
                .await
                .expect("read")
                .into_iter()
                .map(|(hour, cell)| (hour, cell.area, cell.value))
                .collect();
            stored.sort();
            assert!(!expected.is_empty());
            assert_eq!(stored, expected, "{grain:?} {level:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_rolled_up_days_read_no_facts() {
    let Some((store, _dropper)) = fresh_store("reads_no_facts").await else {
        return;
    };
    // Sixty days of facts, then one roll-up of them all.
    let facts: Vec<ReportFact> = (0..120)
        .flat_map(|index| facts_of(index, FIRST_DAY + i64::from(index) % 60))
        .collect();
    store.add_report_facts(&facts).await.expect("add");
    let pass = store.roll_up_reports().await.expect("roll up");
    assert!(pass.fact_rows_read >= facts.len() as u64);
    let after_roll_up = store.report_fact_rows_read();
    let span = |metric: ReportMetric, grain: Grain| CellSelection {
        metric,
        grain,
        level: AreaLevel::Zip,
        role: ReportRole::All,
        from_day: FIRST_DAY,
        to_day: FIRST_DAY + 59,
    };
    for metric in METRICS {
        for grain in Grain::ALL {
            let cells = store.report_cells(span(metric, grain)).await.expect("read");
            if metric != ReportMetric::VouchersIssued {
                assert!(!cells.is_empty(), "{metric:?} {grain:?}");
            }
        }
    }
    assert_eq!(
        store.report_fact_rows_read(),
        after_roll_up,
        "reads of rolled-up days read no fact"
    );
    // One new connection: the next read of connections folds that day's
    // facts of that metric and nothing else (the month is a sum of days).
    let day = FIRST_DAY + 10;
    let new_facts = facts_of(500, day);
    store.add_report_facts(&new_facts).await.expect("add");
    store
        .report_cells(span(ReportMetric::Connections, Grain::Month))
        .await
        .expect("read");
    let day_rows = facts
        .iter()
        .chain(&new_facts)
        .filter(|fact| fact.metric == ReportMetric::Connections && fact.day() == day)
        .count() as u64;
    assert_eq!(store.report_fact_rows_read(), after_roll_up + day_rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roll_up_cut_short_anywhere_is_finished_by_the_next() {
    let Some((store, _dropper)) = fresh_store("cut_short").await else {
        return;
    };
    let mut facts = Vec::new();
    // A statement fails after `skip` others of a pass: before any cell is
    // written, among the day rows, among the month rows, among the mark
    // deletions. The marks left make the next pass (or read) redo it.
    for (round, skip) in [0_u32, 5, 40, 150, 400, 700].into_iter().enumerate() {
        let round = u32::try_from(round).unwrap();
        let new_facts: Vec<ReportFact> = (0..6)
            .flat_map(|index| {
                facts_of(
                    1_000 * (round + 1) + index,
                    FIRST_DAY + i64::from(index) % SAMPLE_DAYS,
                )
            })
            .collect();
        store.add_report_facts(&new_facts).await.expect("add");
        facts.extend(new_facts);
        store
            .faults()
            .fail_statement(usize::try_from(skip).unwrap());
        let cut = store.roll_up_reports().await;
        let fired = !store.faults().is_armed();
        store.faults().disarm();
        assert_eq!(cut.is_err(), fired, "skip {skip}: {cut:?}");
        assert_cells_equal_fold(&store, &facts).await;
    }
}
