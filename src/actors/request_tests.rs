//! The connection request state machine through the real actors with tokio's
//! clock paused: the 60 s timeout, a request that survives a citizen's
//! reconnect, and an accept that credits both sides.

use std::time::Duration;

use super::tests::{Client, TIMES_SQUARE, available_officer, config, node, north_of_times_square};
use crate::domain::Role;
use crate::proto::{ClientMessage, RequestConnection, RequestState, Respond, ServerMessage};

/// Reads messages until `pick` accepts one (skipping presence pushes).
/// The first message `pick` accepts among the next 20 (also used by `virtual_tests`).
pub(super) async fn until<T>(client: &mut Client, pick: impl Fn(ServerMessage) -> Option<T>) -> T {
    for _ in 0..20 {
        if let Some(found) = pick(client.next_message().await) {
            return found;
        }
    }
    panic!("the expected message did not arrive");
}

/// The next `request_update`'s request and state.
pub(super) async fn state_of(client: &mut Client) -> (uuid::Uuid, RequestState) {
    until(client, |message| match message {
        ServerMessage::RequestUpdate {
            request_id, state, ..
        } => Some((request_id, state)),
        _other => None,
    })
    .await
}

async fn shown_handle(citizen: &mut Client) -> String {
    until(citizen, |message| match message {
        ServerMessage::Nearest { officer } => officer.map(|officer| officer.handle.to_string()),
        _other => None,
    })
    .await
}

fn request(citizen: &Client, handle: &str) {
    citizen.send(ClientMessage::RequestConnection(RequestConnection {
        officer: handle.to_owned(),
        op_id: "op-1".to_owned(),
        mode: crate::domain::connection::ConnectionMode::InPerson,
    }));
}

#[tokio::test(start_paused = true)]
async fn a_request_expires_after_sixty_seconds_and_not_before() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, north_of_times_square(200.0)).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut citizen).await;
    request(&citizen, &handle);
    let (request_id, state) = state_of(&mut citizen).await;
    assert_eq!(state, RequestState::Pending);
    let expires_at_ms = until(&mut officer, |message| match message {
        ServerMessage::ConnectionRequested { expires_at_ms, .. } => Some(expires_at_ms),
        _other => None,
    })
    .await;
    assert_eq!(node.runtime.stats().await.pending_requests, 1);

    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(node.runtime.stats().await.pending_requests, 1);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        state_of(&mut citizen).await,
        (request_id, RequestState::Expired)
    );
    assert_eq!(
        state_of(&mut officer).await,
        (request_id, RequestState::Expired)
    );
    assert!(expires_at_ms > 0);
    assert_eq!(node.runtime.stats().await.pending_requests, 0);
}

#[tokio::test(start_paused = true)]
async fn an_accept_credits_both_and_a_duplicate_changes_nothing() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, north_of_times_square(200.0)).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut citizen).await;
    request(&citizen, &handle);
    let (request_id, _) = state_of(&mut citizen).await;
    for _ in 0..3 {
        officer.send(ClientMessage::Respond(Respond {
            request_id,
            accept: true,
        }));
    }
    assert_eq!(
        state_of(&mut citizen).await,
        (request_id, RequestState::Accepted)
    );
    let points = until(&mut citizen, |message| match message {
        ServerMessage::ConnectionEstablished { points, quote, .. } => {
            assert!(quote.is_some());
            Some(points)
        }
        _other => None,
    })
    .await;
    assert_eq!(points, 10);
    let balance = until(&mut officer, |message| match message {
        ServerMessage::Points { balance, .. } => Some(balance),
        _other => None,
    })
    .await;
    assert_eq!(balance, 10);
}

/// The push notifications queued for `account_id`, by kind, once the
/// background writes have landed.
async fn queued_pushes(node: &super::tests::Node, expected: usize) -> Vec<String> {
    use crate::outbox::delivery::DeliveryState;
    use crate::outbox::message::EventType;
    for _ in 0..100 {
        let pending = node
            .profiles
            .store()
            .outbox_deliveries(DeliveryState::Pending, i64::MAX / 2, 100)
            .await
            .expect("list");
        let kinds: Vec<String> = pending
            .iter()
            .filter(|delivery| delivery.message.event_type == EventType::PushNotification)
            .map(|delivery| {
                let body: serde_json::Value =
                    serde_json::from_str(&delivery.message.body).expect("json");
                body["kind"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        if kinds.len() >= expected {
            return kinds;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Vec::new()
}

#[tokio::test(start_paused = true)]
async fn an_officer_away_from_the_socket_is_pushed_the_request_and_the_window_end() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, north_of_times_square(200.0)).await;
    officer.next_message().await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut citizen).await;
    // Connected: told on the socket, no push.
    request(&citizen, &handle);
    let (first_request, _) = state_of(&mut citizen).await;
    until(&mut officer, |message| match message {
        ServerMessage::ConnectionRequested { .. } => Some(()),
        _other => None,
    })
    .await;
    assert!(queued_pushes(&node, 0).await.is_empty());
    citizen.send(ClientMessage::CancelRequest(crate::proto::CancelRequest {
        request_id: first_request,
    }));
    state_of(&mut citizen).await;

    // The app goes to the background (socket gone, window kept in grace):
    // another citizen's request is pushed, and so is the window's end.
    officer.inbox.detach();
    let mut second = node.connect(Role::Citizen, "Bea").await;
    second.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut second).await;
    request(&second, &handle);
    assert_eq!(state_of(&mut second).await.1, RequestState::Pending);
    assert_eq!(queued_pushes(&node, 1).await, vec!["connection_requested"]);
    tokio::time::sleep(Duration::from_secs(31)).await;
    let mut kinds = queued_pushes(&node, 2).await;
    kinds.sort();
    assert_eq!(kinds, vec!["availability_ended", "connection_requested"]);
}
