//! The connection request state machine through the real actors with tokio's
//! clock paused: the 60 s timeout, a request that survives a citizen's
//! reconnect, and an accept that credits both sides.

use std::time::Duration;

use super::tests::{Client, TIMES_SQUARE, available_officer, config, node, north_of_times_square};
use crate::domain::Role;
use crate::proto::{ClientMessage, RequestConnection, RequestState, Respond, ServerMessage};

/// Reads messages until `pick` accepts one (skipping presence pushes).
async fn until<T>(client: &mut Client, pick: impl Fn(ServerMessage) -> Option<T>) -> T {
    for _ in 0..20 {
        if let Some(found) = pick(client.next_message().await) {
            return found;
        }
    }
    panic!("the expected message did not arrive");
}

async fn state_of(client: &mut Client) -> (uuid::Uuid, RequestState) {
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
