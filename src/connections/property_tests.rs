//! Random sequences of accepts, duplicate accepts, officers' availability
//! stretches (written through the availability log, replayed, and failing),
//! injected store failures and recovery passes; after every step the ledger
//! and profile invariants hold
//! (balance = sum of entries, no entry twice, no complete record without its
//! credits and events) and the report aggregates equal a recomputation from
//! the records, and after a final recovery every record is complete.

use proptest::prelude::*;
use uuid::Uuid;

use super::failing_store::{FailMode, FailPoint};
use super::tests::{Harness, TIMES_SQUARE, assert_exactly_once, harness};
use crate::domain::{AccountId, Role};
use crate::reports::check::assert_reports_match_records;
use std::time::Duration;

use crate::reports::AvailabilityLog;
use crate::store::report_records::{AreaLevel, CellSelection, Grain, ReportMetric, ReportRole};
use crate::store::{AvailabilityRecord, ConnectionStore, ReportStore};

/// One step of a scenario.
#[derive(Debug, Clone)]
enum Step {
    /// A new request between citizen `citizen` and officer `officer` is accepted.
    Accept { citizen: usize, officer: usize },
    /// An earlier request (by index, modulo how many exist) is accepted again.
    Duplicate { request: usize },
    /// The next call at a write point fails.
    Fail {
        point: usize,
        after: bool,
        skip: usize,
    },
    /// An officer's availability stretch of `minutes` ends now, in ZIP
    /// `zip` of [`ZIPS`] (or none).
    Available { minutes: i64, zip: usize },
    /// An earlier stretch (by index, modulo how many exist) is written again.
    ReplayAvailable { stretch: usize },
    /// The recovery pass runs.
    Recover,
    /// An hour passes.
    Wait,
}

const PEOPLE_PER_ROLE: usize = 3;
/// The ZIPs stretches are in: two in one 3-digit area, one elsewhere, and
/// none.
const ZIPS: [Option<&str>; 4] = [Some("10036"), Some("10001"), Some("94103"), None];
const FAIL_POINTS: [FailPoint; 6] = [
    FailPoint::RecordAvailability,
    FailPoint::InsertConnection,
    FailPoint::AppendLedgerEntry,
    FailPoint::AppendProfileEvent,
    FailPoint::AwardTrophy,
    FailPoint::CompleteConnection,
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..PEOPLE_PER_ROLE, 0..PEOPLE_PER_ROLE)
            .prop_map(|(citizen, officer)| Step::Accept { citizen, officer }),
        3 => any::<usize>().prop_map(|request| Step::Duplicate { request }),
        2 => (0..FAIL_POINTS.len(), any::<bool>(), 0..3_usize)
            .prop_map(|(point, after, skip)| Step::Fail { point, after, skip }),
        2 => (1..150_i64, 0..ZIPS.len())
            .prop_map(|(minutes, zip)| Step::Available { minutes, zip }),
        1 => any::<usize>().prop_map(|stretch| Step::ReplayAvailable { stretch }),
        1 => Just(Step::Recover),
        1 => Just(Step::Wait),
    ]
}

async fn run(steps: Vec<Step>) {
    let harness: Harness = harness().await;
    let mut citizens = Vec::new();
    let mut officers = Vec::new();
    for _ in 0..PEOPLE_PER_ROLE {
        citizens.push(harness.person(Role::Citizen).await);
        officers.push(harness.person(Role::Officer).await);
    }
    let everyone: Vec<AccountId> = citizens.iter().chain(officers.iter()).copied().collect();
    let mut requests = Vec::new();
    let availability = AvailabilityLog::new(harness.store.clone());
    let mut stretches: Vec<AvailabilityRecord> = Vec::new();
    for step in steps {
        match step {
            Step::Accept { citizen, officer } => {
                let accepted = harness.accepted(
                    Uuid::new_v4(),
                    citizens[citizen],
                    officers[officer],
                    TIMES_SQUARE,
                );
                let _may_fail = harness.connections.establish(&accepted).await;
                requests.push(accepted);
            }
            Step::Duplicate { request } => {
                if !requests.is_empty() {
                    let accepted = &requests[request % requests.len()];
                    let _may_fail = harness.connections.establish(accepted).await;
                }
            }
            Step::Fail { point, after, skip } => {
                let mode = if after {
                    FailMode::After
                } else {
                    FailMode::Before
                };
                harness.store.fail(FAIL_POINTS[point], mode, skip);
            }
            Step::Available { minutes, zip } => {
                let now_ms = harness.clock.now_ms();
                // Seconds into the minute, so stretches do not start on one.
                let stretch = AvailabilityRecord {
                    window_id: Uuid::new_v4(),
                    started_at_ms: now_ms - minutes * 60_000 - 7_000,
                    ended_at_ms: now_ms,
                    zip: ZIPS[zip].map(str::to_owned),
                };
                availability.record(stretch.clone());
                availability.finish(Duration::from_secs(60)).await;
                stretches.push(stretch);
            }
            Step::ReplayAvailable { stretch } => {
                if !stretches.is_empty() {
                    availability.record(stretches[stretch % stretches.len()].clone());
                    availability.finish(Duration::from_secs(60)).await;
                }
            }
            Step::Recover => {
                let _may_fail = harness.connections.recover().await;
            }
            Step::Wait => tokio::time::advance(Duration::from_secs(3600)).await,
        }
        assert_exactly_once(&harness.store, &everyone).await;
        let today = crate::domain::connection::utc_day(harness.clock.now_ms());
        assert_reports_match_records(harness.store.as_ref(), today).await;
    }
    harness.store.disarm();
    harness.connections.recover().await.unwrap();
    assert!(
        harness
            .store
            .incomplete_connections(harness.clock.now_ms(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_exactly_once(&harness.store, &everyone).await;
    let today = crate::domain::connection::utc_day(harness.clock.now_ms());
    assert_reports_match_records(harness.store.as_ref(), today).await;
    assert_every_stretch_counted(&harness, &stretches).await;
}

/// Every stretch written is stored (the log's retries outlast one injected
/// failure), and the officers' availability minutes of the nation add up
/// to the minutes of the stretches.
async fn assert_every_stretch_counted(harness: &Harness, stretches: &[AvailabilityRecord]) {
    let mut stored = 0;
    let mut cursor = None;
    loop {
        let page = harness
            .store
            .scan_availability(cursor, 50)
            .await
            .expect("scan");
        stored += page.records.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(stored, stretches.len(), "every stretch stored once");
    let expected: i64 = stretches
        .iter()
        .map(|stretch| stretch.ended_at_ms / 60_000 - stretch.started_at_ms / 60_000)
        .sum();
    let Some(first) = stretches.iter().map(|stretch| stretch.started_at_ms).min() else {
        return;
    };
    let counted: i64 = harness
        .store
        .report_cells(CellSelection {
            metric: ReportMetric::AvailabilityMinutes,
            grain: Grain::Hour,
            level: AreaLevel::Nation,
            role: ReportRole::Officer,
            from_day: first.div_euclid(86_400_000),
            to_day: crate::domain::connection::utc_day(harness.clock.now_ms()),
        })
        .await
        .expect("cells")
        .iter()
        .filter(|cell| cell.key.role == ReportRole::Officer)
        .map(|cell| cell.value)
        .sum();
    assert_eq!(counted, expected, "availability minutes of the nation");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn credits_stay_exactly_once_under_random_failures(steps in prop::collection::vec(step(), 1..24)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(run(steps));
    }
}
