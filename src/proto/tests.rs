//! Codec tests: samples of every message, round trips in both formats, the type-name
//! and close-code tables, and the helpers the sibling test files share
//! (`decode_error_tests` for each error code, `fuzz_tests` for no-panic properties).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use uuid::Uuid;

use super::wire_value::{FieldErrorKind, WireValue};
use super::*;
use crate::domain::{AccountId, Role};

/// The serde names of every variant of `T`, read from the "unknown variant" error
/// serde's derive raises for `probe` (an enum tag nobody uses). This is how tests
/// know *all* variants without a hand-kept list.
pub(super) fn serde_variant_names<T: DeserializeOwned>(
    probe: WireValue<'static>,
) -> &'static [&'static str] {
    match T::deserialize(probe) {
        Err(error) => match error.kind() {
            FieldErrorKind::UnknownVariant { expected, .. } => expected,
            FieldErrorKind::Missing | FieldErrorKind::Invalid { .. } => {
                panic!("probe gave {error} instead of an unknown variant")
            }
        },
        Ok(_) => panic!("probe decoded"),
    }
}

const PROBE: &str = "\u{1}no such variant";

/// Tags of every `ClientMessage` variant.
pub(super) fn client_type_names() -> &'static [&'static str] {
    serde_variant_names::<ClientMessageType>(WireValue::Str(PROBE.into()))
}

/// Tags of every `ServerMessage` variant.
pub(super) fn server_type_names() -> &'static [&'static str] {
    serde_variant_names::<ServerMessage>(WireValue::Map(vec![(
        TYPE_TAG.into(),
        WireValue::Str(PROBE.into()),
    )]))
}

/// Every error code.
pub(super) fn error_code_names() -> &'static [&'static str] {
    serde_variant_names::<ErrorCode>(WireValue::Str(PROBE.into()))
}

/// The codes `decode_client` can produce.
pub(super) const CODEC_ERROR_CODES: [&str; 7] = [
    "frame_too_large",
    "malformed_frame",
    "missing_type",
    "unknown_type",
    "missing_field",
    "invalid_field",
    "invalid_coordinates",
];

pub(super) const FORMATS: [WireFormat; 2] = [WireFormat::Json, WireFormat::MessagePack];

pub(super) fn request_id() -> Uuid {
    Uuid::from_u128(0x6f1c_2a9e_4b7d_4c1a_9e3f_5a2b_7c8d_9e01)
}

pub(super) fn officer_view() -> OfficerView {
    OfficerView {
        handle: "of_7Kq2mX9p".into(),
        display_name: "Officer Diaz".into(),
        approx_lat: 40.7131,
        approx_lng: -74.0062,
        distance_band_m: 250,
        available_until_ms: 1_767_225_600_000,
    }
}

pub(super) fn client_samples() -> Vec<ClientMessage> {
    vec![
        ClientMessage::Hello(Hello {
            token: "tok".to_owned(),
        }),
        ClientMessage::Location(LocationUpdate {
            lat: 40.712_776,
            lng: -74.005_974,
            accuracy_m: Some(8.5),
            seq: Some(42),
        }),
        ClientMessage::Location(LocationUpdate {
            lat: -90.0,
            lng: 180.0,
            accuracy_m: None,
            seq: None,
        }),
        ClientMessage::GoAvailable(GoAvailable { minutes: Some(10) }),
        ClientMessage::GoAvailable(GoAvailable { minutes: None }),
        ClientMessage::GoUnavailable,
        ClientMessage::RequestConnection(RequestConnection {
            officer: "of_7Kq2mX9p".to_owned(),
            op_id: "op-1".to_owned(),
            mode: crate::domain::connection::ConnectionMode::InPerson,
        }),
        ClientMessage::Respond(Respond {
            request_id: request_id(),
            accept: true,
        }),
        ClientMessage::CancelRequest(CancelRequest {
            request_id: request_id(),
        }),
        ClientMessage::Ping,
        ClientMessage::Block(Block {
            request_id: request_id(),
        }),
        ClientMessage::Reauth(Reauth {
            token: "hbat_3q2Zx8KfV0pLmN4rT7wYc1sJ9uDgE6aB".to_owned(),
        }),
        ClientMessage::Chat(Chat {
            connection_id: request_id(),
            text: ChatText("Thanks — see you at the block party 🎉".to_owned()),
        }),
        ClientMessage::EndConnection(EndConnection {
            connection_id: request_id(),
        }),
    ]
}

