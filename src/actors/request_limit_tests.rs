//! The per-citizen request limits and officers' blocks through the real actors,
//! with tokio's clock paused: the cooldown after a request ends, the hourly cap,
//! and `block`, each surviving a reconnect.

use std::time::Duration;

use super::tests::{
    Client, Node, TIMES_SQUARE, available_officer, config, node_with, north_of_times_square,
};
use crate::config::ConnectionsConfig;
use crate::domain::Role;
use crate::proto::{
    Block, CancelRequest, ClientMessage, ErrorCode, RequestConnection, RequestState, ServerMessage,
};

/// Renews the officer's window (windows last 15 minutes; these tests span hours).
async fn renew(officer: &mut Client) {
    officer.go_available(15);
    for _ in 0..20 {
        if let ServerMessage::Availability { .. } = officer.next_message().await {
            return;
        }
    }
    panic!("the window was not renewed");
}

/// What a citizen's `request_connection` was answered with.
#[derive(Debug, PartialEq)]
enum Answer {
    /// A `request_update`.
    State(uuid::Uuid, RequestState),
    /// An `error`.
    Error(ErrorCode),
}

/// The answer to the citizen's last request (presence pushes skipped).
async fn answer(citizen: &mut Client) -> Answer {
    for _ in 0..20 {
        match citizen.next_message().await {
            ServerMessage::RequestUpdate {
                request_id, state, ..
            } => return Answer::State(request_id, state),
            ServerMessage::Error { code, .. } => return Answer::Error(code),
            _presence => {}
        }
    }
    panic!("the request was not answered");
}

/// The handle of the officer the citizen is shown.
async fn shown_handle(citizen: &mut Client) -> String {
    for _ in 0..20 {
        if let ServerMessage::Nearest {
            officer: Some(officer),
        } = citizen.next_message().await
        {
            return officer.handle.to_string();
        }
    }
    panic!("no officer shown");
}

fn request(citizen: &Client, handle: &str, op_id: &str) {
    citizen.send(ClientMessage::RequestConnection(RequestConnection {
        officer: handle.to_owned(),
        op_id: op_id.to_owned(),
        mode: crate::domain::connection::ConnectionMode::InPerson,
    }));
}

fn cancel(citizen: &Client, request_id: uuid::Uuid) {
    citizen.send(ClientMessage::CancelRequest(CancelRequest { request_id }));
}

/// A node with an officer near Times Square and a citizen who sees it.
async fn scene(connections: ConnectionsConfig) -> (Node, Client, Client, String) {
    let mut node = node_with(config(), connections).await;
    let officer = available_officer(&mut node, north_of_times_square(50.0)).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut citizen).await;
    (node, officer, citizen, handle)
}

