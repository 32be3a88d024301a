//! The start of a socket: header and `hello` authentication, the hello deadline,
//! attach failures, and `welcome` coming first in the right format.

use std::time::Duration;

use axum::extract::ws::Message;
use serde_json::json;

use super::outcome::SocketEnd;
use super::test_support::{GOOD_TOKEN, Harness, Options, START_MS, STORE_DOWN_TOKEN, caller};
use crate::proto::{CloseCode, ServerMessage, WireFormat};

fn awaiting_hello() -> Options {
    Options {
        header_auth: false,
        ..Options::default()
    }
}

#[tokio::test(start_paused = true)]
async fn no_hello_within_five_seconds_closes_with_4002() {
    let mut socket = Harness::start(awaiting_hello());
    assert_eq!(socket.next_close().await, (4002, "auth_timeout".to_owned()));
    assert_eq!(socket.elapsed_ms(), 5_000);
    assert_eq!(
        socket.end().await,
        SocketEnd::Server(CloseCode::AuthTimeout)
    );
    assert_eq!(socket.attach_calls(), 0);
    assert_eq!(socket.detach_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn websocket_pings_are_not_the_first_frame() {
    let mut socket = Harness::start(awaiting_hello());
    tokio::time::sleep(Duration::from_secs(4)).await;
    socket.send(Message::Ping(Vec::new().into())).await;
    socket.send(Message::Pong(Vec::new().into())).await;
    socket
        .send_json(json!({"t": "hello", "token": GOOD_TOKEN}))
        .await;
    assert!(matches!(
        socket.next_message().await,
        ServerMessage::Welcome { .. }
    ));
    assert_eq!(socket.elapsed_ms(), 4_000);
}

#[tokio::test(start_paused = true)]
async fn hello_with_a_bad_token_closes_with_4001() {
    let mut socket = Harness::start(awaiting_hello());
    socket
        .send_json(json!({"t": "hello", "token": "hbat_unknown"}))
        .await;
    assert_eq!(socket.next_close().await, (4001, "unauthorized".to_owned()));
    assert_eq!(
        socket.end().await,
        SocketEnd::Server(CloseCode::Unauthorized)
    );
    assert_eq!(socket.attach_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_first_frame_other_than_hello_is_refused_then_closed_with_4001() {
    let mut socket = Harness::start(awaiting_hello());
    socket.send_json(json!({"t": "go_unavailable"})).await;
    assert_eq!(socket.next_error_code().await, "not_authenticated");
    assert_eq!(socket.next_close().await.0, 4001);
    assert_eq!(
        socket.end().await,
        SocketEnd::Server(CloseCode::Unauthorized)
    );
}

#[tokio::test(start_paused = true)]
async fn an_invalid_first_frame_gets_its_decode_error_then_4001() {
    let mut socket = Harness::start(awaiting_hello());
    socket.send_json(json!({"t": "hello"})).await;
    assert_eq!(socket.next_error_code().await, "missing_field");
    assert_eq!(socket.next_close().await.0, 4001);
}

#[tokio::test(start_paused = true)]
async fn store_down_during_hello_closes_with_1001() {
    let mut socket = Harness::start(awaiting_hello());
    socket
        .send_json(json!({"t": "hello", "token": STORE_DOWN_TOKEN}))
        .await;
    assert_eq!(socket.next_close().await, (1001, "going_away".to_owned()));
    assert_eq!(socket.end().await, SocketEnd::Server(CloseCode::GoingAway));
}

#[tokio::test(start_paused = true)]
async fn shutdown_before_hello_closes_with_1001() {
    let mut socket = Harness::start(awaiting_hello());
    tokio::time::sleep(Duration::from_secs(1)).await;
    socket.shutdown.cancel();
    assert_eq!(socket.next_close().await.0, 1001);
    assert_eq!(socket.elapsed_ms(), 1_000);
}

#[tokio::test(start_paused = true)]
async fn client_leaving_before_hello_ends_quietly() {
    let mut socket = Harness::start(awaiting_hello());
    socket.send(Message::Close(None)).await;
    assert_eq!(socket.end().await, SocketEnd::ClientClosed);
    assert!(socket.next_frame().await.is_none(), "nothing written");
}

#[tokio::test(start_paused = true)]
async fn binary_hello_is_welcomed_in_message_pack() {
    let mut socket = Harness::start(awaiting_hello());
    socket
        .send_msgpack(json!({"t": "hello", "token": GOOD_TOKEN}))
        .await;
    let (format, welcome) = socket.next_message_with_format().await;
    assert_eq!(format, WireFormat::MessagePack);
    assert_eq!(
        welcome,
        ServerMessage::Welcome {
            account_id: caller().account_id,
            role: caller().role,
            server_time_ms: START_MS,
            location_interval_ms: 1000,
        }
    );
    assert_eq!(socket.attach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn welcome_precedes_pushes_and_uses_the_subprotocol_format() {
    let nearest = ServerMessage::Nearest { officer: None };
    let mut socket = Harness::start(Options {
        initial_format: WireFormat::MessagePack,
        pushes_on_attach: vec![nearest.clone()],
        ..Options::default()
    });
    let (format, welcome) = socket.next_message_with_format().await;
    assert_eq!(format, WireFormat::MessagePack);
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    assert_eq!(
        socket.next_message_with_format().await,
        (WireFormat::MessagePack, nearest)
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_attach_closes_with_1001_without_detaching() {
    let mut socket = Harness::start(Options {
        refuse_attach: true,
        ..Options::default()
    });
    assert_eq!(socket.next_close().await, (1001, "going_away".to_owned()));
    assert_eq!(socket.end().await, SocketEnd::Server(CloseCode::GoingAway));
    assert_eq!(socket.attach_calls(), 1);
    assert_eq!(socket.detach_calls(), 0);
}
