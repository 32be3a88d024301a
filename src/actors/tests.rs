//! Presence behaviour through the real actors and index, with sockets replaced by
//! their outbound links and tokio's clock paused: windows, grace periods and
//! hysteresis are checked without waiting.

use std::time::Duration;

use uuid::Uuid;

use crate::clock::Clock;
use crate::config::PresenceConfig;
use crate::domain::{AccountId, Role};
use crate::geo::{LatLng, distance_m};
use crate::identity::Authenticated;
use crate::presence::hub::{SessionHub, SessionInbox};
use crate::presence::outbound::{Outbound, OutboundReceiver, outbound_channel};
use crate::privacy::ShownPosition;
use crate::profiles::Profiles;
use crate::proto::{
    AvailabilityEndReason, ClientMessage, CloseCode, ErrorCode, GoAvailable, LocationUpdate,
    OfficerView, ServerMessage,
};
use crate::runtime::PresenceRuntime;
use crate::store::Store;
use crate::store::embedded::EmbeddedStore;

/// Times Square, and points at known distances from it.
pub(super) const TIMES_SQUARE: (f64, f64) = (40.758_0, -73.985_5);

pub(super) fn north_of_times_square(meters: f64) -> (f64, f64) {
    (TIMES_SQUARE.0 + meters / 111_195.0, TIMES_SQUARE.1)
}

pub(super) struct Node {
    pub(super) runtime: PresenceRuntime,
    pub(super) profiles: Profiles,
    pub(super) store: std::sync::Arc<dyn Store>,
    next_connection: u64,
    _dir: tempfile::TempDir,
}

pub(super) async fn node(config: PresenceConfig) -> Node {
    node_with(config, crate::config::ConnectionsConfig::default()).await
}

pub(super) async fn node_with(
    config: PresenceConfig,
    connections_config: crate::config::ConnectionsConfig,
) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(EmbeddedStore::open(dir.path()).await.unwrap());
    let clock = Clock::starting_at(1_800_000_000_000);
    let profiles = Profiles::new(store.clone(), clock);
    let connections = crate::connections::Connections::new(
        store.clone(),
        profiles.clone(),
        clock,
        crate::connections::reward_rules(&config, &connections_config),
    )
    .with_virtual_rules(crate::connections::virtual_reward_rules(
        &config,
        &connections_config,
    ));
    let runtime = PresenceRuntime::start(
        config,
        connections_config,
        crate::runtime::ClusterSetup::single_node("test"),
        clock,
        profiles.clone(),
        connections,
    )
    .await
    .unwrap();
    Node {
        runtime,
        profiles,
        store,
        next_connection: 0,
        _dir: dir,
    }
}

pub(super) struct Client {
    pub(super) account_id: AccountId,
    pub(super) inbox: Box<dyn SessionInbox>,
    receiver: OutboundReceiver,
    /// Whether `cadence` messages are read like any other; off, they are set
    /// aside (they come whenever a class changes, beside the flow under test).
    pub(super) sees_cadence: bool,
}

impl Node {
    pub(super) async fn connect_as(&mut self, account_id: AccountId, role: Role) -> Client {
        self.next_connection += 1;
        let (sender, receiver) = outbound_channel(self.next_connection);
        let caller = Authenticated {
            account_id,
            role,
            family_id: Uuid::nil(),
            expires_at_ms: i64::MAX,
        };
        let inbox = self.runtime.attach(caller, sender).await.unwrap();
        Client {
            account_id,
            inbox,
            receiver,
            sees_cadence: false,
        }
    }

    pub(super) async fn connect(&mut self, role: Role, name: &str) -> Client {
        let account_id = AccountId::random();
        self.profiles
            .create(account_id, name.to_owned(), role)
            .await
            .unwrap();
        self.connect_as(account_id, role).await
    }
}

impl Client {
    pub(super) fn send(&self, message: ClientMessage) {
        assert!(self.inbox.deliver(message), "session is alive");
    }

    pub(super) fn locate(&self, (lat, lng): (f64, f64)) {
        self.send(ClientMessage::Location(LocationUpdate {
            lat,
            lng,
            accuracy_m: None,
            seq: None,
        }));
    }

    pub(super) fn go_available(&self, minutes: u32) {
        self.send(ClientMessage::GoAvailable(GoAvailable {
            minutes: Some(minutes),
        }));
    }