#[tokio::test(start_paused = true)]
async fn asking_the_same_officer_again_waits_for_the_cooldown() {
    let (mut node, _officer, mut citizen, handle) = scene(ConnectionsConfig::default()).await;
    request(&citizen, &handle, "op-1");
    let Answer::State(request_id, RequestState::Pending) = answer(&mut citizen).await else {
        panic!("the first request is admitted");
    };
    cancel(&citizen, request_id);
    assert_eq!(
        answer(&mut citizen).await,
        Answer::State(request_id, RequestState::Cancelled)
    );
    request(&citizen, &handle, "op-2");
    assert_eq!(
        answer(&mut citizen).await,
        Answer::Error(ErrorCode::RequestCooldown)
    );
    // A reconnect does not reset it.
    citizen.inbox.detach();
    let mut citizen = node.connect_as(citizen.account_id, Role::Citizen).await;
    tokio::time::advance(Duration::from_secs(590)).await;
    citizen.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut citizen).await;
    request(&citizen, &handle, "op-3");
    assert_eq!(
        answer(&mut citizen).await,
        Answer::Error(ErrorCode::RequestCooldown)
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    request(&citizen, &handle, "op-4");
    assert!(matches!(
        answer(&mut citizen).await,
        Answer::State(_, RequestState::Pending)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_citizen_may_ask_so_many_times_an_hour() {
    let (_node, mut officer, mut citizen, handle) = scene(ConnectionsConfig {
        max_requests_per_hour: 3,
        request_cooldown_seconds: 0,
        ..ConnectionsConfig::default()
    })
    .await;
    for attempt in 0..3 {
        request(&citizen, &handle, &format!("op-{attempt}"));
        let Answer::State(request_id, RequestState::Pending) = answer(&mut citizen).await else {
            panic!("request {attempt} is admitted");
        };
        cancel(&citizen, request_id);
        assert_eq!(
            answer(&mut citizen).await,
            Answer::State(request_id, RequestState::Cancelled)
        );
        tokio::time::advance(Duration::from_secs(60)).await;
    }
    request(&citizen, &handle, "op-3");
    assert_eq!(
        answer(&mut citizen).await,
        Answer::Error(ErrorCode::RequestLimit)
    );
    // An hour after the first request, one more is allowed.
    tokio::time::advance(Duration::from_secs(3_600 - 180)).await;
    renew(&mut officer).await;
    citizen.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut citizen).await;
    request(&citizen, &handle, "op-4");
    assert!(matches!(
        answer(&mut citizen).await,
        Answer::State(_, RequestState::Pending)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_blocked_citizen_finds_the_officer_unavailable_for_a_day() {
    let (mut node, mut officer, mut citizen, handle) = scene(ConnectionsConfig::default()).await;
    request(&citizen, &handle, "op-1");
    let Answer::State(request_id, RequestState::Pending) = answer(&mut citizen).await else {
        panic!("the request is admitted");
    };
    officer.send(ClientMessage::Block(Block { request_id }));
    let mut blocked_until = None;
    for _ in 0..20 {
        if let ServerMessage::CitizenBlocked {
            request_id: blocked,
            until_ms,
        } = officer.next_message().await
        {
            assert_eq!(blocked, request_id);
            blocked_until = Some(until_ms);
            break;
        }
    }
    assert!(blocked_until.is_some(), "the officer is told");
    assert_eq!(
        answer(&mut citizen).await,
        Answer::State(request_id, RequestState::Declined),
        "the pending request is declined"
    );
    // Past the cooldown, and after a reconnect, the officer is still unavailable
    // to this citizen — and only to this one.
    tokio::time::advance(Duration::from_secs(3_600)).await;
    renew(&mut officer).await;
    citizen.inbox.detach();
    let mut citizen = node.connect_as(citizen.account_id, Role::Citizen).await;
    citizen.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut citizen).await;
    request(&citizen, &handle, "op-2");
    assert!(matches!(
        answer(&mut citizen).await,
        Answer::State(_, RequestState::OfficerUnavailable)
    ));
    let mut other = node.connect(Role::Citizen, "Bea").await;
    other.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut other).await;
    request(&other, &handle, "op-1");
    assert!(matches!(
        answer(&mut other).await,
        Answer::State(_, RequestState::Pending)
    ));
    // A day after the block, the citizen may ask again.
    tokio::time::advance(Duration::from_secs(23 * 3_600 + 1)).await;
    renew(&mut officer).await;
    citizen.locate(TIMES_SQUARE);
    let handle = shown_handle(&mut citizen).await;
    request(&citizen, &handle, "op-3");
    assert!(matches!(
        answer(&mut citizen).await,
        Answer::State(_, RequestState::Pending)
    ));
}

#[tokio::test(start_paused = true)]
async fn only_the_officer_asked_can_block_and_citizens_cannot() {
    let (mut node, _officer, mut citizen, handle) = scene(ConnectionsConfig::default()).await;
    request(&citizen, &handle, "op-1");
    let Answer::State(request_id, RequestState::Pending) = answer(&mut citizen).await else {
        panic!("the request is admitted");
    };
    citizen.send(ClientMessage::Block(Block { request_id }));
    assert_eq!(
        answer(&mut citizen).await,
        Answer::Error(ErrorCode::Forbidden)
    );
    let mut stranger = available_officer(&mut node, north_of_times_square(3_000.0)).await;
    stranger.send(ClientMessage::Block(Block { request_id }));
    for _ in 0..20 {
        match stranger.next_message().await {
            ServerMessage::Error { code, .. } => {
                assert_eq!(code, ErrorCode::UnknownRequest);
                break;
            }
            ServerMessage::CitizenBlocked { .. } => panic!("another officer blocked"),
            _other => {}
        }
    }
    // The request is still pending: only the officer asked can end it.
    assert_eq!(node.runtime.stats().await.pending_requests, 1);
}
