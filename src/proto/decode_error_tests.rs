//! Each error code from the inputs that should produce it, in both formats, and the
//! privacy rules of error messages.

use serde::Serialize;
use serde_json::json;

use super::limits::{ERROR_MESSAGE_MAX_CHARS, MAX_FRAME_BYTES};
use super::tests::{
    RawLocation, assert_code_in_both, assert_invalid_field, msgpack_frame, request_id,
};
use super::*;

#[test]
fn size_limit_is_inclusive() {
    let ping = br#"{"t":"ping"}"#;
    let mut at_limit = ping.to_vec();
    at_limit.resize(MAX_FRAME_BYTES, b' ');
    assert_eq!(
        decode_client(WireFormat::Json, &at_limit),
        Ok(ClientMessage::Ping)
    );
    at_limit.push(b' ');
    let error = decode_client(WireFormat::Json, &at_limit).unwrap_err();
    assert_eq!(error.code(), "frame_too_large");
    assert_eq!(
        decode_client(WireFormat::MessagePack, &at_limit)
            .unwrap_err()
            .code(),
        "frame_too_large"
    );
}

#[test]
fn malformed_frames() {
    let json_cases: [&[u8]; 7] = [
        b"",
        b"not json",
        b"{\"t\":\"ping\"",
        b"{\"t\":\"ping\"} {}",
        b"[1, 2]",
        b"5",
        b"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
    ];
    for frame in json_cases {
        let error = decode_client(WireFormat::Json, frame).unwrap_err();
        assert_eq!(
            error.code(),
            "malformed_frame",
            "{}",
            String::from_utf8_lossy(frame)
        );
    }
    let mut trailing = msgpack_frame(&json!({"t": "ping"}));
    trailing.push(0x00);
    let mut truncated = msgpack_frame(&json!({"t": "hello", "token": "abc"}));
    truncated.pop();
    let msgpack_cases: [&[u8]; 6] = [
        &[],
        &[0xc1],                         // reserved marker
        &[0x81, 0x01, 0x02],             // map with an integer key
        &[0xdd, 0xff, 0xff, 0xff, 0xff], // array32 claiming 4 billion items
        &trailing,
        &truncated,
    ];
    for frame in msgpack_cases {
        let error = decode_client(WireFormat::MessagePack, frame).unwrap_err();
        assert_eq!(error.code(), "malformed_frame", "{frame:02x?}");
    }
}

#[test]
fn type_tag_errors() {
    assert_code_in_both(json!({}), "missing_type");
    assert_code_in_both(json!({"t": null, "lat": 1}), "missing_type");
    let unknown = assert_code_in_both(json!({"t": "teleport"}), "unknown_type");
    assert_eq!(
        unknown,
        ProtocolError::UnknownType {
            name: "teleport".to_owned()
        }
    );
    assert_invalid_field(json!({"t": 5}), "t");
    assert_invalid_field(json!({"t": ["ping"]}), "t");
    let long_name = "x".repeat(1000);
    let message = ServerMessage::from(assert_code_in_both(json!({"t": long_name}), "unknown_type"));
    let ServerMessage::Error { message, .. } = message else {
        panic!("not an error message")
    };
    assert!(
        message.chars().count() <= ERROR_MESSAGE_MAX_CHARS,
        "{message}"
    );
}

#[test]
fn missing_fields_are_named() {
    let cases = [
        (json!({"t": "hello"}), "token"),
        (json!({"t": "location", "lat": 1.0}), "lng"),
        (json!({"t": "location", "lat": null, "lng": 1.0}), "lat"),
        (
            json!({"t": "request_connection", "officer": "of_1"}),
            "op_id",
        ),
        (
            json!({"t": "respond", "request_id": request_id()}),
            "accept",
        ),
        (json!({"t": "cancel_request"}), "request_id"),
    ];
    for (value, expected_field) in cases {
        match assert_code_in_both(value, "missing_field") {
            ProtocolError::MissingField { field } => assert_eq!(field, expected_field),
            other => panic!("expected missing_field, got {other:?}"),
        }
    }
}

#[test]
fn invalid_fields_are_named() {
    let cases = [
        (json!({"t": "hello", "token": ""}), "token"),
        (json!({"t": "hello", "token": 7}), "token"),
        (json!({"t": "hello", "token": "a".repeat(1025)}), "token"),
        (json!({"t": "location", "lat": "1", "lng": 2}), "lat"),
        (
            json!({"t": "location", "lat": 1, "lng": 2, "seq": -1}),
            "seq",
        ),
        (
            json!({"t": "location", "lat": 1, "lng": 2, "seq": 1.5}),
            "seq",
        ),
        (
            json!({"t": "location", "lat": 1, "lng": 2, "accuracy_m": -0.1}),
            "accuracy_m",
        ),
        (json!({"t": "go_available", "minutes": 0}), "minutes"),
        (json!({"t": "go_available", "minutes": 16}), "minutes"),
        (json!({"t": "go_available", "minutes": 5.5}), "minutes"),
        (
            json!({"t": "go_available", "minutes": 4_294_967_296_u64}),
            "minutes",
        ),
        (
            json!({"t": "request_connection", "officer": "", "op_id": "a"}),
            "officer",
        ),
        (
            json!({"t": "request_connection", "officer": "x".repeat(65), "op_id": "a"}),
            "officer",
        ),
        (
            json!({"t": "request_connection", "officer": "of_1", "op_id": "o".repeat(65)}),
            "op_id",
        ),
        (
            json!({"t": "respond", "request_id": "nope", "accept": true}),
            "request_id",
        ),
        (
            json!({"t": "respond", "request_id": request_id(), "accept": "yes"}),
            "accept",
        ),
    ];
    for (value, expected_field) in cases {
        assert_invalid_field(value, expected_field);
    }
    let duplicate = decode_client(
        WireFormat::Json,
        br#"{"t":"hello","token":"a","token":"b"}"#,
    );
    assert_eq!(
        duplicate.unwrap_err(),
        ProtocolError::InvalidField {
            field: "token".to_owned(),
            detail: "the key appears more than once".to_owned()
        }
    );
}