pub(super) fn server_samples() -> Vec<ServerMessage> {
    vec![
        ServerMessage::Welcome {
            account_id: AccountId(Uuid::from_u128(7)),
            role: Role::Officer,
            server_time_ms: 1_767_225_000_000,
            location_interval_ms: 1000,
        },
        ServerMessage::Cadence {
            interval_ms: 30_000,
            min_distance_m: 100,
        },
        ServerMessage::Nearest {
            officer: Some(officer_view()),
        },
        ServerMessage::Nearest { officer: None },
        ServerMessage::Nearby {
            officer: officer_view(),
        },
        ServerMessage::Availability { until_ms: 9 },
        ServerMessage::AvailabilityEnded {
            reason: AvailabilityEndReason::RosterRemoved,
        },
        ServerMessage::ConnectionRequested {
            request_id: request_id(),
            citizen: CitizenView {
                display_name: "Sam".to_owned(),
                distance_band_m: 100,
            },
            expires_at_ms: 5,
        },
        ServerMessage::RequestUpdate {
            request_id: request_id(),
            state: RequestState::OfficerBusy,
            op_id: Some("op-1".to_owned()),
        },
        ServerMessage::RequestUpdate {
            request_id: request_id(),
            state: RequestState::Accepted,
            op_id: None,
        },
        ServerMessage::ConnectionEstablished {
            mode: Default::default(),
            connection_id: request_id(),
            peer: PeerView {
                display_name: "Sam".to_owned(),
                role: Role::Citizen,
            },
            points: 10,
            withheld: None,
            quote: Some("We rise by lifting others.".to_owned()),
        },
        ServerMessage::ConnectionEstablished {
            mode: Default::default(),
            connection_id: request_id(),
            peer: PeerView {
                display_name: "Officer Diaz".into(),
                role: Role::Officer,
            },
            points: 0,
            withheld: Some(crate::domain::connection::RewardWithheld::PairCooldown),
            quote: None,
        },
        ServerMessage::Points {
            balance: 90,
            delta: -10,
            reason: PointsReason::Donation,
        },
        ServerMessage::Trophy {
            trophy: "first_connection".to_owned(),
            title: "First hello".to_owned(),
            description: "Your first connection".to_owned(),
        },
        ServerMessage::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".to_owned(),
        },
        ServerMessage::Pong,
        ServerMessage::CitizenBlocked {
            request_id: request_id(),
            until_ms: 1_767_311_700_000,
        },
        ServerMessage::TokenExpiring {
            expires_at_ms: 1_767_229_200_000,
        },
        ServerMessage::Reauthenticated {
            expires_at_ms: 1_767_232_800_000,
        },
        ServerMessage::Chat {
            connection_id: request_id(),
            text: ChatText("Any time.".to_owned()),
            sent_at_ms: 1_767_232_800_000,
        },
        ServerMessage::ConnectionEnded {
            connection_id: request_id(),
            reason: ConnectionEndReason::TimeLimit,
        },
    ]
}

