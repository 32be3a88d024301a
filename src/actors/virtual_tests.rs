//! Virtual connections through the real actors on a paused clock: a request
//! out of in-person range is refused in person and admitted virtually, is
//! credited under the virtual rules, and opens a chat that only its two people
//! can write in, at a bounded rate per account, until either ends it.

use std::time::Duration;

use super::request_tests::{state_of, until};
use super::tests::{
    Client, Node, TIMES_SQUARE, available_officer, config, node_with, north_of_times_square,
};
use crate::config::ConnectionsConfig;
use crate::domain::Role;
use crate::domain::connection::ConnectionMode;
use crate::proto::{
    Chat, ChatText, ClientMessage, ConnectionEndReason, EndConnection, ErrorCode,
    RequestConnection, RequestState, Respond, ServerMessage,
};

/// The next error's code.
async fn error_code(client: &mut Client) -> ErrorCode {
    until(client, |message| match message {
        ServerMessage::Error { code, .. } => Some(code),
        _other => None,
    })
    .await
}

async fn chat_text(client: &mut Client) -> String {
    until(client, |message| match message {
        ServerMessage::Chat { text, .. } => Some(text.0),
        _other => None,
    })
    .await
}

fn ask(citizen: &Client, handle: &str, op_id: &str, mode: ConnectionMode) {
    citizen.send(ClientMessage::RequestConnection(RequestConnection {
        officer: handle.to_owned(),
        op_id: op_id.to_owned(),
        mode,
    }));
}

fn chat(client: &Client, connection_id: uuid::Uuid, text: &str) {
    client.send(ClientMessage::Chat(Chat {
        connection_id,
        text: ChatText(text.to_owned()),
    }));
}

/// An officer 3 km from a citizen (in sight, out of in-person range), a
/// virtual connection between them accepted, and its id.
async fn connected_pair(node: &mut Node) -> (Client, Client, uuid::Uuid) {
    let mut officer = available_officer(node, north_of_times_square(3_000.0)).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let handle = until(&mut citizen, |message| match message {
        ServerMessage::Nearest { officer } => officer.map(|view| view.handle.to_string()),
        _other => None,
    })
    .await;
    ask(&citizen, &handle, "in-person", ConnectionMode::InPerson);
    assert_eq!(
        state_of(&mut citizen).await.1,
        RequestState::OutOfRange,
        "in person, 3 km is still out of range"
    );
    ask(&citizen, &handle, "virtual", ConnectionMode::Virtual);
    let (request_id, state) = state_of(&mut citizen).await;
    assert_eq!(state, RequestState::Pending);
    let offered = until(&mut officer, |message| match message {
        ServerMessage::ConnectionRequested { request_id, .. } => Some(request_id),
        _other => None,
    })
    .await;
    assert_eq!(offered, request_id);
    officer.send(ClientMessage::Respond(Respond {
        request_id,
        accept: true,
    }));
    (officer, citizen, request_id)
}

