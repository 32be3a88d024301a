//! What a citizen observes of an officer, through the real actors with tokio's
//! clock paused: every message is the same wherever the officer stands inside its
//! resolution-9 cell, and spoofed jumps of a citizen are refused.

use std::time::Duration;

use proptest::prelude::*;

use super::tests::{Client, TIMES_SQUARE, available_officer, config, node};
use crate::domain::Role;
use crate::geo::test_support::destination;
use crate::geo::{LatLng, cell_center};
use crate::presence::outbound::Outbound;
use crate::privacy::{SHOWN_RESOLUTION, ShownPosition};
use crate::proto::{ErrorCode, ServerMessage};

/// Everything the citizen received, with handles (random per window) replaced
/// by a placeholder so two runs compare.
async fn received(client: &mut Client) -> Vec<ServerMessage> {
    let mut messages = Vec::new();
    while let Some(item) = client.next().await {
        if let Outbound::Message(mut message) = item {
            if let ServerMessage::Nearest {
                officer: Some(officer),
            }
            | ServerMessage::Nearby { officer } = &mut message
            {
                officer.handle = "handle".into();
            }
            messages.push(message);
        }
    }
    messages
}

fn degrees(point: LatLng) -> (f64, f64) {
    (point.lat(), point.lng())
}

/// Plays one scene with the officer at `first`, then moving to `second` (both
/// in one cell), while a citizen walks `walk`; returns what the citizen got.
async fn citizen_sees(first: LatLng, second: LatLng, walk: &[LatLng]) -> Vec<ServerMessage> {
    let mut node = node(config()).await;
    let officer = available_officer(&mut node, degrees(first)).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    let (before, after) = walk.split_at(walk.len() / 2);
    for point in before {
        citizen.locate(degrees(*point));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    officer.locate(degrees(second));
    tokio::time::sleep(Duration::from_secs(2)).await;
    for point in after {
        citizen.locate(degrees(*point));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    received(&mut citizen).await
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Two officers standing at different points of one cell (and moving inside
    /// it) give a citizen walking anywhere nearby exactly the same messages.
    #[test]
    fn every_message_is_the_same_wherever_the_officer_stands_in_its_cell(
        cell_seed in (40.70f64..40.80, -74.02f64..-73.93),
        officer_points in proptest::collection::vec((0.0f64..360.0, 0.0f64..150.0), 4),
        walk in proptest::collection::vec((0.0f64..360.0, 0.0f64..1_500.0), 2..8),
    ) {
        let seed = LatLng::new(cell_seed.0, cell_seed.1).unwrap();
        let centre = cell_center(crate::geo::cell_at(seed, SHOWN_RESOLUTION));
        let in_cell: Vec<LatLng> = officer_points
            .iter()
            .map(|(bearing, metres)| destination(centre, *bearing, *metres))
            .filter(|point| ShownPosition::of(*point).point() == centre)
            .collect();
        prop_assume!(in_cell.len() == 4);
        let walk: Vec<LatLng> = walk
            .iter()
            .map(|(bearing, metres)| destination(centre, *bearing, *metres))
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let (one, other) = runtime.block_on(async {
            (
                citizen_sees(in_cell[0], in_cell[1], &walk).await,
                citizen_sees(in_cell[2], in_cell[3], &walk).await,
            )
        });
        prop_assert!(!one.is_empty());
        prop_assert_eq!(one, other);
    }
}

#[tokio::test(start_paused = true)]
async fn a_citizen_s_implausible_jump_is_refused_and_changes_nothing() {
    let mut node = node(config()).await;
    let officer_at = super::tests::north_of_times_square(50.0);
    let _officer = available_officer(&mut node, officer_at).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    assert!(citizen.expect_nearest().await.is_some());
    citizen.next_message().await; // nearby
    let start = LatLng::new(TIMES_SQUARE.0, TIMES_SQUARE.1).unwrap();
    // 1 km in one second: 1,000 m/s.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let far = degrees(destination(start, 90.0, 1_000.0));
    citizen.locate(far);
    match citizen.next_message().await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::ImplausibleLocation),
        other => panic!("expected implausible_location, got {other:?}"),
    }
    citizen.expect_silence().await;
    // A reconnect does not reset the check.
    citizen.inbox.detach();
    let mut citizen = node.connect_as(citizen.account_id, Role::Citizen).await;
    citizen.locate(far);
    loop {
        match citizen.next_message().await {
            ServerMessage::Error { code, .. } => {
                assert_eq!(code, ErrorCode::ImplausibleLocation);
                break;
            }
            // A socket attached to a live session is given its answer again.
            ServerMessage::Nearest { .. } | ServerMessage::Nearby { .. } => {}
            other => panic!("expected implausible_location, got {other:?}"),
        }
    }
    // 15 s after the last accepted fix, 1 km is within 70 m/s.
    tokio::time::sleep(Duration::from_secs(14)).await;
    citizen.locate(far);
    let band = citizen
        .expect_nearest()
        .await
        .expect("still in range")
        .distance_band_m;
    let officer_shown = ShownPosition::of(LatLng::new(officer_at.0, officer_at.1).unwrap());
    let far = LatLng::new(far.0, far.1).unwrap();
    assert_eq!(
        band,
        crate::geo::distance_band_m(crate::privacy::distance_to_officer_m(far, officer_shown)),
        "the new position is used"
    );
}
