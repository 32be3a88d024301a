//! The link on its own: the order the writer sees, the burst bound on
//! `nearest` answers, and closes that get through.

use super::*;
use crate::proto::OfficerView;

/// A `nearest` answer naming an officer `band_m` metres away.
fn nearest(band_m: u32) -> ServerMessage {
    ServerMessage::Nearest {
        officer: Some(OfficerView {
            handle: Arc::from("officer"),
            display_name: Arc::from("Officer"),
            approx_lat: 40.0,
            approx_lng: -74.0,
            distance_band_m: band_m,
            available_until_ms: 0,
        }),
    }
}

fn ordinary(until_ms: i64) -> ServerMessage {
    ServerMessage::Availability { until_ms }
}

/// Everything the writer would take now, in order, up to and including a close
/// (after which the writer stops).
fn drain(receiver: &OutboundReceiver) -> Vec<Outbound> {
    let mut taken = Vec::new();
    while let Some(Some(next)) = receiver.try_next() {
        let closes = matches!(next, Outbound::Close(_));
        taken.push(next);
        if closes {
            break;
        }
    }
    taken
}

#[test]
fn every_answer_of_a_burst_reaches_the_writer_in_order() {
    let (sender, receiver) = outbound_channel(1);
    for band_m in [100, 200, 300] {
        sender.send_nearest(nearest(band_m)).unwrap();
    }
    assert_eq!(
        drain(&receiver),
        [100, 200, 300].map(|band| Outbound::Message(nearest(band)))
    );
}

#[test]
fn a_slow_reader_holds_a_bounded_burst_ending_with_the_newest_answer() {
    let (sender, receiver) = outbound_channel(2);
    for band_m in 1..=10 {
        sender.send_nearest(nearest(band_m * 100)).unwrap();
    }
    let expected: Vec<Outbound> = [100, 200, 300, 1_000]
        .map(|band| Outbound::Message(nearest(band)))
        .into();
    assert_eq!(expected.len(), NEAREST_BURST);
    assert_eq!(drain(&receiver), expected);
}

#[test]
fn answers_go_before_ordinary_messages_and_a_close_comes_last() {
    let (sender, receiver) = outbound_channel(3);
    sender.send(ordinary(1)).unwrap();
    sender.send_nearest(nearest(100)).unwrap();
    sender.close(CloseCode::GoingAway);
    assert_eq!(
        drain(&receiver),
        [
            Outbound::Message(ordinary(1)),
            Outbound::Close(CloseCode::GoingAway)
        ],
        "once a close is asked for, queued messages still go out, then the close"
    );
    let (sender, receiver) = outbound_channel(4);
    sender.send(ordinary(1)).unwrap();
    sender.send_nearest(nearest(100)).unwrap();
    assert_eq!(
        drain(&receiver),
        [
            Outbound::Message(nearest(100)),
            Outbound::Message(ordinary(1))
        ]
    );
}

#[test]
fn a_full_queue_closes_the_socket_as_too_slow() {
    let (sender, receiver) = outbound_channel(5);
    for until_ms in 0..OUTBOUND_QUEUE_CAPACITY {
        sender.send(ordinary(until_ms as i64)).unwrap();
    }
    assert_eq!(sender.send(ordinary(-1)), Err(OutboundError::Full));
    assert_eq!(
        drain(&receiver),
        [Outbound::Close(CloseCode::SlowConsumer)],
        "a client too slow to read is not sent the backlog"
    );
}

#[test]
fn nothing_is_accepted_once_the_writer_is_gone() {
    let (sender, receiver) = outbound_channel(6);
    drop(receiver);
    assert_eq!(
        sender.send_nearest(nearest(100)),
        Err(OutboundError::Closed)
    );
    assert_eq!(sender.send(ordinary(1)), Err(OutboundError::Closed));
}
