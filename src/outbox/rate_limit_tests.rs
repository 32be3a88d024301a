//! An endpoint's rate limit and backlog, end to end against the test
//! receiver (`tests::Receiver`) on a paused clock: a backlog reaches a
//! limited endpoint no faster than its limit, every delivery once, with no
//! attempt counted for the waits; the backlog gauges' numbers count what is
//! still to reach each enabled endpoint.

use std::time::Duration;

use super::backlog;
use super::delivery::DeliveryState;
use super::tests::{Harness, Receiver};

/// How many deliveries the backlog holds.
const BACKLOG: usize = 10;

#[tokio::test(start_paused = true)]
async fn a_limited_endpoint_gets_a_backlog_at_its_pace_and_each_once() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver, Duration::from_secs(15)).await;
    let per_second = 4;
    harness
        .admin
        .set_rate_limit(
            harness.endpoint_id,
            Some(per_second),
            harness.clock.now_ms(),
        )
        .await
        .expect("limit");
    let mut ids = Vec::new();
    for _ in 0..BACKLOG {
        ids.push(harness.connect().await);
    }
    let started = tokio::time::Instant::now();
    let mut deferred = 0;
    loop {
        let stats = harness.dispatcher.run_once().await.expect("pass");
        deferred += stats.deferred;
        let mut open = Vec::new();
        for id in &ids {
            let delivery = harness.delivery(*id).await;
            if delivery.state.is_open() {
                open.push(delivery.next_attempt_at_ms);
            }
        }
        let Some(next_ms) = open.into_iter().min() else {
            break;
        };
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "backlog not drained"
        );
        let wait_ms = (next_ms - harness.clock.now_ms()).max(1);
        tokio::time::advance(Duration::from_millis(u64::try_from(wait_ms).expect("wait"))).await;
    }
    let received = receiver.received();
    let mut seen: Vec<String> = received.iter().map(|got| got.webhook_id.clone()).collect();
    seen.sort();
    let mut expected: Vec<String> = ids.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(seen, expected, "each delivery once");
    assert!(received.iter().all(|got| got.verified));
    let gaps: Vec<Duration> = received
        .windows(2)
        .map(|pair| pair[1].at - pair[0].at)
        .collect();
    let interval = Duration::from_millis(1_000 / u64::from(per_second));
    assert!(
        gaps.iter().all(|gap| *gap >= interval),
        "never faster than the limit: {gaps:?}"
    );
    // Paced, not stalled: the backlog took about (n - 1) intervals.
    let span = received[BACKLOG - 1].at - received[0].at;
    assert!(span <= interval * 12, "{span:?}");
    assert!(deferred >= BACKLOG - 1, "the rest waited: {deferred}");
    for id in &ids {
        let delivery = harness.delivery(*id).await;
        assert_eq!(delivery.state, DeliveryState::Delivered);
        assert_eq!(delivery.attempts, 1, "a wait is not an attempt");
    }
}

#[tokio::test(start_paused = true)]
async fn the_backlog_counts_what_each_enabled_endpoint_still_has_to_get() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver, Duration::from_secs(15)).await;
    let created_ms = harness.clock.now_ms();
    for _ in 0..BACKLOG {
        harness.connect().await;
    }
    tokio::time::advance(Duration::from_secs(90)).await;
    let now_ms = harness.clock.now_ms();
    let endpoints: Vec<_> = harness
        .admin
        .list()
        .await
        .expect("endpoints")
        .iter()
        .filter_map(|record| record.open(&crate::identity::keys::ServerKeys::derive(&[7; 32])))
        .collect();
    let measured = backlog::measure(&*harness.store, &endpoints, now_ms, 1_000)
        .await
        .expect("measure");
    assert_eq!(measured.len(), 1);
    assert_eq!(measured[0].endpoint_id, harness.endpoint_id);
    assert_eq!(measured[0].depth, BACKLOG);
    assert_eq!(
        measured[0].oldest,
        Duration::from_millis(u64::try_from(now_ms - created_ms).expect("age"))
    );
    // A bound below the backlog: the depth is the bound, the oldest still
    // comes from the front of the due queue.
    let bounded = backlog::measure(&*harness.store, &endpoints, now_ms, 3)
        .await
        .expect("measure");
    assert_eq!(bounded[0].depth, 3);
    assert_eq!(bounded[0].oldest, measured[0].oldest);

    // Sent: nothing is left for it.
    let stats = harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(stats.delivered, BACKLOG);
    let after = backlog::measure(&*harness.store, &endpoints, harness.clock.now_ms(), 1_000)
        .await
        .expect("measure");
    assert_eq!(after[0].depth, 0);
    assert_eq!(after[0].oldest, Duration::ZERO);
}