    /// The next outbound item, or `None` if nothing arrives within a second.
    pub(super) async fn next(&mut self) -> Option<Outbound> {
        loop {
            let item = tokio::time::timeout(Duration::from_secs(1), self.receiver.next())
                .await
                .ok()
                .flatten();
            let set_aside = !self.sees_cadence
                && matches!(item, Some(Outbound::Message(ServerMessage::Cadence { .. })));
            if !set_aside {
                return item;
            }
        }
    }

    pub(super) async fn next_message(&mut self) -> ServerMessage {
        match self.next().await {
            Some(Outbound::Message(message)) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    pub(super) async fn expect_nearest(&mut self) -> Option<OfficerView> {
        match self.next_message().await {
            ServerMessage::Nearest { officer } => officer,
            other => panic!("expected nearest, got {other:?}"),
        }
    }

    pub(super) async fn expect_silence(&mut self) {
        if let Some(item) = self.next().await {
            panic!("expected nothing, got {item:?}");
        }
    }
}

pub(super) fn config() -> PresenceConfig {
    PresenceConfig::default()
}

/// An officer who is available at `position`.
pub(super) async fn available_officer(node: &mut Node, position: (f64, f64)) -> Client {
    let officer = node.connect(Role::Officer, "Officer Diaz").await;
    officer.locate(position);
    officer.go_available(15);
    officer
}

#[tokio::test(start_paused = true)]
async fn citizen_sees_the_officer_then_a_nearby_alert() {
    let mut node = node(config()).await;
    // 50 m north of the citizen, in a cell whose centre is 135 m from the citizen.
    let officer_at = north_of_times_square(50.0);
    let mut officer = available_officer(&mut node, officer_at).await;
    assert!(matches!(
        officer.next_message().await,
        ServerMessage::Availability { .. }
    ));
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let seen = citizen.expect_nearest().await.expect("an officer is near");
    assert_eq!(&*seen.display_name, "Officer Diaz");
    assert_eq!(seen.distance_band_m, 250, "from the cell centre, not 100");
    assert!(matches!(
        citizen.next_message().await,
        ServerMessage::Nearby { .. }
    ));
    // The citizen is shown the officer's resolution-9 cell centre, not the fix.
    let shown = LatLng::new(seen.approx_lat, seen.approx_lng).unwrap();
    let precise = LatLng::new(officer_at.0, officer_at.1).unwrap();
    assert_eq!(shown, ShownPosition::of(precise).point());
    assert!(distance_m(shown, precise) > 100.0);
    citizen.expect_silence().await;
}

#[tokio::test(start_paused = true)]
async fn officer_moving_away_changes_the_band_then_leaves_range() {
    let mut node = node(config()).await;
    let officer = available_officer(&mut node, north_of_times_square(50.0)).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    assert_eq!(citizen.expect_nearest().await.unwrap().distance_band_m, 250);
    citizen.next_message().await; // nearby
    // Moving inside its cell changes nothing the citizen can see: no push.
    officer.locate(north_of_times_square(90.0));
    citizen.expect_silence().await;
    // Shown 1,454 m away.
    officer.locate(north_of_times_square(1_500.0));
    assert_eq!(
        citizen.expect_nearest().await.unwrap().distance_band_m,
        2_000
    );
    // Shown 5,866 m away: beyond the 5 km radius.
    officer.locate(north_of_times_square(6_000.0));
    assert_eq!(citizen.expect_nearest().await, None);
    officer.locate(north_of_times_square(90.0));
    assert_eq!(citizen.expect_nearest().await.unwrap().distance_band_m, 250);
    assert!(
        matches!(citizen.next_message().await, ServerMessage::Nearby { .. }),
        "the alert re-armed after the officer left"
    );
}

#[tokio::test(start_paused = true)]
async fn window_expires_with_the_clock() {
    let mut node = node(config()).await;
    let mut officer = node.connect(Role::Officer, "Officer Diaz").await;
    officer.locate(north_of_times_square(300.0));
    officer.go_available(1);
    assert!(matches!(
        officer.next_message().await,
        ServerMessage::Availability { .. }
    ));
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    assert!(citizen.expect_nearest().await.is_some());
    tokio::time::sleep(Duration::from_secs(59)).await;
    citizen.expect_silence().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        officer.next_message().await,
        ServerMessage::AvailabilityEnded {
            reason: AvailabilityEndReason::Expired
        }
    );
    assert_eq!(citizen.expect_nearest().await, None);
}

#[tokio::test(start_paused = true)]
async fn renewing_keeps_the_handle_and_go_unavailable_ends_the_window() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, north_of_times_square(400.0)).await;
    officer.next_message().await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let first = citizen.expect_nearest().await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    officer.go_available(15);
    officer.next_message().await;
    let renewed = citizen.expect_nearest().await.unwrap();
    assert_eq!(renewed.handle, first.handle, "handle stable for the window");
    assert!(renewed.available_until_ms > first.available_until_ms);
    officer.send(ClientMessage::GoUnavailable);
    assert_eq!(
        officer.next_message().await,
        ServerMessage::AvailabilityEnded {
            reason: AvailabilityEndReason::WentUnavailable
        }
    );
    assert_eq!(citizen.expect_nearest().await, None);
}