pub(super) fn json_frame(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

pub(super) fn msgpack_frame(value: &impl Serialize) -> Vec<u8> {
    rmp_serde::to_vec_named(value).unwrap()
}

/// Decodes `value` written in both formats and asserts both fail with `code`;
/// returns the JSON error.
pub(super) fn assert_code_in_both(value: serde_json::Value, code: &str) -> ProtocolError {
    let from_msgpack = decode_client(WireFormat::MessagePack, &msgpack_frame(&value)).unwrap_err();
    let from_json = decode_client(WireFormat::Json, &json_frame(value)).unwrap_err();
    assert_eq!(from_json.code(), code, "{from_json}");
    assert_eq!(from_json, from_msgpack);
    from_json
}

pub(super) fn assert_invalid_field(value: serde_json::Value, expected_field: &str) {
    match assert_code_in_both(value, "invalid_field") {
        ProtocolError::InvalidField { field, .. } => assert_eq!(field, expected_field),
        other => panic!("expected invalid_field, got {other:?}"),
    }
}

/// A location frame body that can carry any `f64`, NaN and infinities included
/// (only MessagePack can encode those).
#[derive(Serialize)]
pub(super) struct RawLocation {
    /// Always `"location"`.
    pub(super) t: &'static str,
    /// Any latitude, valid or not.
    pub(super) lat: f64,
    /// Any longitude, valid or not.
    pub(super) lng: f64,
}

#[test]
fn every_client_message_round_trips_in_both_formats() {
    let samples = client_samples();
    for format in FORMATS {
        for message in &samples {
            let frame = encode_client(message, format).unwrap();
            assert_eq!(&decode_client(format, &frame).unwrap(), message, "{format}");
        }
    }
    let covered: Vec<&str> = samples.iter().map(|m| m.message_type().as_str()).collect();
    for name in client_type_names() {
        assert!(covered.contains(name), "no sample of {name}");
    }
}

#[test]
fn every_server_message_round_trips_through_serde_and_decode_server() {
    let samples = server_samples();
    for message in &samples {
        let msgpack = encode_server(message, WireFormat::MessagePack).unwrap();
        assert_eq!(
            &rmp_serde::from_slice::<ServerMessage>(&msgpack).unwrap(),
            message
        );
        assert_eq!(
            &decode_server(WireFormat::MessagePack, &msgpack).unwrap(),
            message
        );
        let json = encode_server(message, WireFormat::Json).unwrap();
        assert_eq!(
            &serde_json::from_slice::<ServerMessage>(&json).unwrap(),
            message
        );
        assert_eq!(&decode_server(WireFormat::Json, &json).unwrap(), message);
    }
    let covered: Vec<&str> = samples.iter().map(ServerMessage::type_name).collect();
    for name in server_type_names() {
        assert!(covered.contains(name), "no sample of {name}");
    }
}

#[test]
fn message_pack_frames_are_maps_with_the_tag_and_ids_as_strings() {
    let frame = encode_server(&ServerMessage::Pong, WireFormat::MessagePack).unwrap();
    // fixmap of one entry: "t" => "pong".
    assert_eq!(frame, [0x81, 0xa1, b't', 0xa4, b'p', b'o', b'n', b'g']);
    let update = ServerMessage::RequestUpdate {
        request_id: request_id(),
        state: RequestState::Pending,
        op_id: None,
    };
    let as_json: serde_json::Value =
        rmp_serde::from_slice(&encode_server(&update, WireFormat::MessagePack).unwrap()).unwrap();
    assert_eq!(
        as_json,
        json!({"t": "request_update", "request_id": request_id().to_string(), "state": "pending"})
    );
}

#[test]
fn type_names_match_the_serde_tags() {
    for message in client_samples() {
        let value: serde_json::Value = serde_json::to_value(&message).unwrap();
        assert_eq!(value["t"], message.message_type().as_str());
        assert_eq!(
            serde_json::to_value(message.message_type()).unwrap(),
            message.message_type().as_str()
        );
    }
    for message in server_samples() {
        let value: serde_json::Value = serde_json::to_value(&message).unwrap();
        assert_eq!(value["t"], message.type_name());
    }
    for name in error_code_names() {
        let code: ErrorCode = serde_json::from_value(json!(name)).unwrap();
        assert_eq!(code.as_str(), *name);
    }
}

#[test]
fn integer_coordinates_are_accepted_in_message_pack() {
    let frame = msgpack_frame(&json!({"t": "location", "lat": 40, "lng": -74, "accuracy_m": 5}));
    assert_eq!(frame[0], 0x84, "a map");
    let message = decode_client(WireFormat::MessagePack, &frame).unwrap();
    assert_eq!(
        message,
        ClientMessage::Location(LocationUpdate {
            lat: 40.0,
            lng: -74.0,
            accuracy_m: Some(5.0),
            seq: None,
        })
    );
}

#[test]
fn unknown_fields_are_ignored_and_defaults_apply() {
    let value = json!({"t": "go_available", "future_field": {"nested": [1, 2]}, "x": null});
    let frames = [
        (WireFormat::Json, json_frame(value.clone())),
        (WireFormat::MessagePack, msgpack_frame(&value)),
    ];
    for (format, frame) in frames {
        match decode_client(format, &frame) {
            Ok(ClientMessage::GoAvailable(go_available)) => {
                assert_eq!(go_available.minutes_or_default(), 15);
            }
            other => panic!("{format}: {other:?}"),
        }
    }
    let decoded = decode_client(
        WireFormat::Json,
        br#"{"lng":2,"extra":1,"lat":1,"t":"location"}"#,
    );
    assert!(matches!(decoded, Ok(ClientMessage::Location(_))));
}

#[test]
fn protocol_errors_become_error_messages() {
    let error = decode_client(WireFormat::Json, b"{}").unwrap_err();
    assert_eq!(
        ServerMessage::from(error),
        ServerMessage::Error {
            code: ErrorCode::MissingType,
            message: "message has no \"t\" type tag".to_owned()
        }
    );
}

#[test]
fn serde_deserialize_of_client_message_validates() {
    let ok: ClientMessage = serde_json::from_str(r#"{"t":"ping"}"#).unwrap();
    assert_eq!(ok, ClientMessage::Ping);
    let error = serde_json::from_str::<ClientMessage>(r#"{"t":"location","lat":100,"lng":0}"#);
    assert!(
        error
            .unwrap_err()
            .to_string()
            .contains("invalid coordinates")
    );
    let msgpack: ClientMessage =
        rmp_serde::from_slice(&msgpack_frame(&json!({"t": "go_unavailable"}))).unwrap();
    assert_eq!(msgpack, ClientMessage::GoUnavailable);
}

#[test]
fn close_codes_are_distinct_and_documented_ranges() {
    let mut codes: Vec<u16> = CloseCode::ALL.iter().map(|close| close.code()).collect();
    let mut reasons: Vec<&str> = CloseCode::ALL.iter().map(|close| close.reason()).collect();
    codes.dedup();
    reasons.sort_unstable();
    reasons.dedup();
    assert_eq!(codes.len(), CloseCode::ALL.len());
    assert_eq!(reasons.len(), CloseCode::ALL.len());
    assert!(
        codes.windows(2).all(|pair| pair[0] < pair[1]),
        "ALL is in numeric order"
    );
    for code in codes {
        assert!(code == 1001 || code == 1009 || (4000..5000).contains(&code));
    }
}

#[test]
fn control_messages_are_everything_but_location() {
    for message in client_samples() {
        let message_type = message.message_type();
        assert_eq!(
            message_type.is_control(),
            message_type != ClientMessageType::Location
        );
    }
}

#[test]
fn subprotocols_select_the_starting_format() {
    assert_eq!(
        WireFormat::from_subprotocol(SUBPROTOCOL_JSON),
        Some(WireFormat::Json)
    );
    assert_eq!(
        WireFormat::from_subprotocol(SUBPROTOCOL_MESSAGE_PACK),
        Some(WireFormat::MessagePack)
    );
    assert_eq!(WireFormat::from_subprotocol("graphql-ws"), None);
}

#[test]
fn chat_text_is_bounded_in_characters_and_never_debug_printed() {
    let frame = |text: &str| {
        json_frame(json!({
            "t": "chat",
            "connection_id": request_id().to_string(),
            "text": text,
        }))
    };
    let longest = "é".repeat(MAX_CHAT_CHARS_FOR_TESTS);
    let decoded = decode_client(WireFormat::Json, &frame(&longest)).expect("500 characters");
    let ClientMessage::Chat(chat) = decoded else {
        panic!("a chat");
    };
    assert_eq!(
        chat.text.0, longest,
        "bytes beyond 500 are fine, characters count"
    );
    assert!(
        !format!("{chat:?}").contains('é'),
        "Debug shows the length only"
    );
    for refused in ["é".repeat(MAX_CHAT_CHARS_FOR_TESTS + 1), " \n ".to_owned()] {
        let error = decode_client(WireFormat::Json, &frame(&refused)).unwrap_err();
        assert_eq!(error.code(), "invalid_field");
    }
}

const MAX_CHAT_CHARS_FOR_TESTS: usize = super::limits::MAX_CHAT_CHARS;
