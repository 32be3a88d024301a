//! Location cadence through the real sessions and index, on a paused clock:
//! told on connect and on every class change, not flipped by a citizen walking
//! along a boundary, and nothing asked of an officer who is not available.

use std::time::Duration;

use super::tests::{Client, Node, TIMES_SQUARE, available_officer, config, node};
use crate::domain::Role;
use crate::geo::LatLng;
use crate::privacy::ShownPosition;
use crate::proto::{ClientMessage, ServerMessage};

/// Reads until a `cadence` message and returns its pace (other messages are
/// skipped: they are not what these tests are about).
async fn next_cadence(client: &mut Client) -> (u64, u32) {
    for _ in 0..10 {
        if let ServerMessage::Cadence {
            interval_ms,
            min_distance_m,
        } = client.next_message().await
        {
            return (interval_ms, min_distance_m);
        }
    }
    panic!("no cadence message arrived");
}

/// Reads everything pending and fails on a `cadence` message among it.
async fn expect_no_cadence(client: &mut Client) {
    while let Some(item) = client.next().await {
        if let crate::presence::outbound::Outbound::Message(ServerMessage::Cadence { .. }) = item {
            panic!("an unexpected cadence: {item:?}");
        }
    }
}

fn north_of(point: LatLng, meters: f64) -> (f64, f64) {
    (point.lat() + meters / 111_195.0, point.lng())
}

async fn watching_citizen(node: &mut Node) -> Client {
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.sees_cadence = true;
    citizen
}

const NEAR: (u64, u32) = (1_000, 5);
const MID: (u64, u32) = (5_000, 25);
const FAR: (u64, u32) = (30_000, 100);

#[tokio::test(start_paused = true)]
async fn a_citizen_is_told_a_cadence_on_connect_and_when_an_officer_comes_near() {
    let mut node = node(config()).await;
    let mut citizen = watching_citizen(&mut node).await;
    assert_eq!(next_cadence(&mut citizen).await, FAR, "nobody near yet");
    citizen.locate(TIMES_SQUARE);
    expect_no_cadence(&mut citizen).await;
    // An officer about 3 km away: the citizen is rechecked and speeds up.
    let officer_at = north_of(
        LatLng::new(TIMES_SQUARE.0, TIMES_SQUARE.1).unwrap(),
        3_000.0,
    );
    let _officer = available_officer(&mut node, officer_at).await;
    assert_eq!(next_cadence(&mut citizen).await, MID);
    // The citizen walks to within a kilometre.
    tokio::time::sleep(Duration::from_secs(60)).await;
    citizen.locate(north_of(
        LatLng::new(TIMES_SQUARE.0, TIMES_SQUARE.1).unwrap(),
        2_500.0,
    ));
    assert_eq!(next_cadence(&mut citizen).await, NEAR);
    expect_no_cadence(&mut citizen).await;
    // A new socket of the same account replaces the first and is told again.
    let mut again = node.connect_as(citizen.account_id, Role::Citizen).await;
    again.sees_cadence = true;
    assert_eq!(
        next_cadence(&mut again).await,
        NEAR,
        "the session's class, told again"
    );
}

#[tokio::test(start_paused = true)]
async fn walking_along_a_boundary_does_not_flip_the_cadence() {
    let mut node = node(config()).await;
    let officer_at = north_of_times_square_point(2_000.0);
    let _officer = available_officer(&mut node, (officer_at.lat(), officer_at.lng())).await;
    let shown = ShownPosition::of(officer_at).point();
    let mut citizen = watching_citizen(&mut node).await;
    assert_eq!(next_cadence(&mut citizen).await, FAR);
    citizen.locate(north_of(shown, -990.0));
    assert_eq!(next_cadence(&mut citizen).await, NEAR);
    for step in 0..6 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let meters = if step % 2 == 0 { -1_010.0 } else { -990.0 };
        citizen.locate(north_of(shown, meters));
        expect_no_cadence(&mut citizen).await;
    }
    // Past the boundary by more than the hysteresis: slower.
    tokio::time::sleep(Duration::from_secs(10)).await;
    citizen.locate(north_of(shown, -1_300.0));
    assert_eq!(next_cadence(&mut citizen).await, MID);
    // Back just inside the old class's hysteresis band: still mid.
    tokio::time::sleep(Duration::from_secs(10)).await;
    citizen.locate(north_of(shown, -1_010.0));
    expect_no_cadence(&mut citizen).await;
    // Over the boundary: faster at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    citizen.locate(north_of(shown, -990.0));
    assert_eq!(next_cadence(&mut citizen).await, NEAR);
}

#[tokio::test(start_paused = true)]
async fn an_officer_reports_only_while_available() {
    let mut node = node(config()).await;
    let mut officer = node.connect(Role::Officer, "Officer Diaz").await;
    officer.sees_cadence = true;
    assert_eq!(
        next_cadence(&mut officer).await,
        (0, 0),
        "not available: no reports needed"
    );
    officer.locate(TIMES_SQUARE);
    officer.go_available(15);
    assert_eq!(next_cadence(&mut officer).await, (2_000, 10));
    officer.send(ClientMessage::GoUnavailable);
    assert_eq!(next_cadence(&mut officer).await, (0, 0));
    officer.go_available(1);
    assert_eq!(next_cadence(&mut officer).await, (2_000, 10));
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(
        next_cadence(&mut officer).await,
        (0, 0),
        "the window ran out"
    );
}

fn north_of_times_square_point(meters: f64) -> LatLng {
    let (lat, lng) = super::tests::north_of_times_square(meters);
    LatLng::new(lat, lng).unwrap()
}

#[tokio::test(start_paused = true)]
async fn leaving_the_nearest_radius_slows_down_only_past_the_hysteresis() {
    let mut node = node(config()).await;
    let officer_at = north_of_times_square_point(0.0);
    let _officer = available_officer(&mut node, (officer_at.lat(), officer_at.lng())).await;
    let shown = ShownPosition::of(officer_at).point();
    let mut citizen = watching_citizen(&mut node).await;
    assert_eq!(next_cadence(&mut citizen).await, FAR);
    citizen.locate(north_of(shown, 4_900.0));
    assert_eq!(next_cadence(&mut citizen).await, MID);
    // Past the 5 km answer radius (`nearest` says nobody) but within the
    // hysteresis: still mid.
    tokio::time::sleep(Duration::from_secs(10)).await;
    citizen.locate(north_of(shown, 5_150.0));
    assert_eq!(citizen.expect_nearest().await, None);
    expect_no_cadence(&mut citizen).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    citizen.locate(north_of(shown, 5_400.0));
    assert_eq!(next_cadence(&mut citizen).await, FAR);
}
