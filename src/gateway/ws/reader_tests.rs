//! The reader loop: delivery in order, error answers in the client's format, the
//! control-message limit, the error budget, location coalescing, the heartbeat and
//! idle timeout, and how each way of ending closes the socket and detaches once.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::Message;
use serde_json::json;

use super::outcome::SocketEnd;
use super::socket::CLOSE_LINGER;
use super::test_support::{
    GOOD_TOKEN, Harness, OTHER_ACCOUNT_TOKEN, RENEWED_TOKEN, START_MS, caller,
};
use crate::proto::limits::{CONTROL_MESSAGES_PER_MINUTE, ERRORS_PER_MINUTE_BEFORE_CLOSE};
use crate::proto::{ClientMessage, CloseCode, GoAvailable, ServerMessage, WireFormat};

fn location(seq: u64) -> serde_json::Value {
    json!({"t": "location", "lat": 40.7, "lng": -74.0, "seq": seq})
}

fn seq_of(message: &ClientMessage) -> Option<u64> {
    match message {
        ClientMessage::Location(update) => update.seq,
        other => panic!("expected a location, got {other:?}"),
    }
}

/// Lets a minute pass, with a pong halfway so the idle timeout does not fire.
async fn wait_a_minute(socket: &mut Harness) {
    tokio::time::sleep(Duration::from_secs(30)).await;
    socket.send(Message::Pong(Vec::new().into())).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
}

#[tokio::test(start_paused = true)]
async fn messages_reach_the_session_in_order() {
    let mut socket = Harness::attached().await;
    socket
        .send_json(json!({"t": "go_available", "minutes": 5}))
        .await;
    socket.send_msgpack(json!({"t": "ping"})).await;
    socket.send_json(json!({"t": "go_unavailable"})).await;
    assert_eq!(
        socket.delivered.recv().await,
        Some(ClientMessage::GoAvailable(GoAvailable { minutes: Some(5) }))
    );
    assert_eq!(socket.delivered.recv().await, Some(ClientMessage::Ping));
    assert_eq!(
        socket.delivered.recv().await,
        Some(ClientMessage::GoUnavailable)
    );
}

#[tokio::test(start_paused = true)]
async fn a_bad_frame_is_answered_and_the_session_goes_on() {
    let mut socket = Harness::attached().await;
    socket.send(Message::Text("{\"t\":\"ping\"".into())).await;
    assert_eq!(socket.next_error_code().await, "malformed_frame");
    let oversized = format!("{{\"t\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(20 * 1024));
    socket.send(Message::Text(oversized.into())).await;
    assert_eq!(socket.next_error_code().await, "frame_too_large");
    socket
        .send_json(json!({"t": "hello", "token": GOOD_TOKEN}))
        .await;
    assert_eq!(socket.next_error_code().await, "already_authenticated");
    socket.send_json(json!({"t": "ping"})).await;
    assert_eq!(socket.delivered.recv().await, Some(ClientMessage::Ping));
    assert!(
        socket.nothing_delivered(),
        "refused frames never reach the session"
    );
}

#[tokio::test(start_paused = true)]
async fn answers_and_pushes_follow_the_format_of_the_latest_frame() {
    let mut socket = Harness::attached().await;
    socket.send(Message::Binary(vec![0xc1].into())).await;
    let (format, answer) = socket.next_message_with_format().await;
    assert_eq!(format, WireFormat::MessagePack);
    assert!(matches!(answer, ServerMessage::Error { .. }), "{answer:?}");
    socket.push(ServerMessage::Pong).unwrap();
    assert_eq!(
        socket.next_message_with_format().await,
        (WireFormat::MessagePack, ServerMessage::Pong)
    );
    socket.send_json(json!({"t": "ping"})).await;
    socket.delivered.recv().await;
    socket.push(ServerMessage::Pong).unwrap();
    assert_eq!(
        socket.next_message_with_format().await,
        (WireFormat::Json, ServerMessage::Pong)
    );
}

#[tokio::test(start_paused = true)]
async fn locations_are_coalesced_to_one_per_second() {
    let mut socket = Harness::attached().await;
    let started = tokio::time::Instant::now();
    socket.send_json(location(1)).await;
    let first = socket.delivered.recv().await.unwrap();
    assert_eq!(seq_of(&first), Some(1));
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "the first goes through at once"
    );
    for seq in 2..=5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        socket.send_json(location(seq)).await;
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(socket.nothing_delivered(), "later ones wait");
    let latest = socket.delivered.recv().await.unwrap();
    assert_eq!(seq_of(&latest), Some(5), "only the newest is delivered");
    assert_eq!(started.elapsed(), Duration::from_millis(1000));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(socket.nothing_delivered(), "the replaced ones are dropped");
    socket.send_json(location(6)).await;
    assert_eq!(seq_of(&socket.delivered.recv().await.unwrap()), Some(6));
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(6_000),
        "after a pause: at once"
    );
}