#[tokio::test(start_paused = true)]
async fn reconnect_within_grace_keeps_the_window_without_a_flap() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, north_of_times_square(300.0)).await;
    officer.next_message().await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    assert!(citizen.expect_nearest().await.is_some());
    officer.inbox.detach();
    tokio::time::sleep(Duration::from_secs(25)).await;
    citizen.expect_silence().await;
    let mut back = node.connect_as(officer.account_id, Role::Officer).await;
    assert!(matches!(
        back.next_message().await,
        ServerMessage::Availability { .. }
    ));
    tokio::time::sleep(Duration::from_secs(60)).await;
    citizen.expect_silence().await;
}

#[tokio::test(start_paused = true)]
async fn disconnect_beyond_grace_ends_the_window() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, north_of_times_square(300.0)).await;
    officer.next_message().await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    assert!(citizen.expect_nearest().await.is_some());
    officer.inbox.detach();
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(citizen.expect_nearest().await, None);
    let mut back = node.connect_as(officer.account_id, Role::Officer).await;
    back.expect_silence().await;
}

#[tokio::test(start_paused = true)]
async fn a_second_socket_replaces_the_first() {
    let mut node = node(config()).await;
    let mut first = node.connect(Role::Citizen, "Ada").await;
    let mut second = node.connect_as(first.account_id, Role::Citizen).await;
    assert_eq!(
        first.next().await,
        Some(Outbound::Close(CloseCode::Replaced))
    );
    second.send(ClientMessage::Ping);
    assert_eq!(second.next_message().await, ServerMessage::Pong);
}

#[tokio::test(start_paused = true)]
async fn citizens_cannot_go_available() {
    let mut node = node(config()).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.go_available(15);
    match citizen.next_message().await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::Forbidden),
        other => panic!("expected forbidden, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_closer_officer_wins_only_beyond_the_hysteresis() {
    let mut node = node(config()).await;
    let _far = available_officer(&mut node, north_of_times_square(1_000.0)).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let first = citizen.expect_nearest().await.unwrap();
    // 15 m closer, in the same cell: shown at the same distance, the answer stays
    // (whichever officer a tie would pick).
    let _slightly_closer = available_officer(&mut node, north_of_times_square(985.0)).await;
    citizen.expect_silence().await;
    // Shown 589 m away instead of 867 m: the answer switches.
    let _much_closer = available_officer(&mut node, north_of_times_square(480.0)).await;
    let switched = citizen.expect_nearest().await.unwrap();
    assert_ne!(switched.handle, first.handle);
    assert_eq!(switched.distance_band_m, 1_000);
}

#[tokio::test(start_paused = true)]
async fn logout_ends_the_window_and_closes_the_socket() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, north_of_times_square(300.0)).await;
    officer.next_message().await;
    node.runtime.revoke(officer.account_id, None);
    assert_eq!(
        officer.next_message().await,
        ServerMessage::AvailabilityEnded {
            reason: AvailabilityEndReason::Logout
        }
    );
    assert_eq!(
        officer.next().await,
        Some(Outbound::Close(CloseCode::TokenRevoked))
    );
}

#[tokio::test(start_paused = true)]
async fn a_killed_officer_session_is_swept_from_the_map() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, north_of_times_square(300.0)).await;
    officer.next_message().await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    assert!(citizen.expect_nearest().await.is_some());
    let session = node.runtime.session_of(officer.account_id).await.unwrap();
    // Kill skips post_stop: only the supervisor and the sweep can clean up.
    session.kill();
    assert_eq!(citizen.expect_nearest().await, None);
    let stats = node.runtime.stats().await;
    assert_eq!(stats.officers_available, 0);
    assert_eq!(stats.sessions, 1);
}

