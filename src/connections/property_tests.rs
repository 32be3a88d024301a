//! Random sequences of accepts, duplicate accepts, injected store failures and
//! recovery passes; after every step the ledger and profile invariants hold
//! (balance = sum of entries, no entry twice, no complete record without its
//! credits and events) and the report aggregates equal a recomputation from
//! the records, and after a final recovery every record is complete.

use proptest::prelude::*;
use uuid::Uuid;

use super::failing_store::{FailMode, FailPoint};
use super::tests::{Harness, TIMES_SQUARE, assert_exactly_once, harness};
use crate::domain::{AccountId, Role};
use crate::reports::check::assert_reports_match_records;
use crate::store::ConnectionStore;

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
    /// The recovery pass runs.
    Recover,
    /// An hour passes.
    Wait,
}

const PEOPLE_PER_ROLE: usize = 3;
const FAIL_POINTS: [FailPoint; 5] = [
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
            Step::Recover => {
                let _may_fail = harness.connections.recover().await;
            }
            Step::Wait => tokio::time::advance(std::time::Duration::from_secs(3600)).await,
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