#[test]
fn error_messages_quote_neither_tokens_nor_coordinates() {
    let token_error = assert_code_in_both(
        json!({"t": "hello", "token": "s".repeat(2000)}),
        "invalid_field",
    );
    assert!(!token_error.message().contains("sss"));
    let coordinate_error = assert_code_in_both(
        json!({"t": "location", "lat": "40.712776", "lng": 2}),
        "invalid_field",
    );
    assert!(
        !coordinate_error.message().contains("40.7"),
        "{coordinate_error}"
    );
    let range_error = assert_code_in_both(
        json!({"t": "location", "lat": 40.712776, "lng": 200.5}),
        "invalid_coordinates",
    );
    assert!(!range_error.message().contains("40.7") && !range_error.message().contains("200"));
    let hello = Hello {
        token: "secret-token".to_owned(),
    };
    assert!(!format!("{hello:?}").contains("secret"));
    let location = LocationUpdate {
        lat: 40.712_776,
        lng: -74.005_974,
        accuracy_m: None,
        seq: None,
    };
    assert!(!format!("{location:?}").contains("40.7"));
}

#[test]
fn coordinates_are_checked_for_range_and_finiteness() {
    for (lat, lng) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0), (-0.0, 179.999)] {
        let frame = msgpack_frame(&RawLocation {
            t: "location",
            lat,
            lng,
        });
        assert!(
            decode_client(WireFormat::MessagePack, &frame).is_ok(),
            "{lat},{lng}"
        );
    }
    let invalid = [
        (90.000_001, 0.0),
        (-91.0, 0.0),
        (0.0, 180.5),
        (0.0, -1000.0),
        (f64::NAN, 0.0),
        (0.0, f64::INFINITY),
        (f64::NEG_INFINITY, 0.0),
    ];
    for (lat, lng) in invalid {
        let frame = msgpack_frame(&RawLocation {
            t: "location",
            lat,
            lng,
        });
        let error = decode_client(WireFormat::MessagePack, &frame).unwrap_err();
        assert_eq!(error.code(), "invalid_coordinates", "{lat},{lng}");
    }
    // JSON has no NaN literal and refuses numbers beyond f64.
    let huge = decode_client(WireFormat::Json, br#"{"t":"location","lat":1e400,"lng":0}"#);
    assert_eq!(huge.unwrap_err().code(), "malformed_frame");
    let nan_accuracy = msgpack_frame(&json!({"t": "location", "lat": 1, "lng": 1}));
    assert!(decode_client(WireFormat::MessagePack, &nan_accuracy).is_ok());
    #[derive(Serialize)]
    struct WithAccuracy {
        /// Always `"location"`.
        t: &'static str,
        /// A valid latitude.
        lat: f64,
        /// A valid longitude.
        lng: f64,
        /// The value under test.
        accuracy_m: f64,
    }
    let frame = msgpack_frame(&WithAccuracy {
        t: "location",
        lat: 1.0,
        lng: 1.0,
        accuracy_m: f64::NAN,
    });
    let error = decode_client(WireFormat::MessagePack, &frame).unwrap_err();
    assert_eq!(error.code(), "invalid_field");
}

#[test]
fn frames_nested_as_deep_as_the_frame_allows_are_refused_without_recursing() {
    // A frame of nothing but opening brackets, as deep as 16 KiB allows, under
    // a field the decoder reads and under one it skips (`future_field`), in both
    // formats: each is refused as malformed, and the test thread's stack survives.
    let depth = MAX_FRAME_BYTES - 64;
    for field in ["lat", "future_field"] {
        let mut json = format!("{{\"t\":\"location\",\"{field}\":").into_bytes();
        json.extend(std::iter::repeat_n(b'[', depth));
        json.truncate(MAX_FRAME_BYTES);
        let error = decode_client(WireFormat::Json, &json).unwrap_err();
        assert_eq!(error.code(), "malformed_frame", "json under {field}");

        // 0x82: a map of two entries; 0x91: an array of one element, repeated.
        let mut msgpack = vec![0x82, 0xa1, b't', 0xa8];
        msgpack.extend_from_slice(b"location");
        msgpack.push(0xa0 | field.len() as u8);
        msgpack.extend_from_slice(field.as_bytes());
        msgpack.extend(std::iter::repeat_n(0x91, depth));
        msgpack.push(0x00);
        msgpack.truncate(MAX_FRAME_BYTES);
        let error = decode_client(WireFormat::MessagePack, &msgpack).unwrap_err();
        assert_eq!(error.code(), "malformed_frame", "msgpack under {field}");
    }
}