#[tokio::test(start_paused = true)]
async fn empty_cells_stop_after_their_idle_time() {
    let mut node = node(config()).await;
    let citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    citizen.send(ClientMessage::Ping);
    let mut citizen = citizen;
    assert!(matches!(
        citizen.next_message().await,
        ServerMessage::Nearest { officer: None }
    ));
    assert_eq!(citizen.next_message().await, ServerMessage::Pong);
    let stats = node.runtime.stats().await;
    assert_eq!(
        (stats.shards, stats.cells, stats.citizens_located),
        (1, 1, 1)
    );
    citizen.inbox.detach();
    tokio::time::sleep(Duration::from_secs(61)).await;
    let stats = node.runtime.stats().await;
    assert_eq!(
        (stats.sessions, stats.cells, stats.citizens_located),
        (0, 0, 0)
    );
}

/// Every citizen's final answer equals a brute-force scan, with officers and
/// citizens scattered across the Hudson (ZIP shards 100 and 070 meet there) and
/// every officer moving once after the citizens have their first answer.
mod against_brute_force {
    use proptest::prelude::*;

    use super::*;

    fn hudson() -> impl Strategy<Value = (f64, f64)> {
        (40.72f64..40.77, -74.04f64..-73.98)
    }

    async fn final_answer(client: &mut Client) -> Option<OfficerView> {
        let mut last = None;
        while let Some(item) = client.next().await {
            if let Outbound::Message(ServerMessage::Nearest { officer }) = item {
                last = Some(officer);
            }
        }
        last.expect("a nearest answer was pushed")
    }

    /// The officers shown nearest (several when their cells' centres tie) and
    /// the distance they are shown at.
    fn brute_force(officers: &[(f64, f64)], citizen: (f64, f64)) -> Option<(Vec<usize>, f64)> {
        let from = LatLng::new(citizen.0, citizen.1).unwrap();
        let shown: Vec<(usize, f64)> = officers
            .iter()
            .enumerate()
            .map(|(number, (lat, lng))| {
                let officer = ShownPosition::of(LatLng::new(*lat, *lng).unwrap());
                (number, crate::privacy::distance_to_officer_m(from, officer))
            })
            .filter(|(_, distance)| *distance <= 5_000.0)
            .collect();
        let nearest = shown
            .iter()
            .map(|(_, distance)| *distance)
            .min_by(f64::total_cmp)?;
        let tied = shown
            .iter()
            .filter(|(_, distance)| *distance == nearest)
            .map(|(number, _)| *number)
            .collect();
        Some((tied, nearest))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        #[test]
        fn citizens_end_with_the_true_nearest_officer(
            starts in proptest::collection::vec(hudson(), 1..8),
            moves in proptest::collection::vec(hudson(), 8),
            citizens in proptest::collection::vec(hudson(), 1..6),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut node = node(PresenceConfig {
                    nearest_hysteresis_meters: 0.0,
                    ..PresenceConfig::default()
                })
                .await;
                let mut officers = Vec::new();
                for (number, start) in starts.iter().enumerate() {
                    let officer = node.connect(Role::Officer, &format!("Officer {number}")).await;
                    officer.locate(*start);
                    officer.go_available(15);
                    officers.push(officer);
                }
                let mut clients = Vec::new();
                for citizen in &citizens {
                    let client = node.connect(Role::Citizen, "Citizen").await;
                    client.locate(*citizen);
                    clients.push(client);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                let mut positions = starts.clone();
                for (number, officer) in officers.iter().enumerate() {
                    officer.locate(moves[number]);
                    positions[number] = moves[number];
                }
                for (client, citizen) in clients.iter_mut().zip(&citizens) {
                    let answer = final_answer(client).await;
                    let expected = brute_force(&positions, *citizen);
                    match (answer, expected) {
                        (None, None) => {}
                        (Some(view), Some((tied, distance))) => {
                            assert!(
                                tied.iter().any(|number| *view.display_name == *format!("Officer {number}")),
                                "{} is not among officers {tied:?}",
                                view.display_name
                            );
                            assert_eq!(view.distance_band_m, crate::geo::distance_band_m(distance));
                        }
                        (answer, expected) => panic!("answer {answer:?}, expected {expected:?}"),
                    }
                }
            });
        }
    }
}