#[tokio::test(start_paused = true)]
async fn control_messages_beyond_the_limit_are_rate_limited() {
    let mut socket = Harness::attached().await;
    for _ in 0..CONTROL_MESSAGES_PER_MINUTE {
        socket.send_json(json!({"t": "go_unavailable"})).await;
    }
    for _ in 0..CONTROL_MESSAGES_PER_MINUTE {
        assert_eq!(
            socket.delivered.recv().await,
            Some(ClientMessage::GoUnavailable)
        );
    }
    socket.send_json(json!({"t": "go_unavailable"})).await;
    assert_eq!(socket.next_error_code().await, "rate_limited");
    socket.send_json(location(1)).await;
    assert_eq!(
        seq_of(&socket.delivered.recv().await.unwrap()),
        Some(1),
        "locations are not control messages"
    );
    wait_a_minute(&mut socket).await;
    socket.send_json(json!({"t": "go_unavailable"})).await;
    assert_eq!(
        socket.delivered.recv().await,
        Some(ClientMessage::GoUnavailable)
    );
}

#[tokio::test(start_paused = true)]
async fn too_many_errors_in_a_minute_close_with_4008() {
    let mut socket = Harness::attached().await;
    for _ in 0..ERRORS_PER_MINUTE_BEFORE_CLOSE {
        socket.send(Message::Text("nope".into())).await;
        assert_eq!(socket.next_error_code().await, "malformed_frame");
    }
    socket.send(Message::Text("nope".into())).await;
    assert_eq!(
        socket.next_close().await,
        (4008, "policy_violation".to_owned())
    );
    assert_eq!(
        socket.end().await,
        SocketEnd::Server(CloseCode::PolicyViolation)
    );
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_error_budget_is_per_minute() {
    let mut socket = Harness::attached().await;
    for _ in 0..ERRORS_PER_MINUTE_BEFORE_CLOSE {
        socket.send(Message::Text("nope".into())).await;
        assert_eq!(socket.next_error_code().await, "malformed_frame");
    }
    wait_a_minute(&mut socket).await;
    socket.send(Message::Text("nope".into())).await;
    assert_eq!(socket.next_error_code().await, "malformed_frame");
}

#[tokio::test(start_paused = true)]
async fn pings_every_twenty_seconds_and_closes_after_sixty_silent() {
    let mut socket = Harness::attached().await;
    assert!(matches!(socket.next_frame().await, Some(Message::Ping(_))));
    assert_eq!(socket.elapsed_ms(), 20_000);
    assert!(matches!(socket.next_frame().await, Some(Message::Ping(_))));
    assert_eq!(socket.elapsed_ms(), 40_000);
    assert_eq!(
        socket.next_close().await,
        (4004, "heartbeat_timeout".to_owned())
    );
    assert_eq!(socket.elapsed_ms(), 60_000);
    assert_eq!(
        socket.end().await,
        SocketEnd::Server(CloseCode::HeartbeatTimeout)
    );
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn any_frame_from_the_client_counts_as_traffic() {
    let mut socket = Harness::attached().await;
    tokio::time::sleep(Duration::from_secs(50)).await;
    socket.send(Message::Pong(Vec::new().into())).await;
    assert_eq!(socket.next_close().await.0, 4004);
    assert_eq!(socket.elapsed_ms(), 110_000);
}

#[tokio::test(start_paused = true)]
async fn a_gone_session_closes_with_1001() {
    let mut socket = Harness::attached().await;
    socket.probe.gone.store(true, Ordering::SeqCst);
    socket.send_json(json!({"t": "go_unavailable"})).await;
    assert_eq!(socket.next_close().await.0, 1001);
    assert_eq!(socket.end().await, SocketEnd::Server(CloseCode::GoingAway));
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_close_ends_the_socket_and_the_writer() {
    let mut socket = Harness::attached().await;
    socket.send(Message::Close(None)).await;
    assert_eq!(socket.end().await, SocketEnd::ClientClosed);
    assert!(
        socket.next_frame().await.is_none(),
        "the writer let go of the sink"
    );
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_lost_connection_ends_the_socket_and_the_writer() {
    let mut socket = Harness::attached().await;
    socket.client.close_channel();
    assert_eq!(socket.end().await, SocketEnd::ConnectionLost);
    assert!(socket.next_frame().await.is_none());
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_read_error_ends_the_socket() {
    let mut socket = Harness::attached().await;
    socket
        .fail_read(axum::Error::new(std::io::Error::other("connection reset")))
        .await;
    assert_eq!(socket.end().await, SocketEnd::ConnectionLost);
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_message_over_the_transport_cap_closes_with_1009() {
    let mut socket = Harness::attached().await;
    let too_long = std::io::Error::other("Space limit exceeded: Message too long: 70000 > 65536");
    socket.fail_read(axum::Error::new(too_long)).await;
    assert_eq!(
        socket.next_close().await,
        (1009, "message_too_big".to_owned())
    );
    assert_eq!(
        socket.end().await,
        SocketEnd::Server(CloseCode::MessageTooBig)
    );
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_with_1001() {
    let mut socket = Harness::attached().await;
    socket.shutdown.cancel();
    assert_eq!(socket.next_close().await, (1001, "going_away".to_owned()));
    assert_eq!(socket.end().await, SocketEnd::Server(CloseCode::GoingAway));
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_close_requested_by_the_session_ends_the_socket() {
    let mut socket = Harness::attached().await;
    socket.outbound().close(CloseCode::Replaced);
    assert_eq!(socket.next_close().await, (4003, "replaced".to_owned()));
    assert_eq!(socket.end().await, SocketEnd::Server(CloseCode::Replaced));
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn after_a_server_close_the_socket_waits_briefly_for_the_reply() {
    let mut socket = Harness::attached().await;
    socket.shutdown.cancel();
    assert_eq!(socket.next_close().await.0, 1001);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!socket.socket.is_finished(), "waiting for the close reply");
    socket.send(Message::Close(None)).await;
    assert_eq!(socket.end().await, SocketEnd::Server(CloseCode::GoingAway));
    assert_eq!(socket.elapsed_ms(), 500);
}

#[tokio::test(start_paused = true)]
async fn without_a_reply_the_socket_lets_go_after_the_linger() {
    let mut socket = Harness::attached().await;
    socket.shutdown.cancel();
    assert_eq!(socket.next_close().await.0, 1001);
    socket.end().await;
    assert_eq!(socket.elapsed_ms(), CLOSE_LINGER.as_millis());
}

/// Keeps the socket alive (a pong every 30 s) for `minutes`.
async fn stay_alive(socket: &mut Harness, minutes: u64) {
    for _ in 0..minutes * 2 {
        tokio::time::sleep(Duration::from_secs(30)).await;
        socket.send(Message::Pong(Vec::new().into())).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_socket_is_told_before_its_token_expires_and_closed_at_expiry() {
    let mut socket = Harness::attached().await;
    let expires_at_ms = caller().expires_at_ms;
    assert_eq!(expires_at_ms, START_MS + 3_600_000);
    stay_alive(&mut socket, 58).await;
    assert!(socket.nothing_delivered());
    stay_alive(&mut socket, 1).await;
    assert_eq!(
        socket.next_message().await,
        ServerMessage::TokenExpiring { expires_at_ms },
        "60 s before expiry"
    );
    stay_alive(&mut socket, 1).await;
    assert_eq!(
        socket.next_close().await,
        (4012, "token_expired".to_owned())
    );
    assert_eq!(
        socket.end().await,
        SocketEnd::Server(CloseCode::TokenExpired)
    );
}

#[tokio::test(start_paused = true)]
async fn reauth_with_a_fresh_token_of_the_same_sign_in_keeps_the_socket() {
    let mut socket = Harness::attached().await;
    socket
        .send_json(json!({"t": "reauth", "token": RENEWED_TOKEN}))
        .await;
    let renewed_until = caller().expires_at_ms + 3_600_000;
    assert_eq!(
        socket.next_message().await,
        ServerMessage::Reauthenticated {
            expires_at_ms: renewed_until
        }
    );
    stay_alive(&mut socket, 61).await;
    socket.send_json(json!({"t": "ping"})).await;
    assert_eq!(
        socket.delivered.recv().await,
        Some(ClientMessage::Ping),
        "still open past the first token's expiry"
    );
    stay_alive(&mut socket, 58).await;
    assert_eq!(
        socket.next_message().await,
        ServerMessage::TokenExpiring {
            expires_at_ms: renewed_until
        }
    );
}

#[tokio::test(start_paused = true)]
async fn reauth_with_another_account_s_or_an_older_token_changes_nothing() {
    let mut socket = Harness::attached().await;
    for token in [OTHER_ACCOUNT_TOKEN, GOOD_TOKEN, "hbat_unknown"] {
        socket
            .send_json(json!({"t": "reauth", "token": token}))
            .await;
        assert_eq!(socket.next_error_code().await, "reauth_failed", "{token}");
    }
    stay_alive(&mut socket, 60).await;
    assert_eq!(
        socket.next_message().await,
        ServerMessage::TokenExpiring {
            expires_at_ms: caller().expires_at_ms
        }
    );
    assert_eq!(
        socket.next_close().await,
        (4012, "token_expired".to_owned())
    );
}