fn chatty_config(chat_messages_per_minute: u32) -> ConnectionsConfig {
    ConnectionsConfig {
        chat_messages_per_minute,
        ..ConnectionsConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_virtual_connection_is_credited_under_its_own_rules() {
    let mut node = node_with(config(), chatty_config(20)).await;
    let (mut officer, mut citizen, request_id) = connected_pair(&mut node).await;
    let (connection_id, points, withheld, mode) = until(&mut citizen, |message| match message {
        ServerMessage::ConnectionEstablished {
            connection_id,
            points,
            withheld,
            mode,
            ..
        } => Some((connection_id, points, withheld, mode)),
        _other => None,
    })
    .await;
    assert_eq!(connection_id, request_id);
    assert_eq!(mode, ConnectionMode::Virtual);
    assert_eq!(
        (points, withheld),
        (5, None),
        "virtual points, though 3 km apart"
    );
    let balance = until(&mut officer, |message| match message {
        ServerMessage::Points { balance, .. } => Some(balance),
        _other => None,
    })
    .await;
    assert_eq!(balance, 5);
    let record = node
        .store
        .connection(connection_id)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(record.mode, ConnectionMode::Virtual);
}

#[tokio::test(start_paused = true)]
async fn chat_goes_only_between_the_two_and_is_rate_limited_per_account() {
    let mut node = node_with(config(), chatty_config(3)).await;
    let (mut officer, mut citizen, connection_id) = connected_pair(&mut node).await;
    until(&mut citizen, |message| match message {
        ServerMessage::ConnectionEstablished { .. } => Some(()),
        _other => None,
    })
    .await;
    chat(&citizen, connection_id, "hello officer");
    assert_eq!(chat_text(&mut officer).await, "hello officer");
    chat(&officer, connection_id, "hello Ada");
    assert_eq!(chat_text(&mut citizen).await, "hello Ada");

    // Someone else cannot write in it, nor end it.
    let mut stranger = node.connect(Role::Citizen, "Eve").await;
    chat(&stranger, connection_id, "let me in");
    assert_eq!(error_code(&mut stranger).await, ErrorCode::NotConnected);
    stranger.send(ClientMessage::EndConnection(EndConnection {
        connection_id,
    }));
    assert_eq!(error_code(&mut stranger).await, ErrorCode::NotConnected);
    officer.expect_silence().await;

    // Three a minute: the citizen's fourth is refused, and a new socket does
    // not reset the count.
    chat(&citizen, connection_id, "two");
    chat(&citizen, connection_id, "three");
    assert_eq!(chat_text(&mut officer).await, "two");
    assert_eq!(chat_text(&mut officer).await, "three");
    let mut citizen = node.connect_as(citizen.account_id, Role::Citizen).await;
    chat(&citizen, connection_id, "four");
    assert_eq!(error_code(&mut citizen).await, ErrorCode::ChatLimit);
    officer.expect_silence().await;
    tokio::time::sleep(Duration::from_secs(61)).await;
    chat(&citizen, connection_id, "a minute later");
    assert_eq!(chat_text(&mut officer).await, "a minute later");

    // Either side ends it; then nobody can write.
    officer.send(ClientMessage::EndConnection(EndConnection {
        connection_id,
    }));
    let ended = |message| match message {
        ServerMessage::ConnectionEnded { reason, .. } => Some(reason),
        _other => None,
    };
    assert_eq!(
        until(&mut officer, ended).await,
        ConnectionEndReason::EndedByYou
    );
    assert_eq!(
        until(&mut citizen, ended).await,
        ConnectionEndReason::EndedByPeer
    );
    chat(&citizen, connection_id, "still there?");
    assert_eq!(error_code(&mut citizen).await, ErrorCode::NotConnected);
}

#[tokio::test(start_paused = true)]
async fn an_in_person_connection_has_no_chat() {
    let mut node = node_with(config(), chatty_config(20)).await;
    let officer = available_officer(&mut node, north_of_times_square(200.0)).await;
    let mut citizen = node.connect(Role::Citizen, "Ada").await;
    citizen.locate(TIMES_SQUARE);
    let handle = until(&mut citizen, |message| match message {
        ServerMessage::Nearest { officer } => officer.map(|view| view.handle.to_string()),
        _other => None,
    })
    .await;
    ask(&citizen, &handle, "in-person", ConnectionMode::InPerson);
    let (request_id, _) = state_of(&mut citizen).await;
    officer.send(ClientMessage::Respond(Respond {
        request_id,
        accept: true,
    }));
    let (points, mode) = until(&mut citizen, |message| match message {
        ServerMessage::ConnectionEstablished { points, mode, .. } => Some((points, mode)),
        _other => None,
    })
    .await;
    assert_eq!((points, mode), (10, ConnectionMode::InPerson));
    chat(&citizen, request_id, "hello");
    assert_eq!(error_code(&mut citizen).await, ErrorCode::NotConnected);
}

#[tokio::test(start_paused = true)]
async fn a_virtual_chat_ends_when_its_time_is_up() {
    let mut node = node_with(config(), chatty_config(20)).await;
    let (mut officer, mut citizen, connection_id) = connected_pair(&mut node).await;
    until(&mut citizen, |message| match message {
        ServerMessage::ConnectionEstablished { .. } => Some(()),
        _other => None,
    })
    .await;
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    for person in [&mut citizen, &mut officer] {
        let reason = until(person, |message| match message {
            ServerMessage::ConnectionEnded { reason, .. } => Some(reason),
            _other => None,
        })
        .await;
        assert_eq!(reason, ConnectionEndReason::TimeLimit);
    }
    chat(&officer, connection_id, "anyone?");
    assert_eq!(error_code(&mut officer).await, ErrorCode::NotConnected);
}
