//! The writer side: a client that does not read (full queue → 4009, stuck write →
//! the socket ends), and a socket task dropped mid-way still detaching once and
//! taking its writer with it.

use std::time::Duration;

use axum::extract::ws::Message;

use super::outcome::SocketEnd;
use super::test_support::{Harness, Options};
use super::writer::SEND_TIMEOUT;
use crate::presence::outbound::{OUTBOUND_QUEUE_CAPACITY, OutboundError};
use crate::proto::{CloseCode, ServerMessage};

/// A socket whose client reads nothing: the sink holds one frame (`welcome`), so
/// the writer blocks on its first message.
async fn unread_socket() -> Harness {
    let socket = Harness::start(Options {
        sink_capacity: 0,
        ..Options::default()
    });
    // Let the socket attach, write `welcome` and start its writer.
    tokio::time::sleep(Duration::from_millis(1)).await;
    socket
}

#[tokio::test(start_paused = true)]
async fn a_full_outbound_queue_closes_with_4009() {
    let mut socket = unread_socket().await;
    let mut queued = 0;
    let refused = loop {
        match socket.push(ServerMessage::Pong) {
            Ok(()) => queued += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(refused, OutboundError::Full);
    assert!(queued >= OUTBOUND_QUEUE_CAPACITY, "{queued}");
    assert!(matches!(
        socket.next_message().await,
        ServerMessage::Welcome { .. }
    ));
    let mut written_before_close = 0;
    let close = loop {
        match socket.next_frame().await {
            Some(Message::Text(_)) => written_before_close += 1,
            Some(Message::Close(Some(frame))) => break frame,
            other => panic!("unexpected frame {other:?}"),
        }
    };
    assert_eq!((close.code, close.reason.as_str()), (4009, "slow_consumer"));
    assert!(written_before_close < queued, "the close jumps the queue");
    assert_eq!(
        socket.end().await,
        SocketEnd::Server(CloseCode::SlowConsumer)
    );
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_write_stuck_for_the_send_timeout_ends_the_socket() {
    let mut socket = unread_socket().await;
    socket.push(ServerMessage::Pong).unwrap();
    assert_eq!(socket.end().await, SocketEnd::ConnectionLost);
    let send_timeout_ms = SEND_TIMEOUT.as_millis();
    // The write started 1 ms in; timers have millisecond granularity.
    assert!((send_timeout_ms..=send_timeout_ms + 1).contains(&socket.elapsed_ms()));
    assert_eq!(socket.detach_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_socket_task_detaches_once_and_stops_its_writer() {
    let mut socket = Harness::attached().await;
    socket.socket.abort();
    assert!((&mut socket.socket).await.unwrap_err().is_cancelled());
    assert_eq!(socket.detach_calls(), 1);
    assert!(
        socket.next_frame().await.is_none(),
        "the writer is gone with its sink"
    );
    assert_eq!(socket.detach_calls(), 1);
}
