//! Property tests: no input makes the decoders panic, and every failure carries one
//! of the codec's documented error codes.

use proptest::prelude::*;

use super::limits::ERROR_MESSAGE_MAX_CHARS;
use super::tests::{
    CODEC_ERROR_CODES, FORMATS, RawLocation, client_samples, json_frame, msgpack_frame,
};
use super::*;

/// Arbitrary JSON, with keys biased towards real field names.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1000.0..1000.0_f64).prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::String),
        prop::sample::select(CLIENT_TAGS.to_vec()).prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

const CLIENT_TAGS: [&str; 9] = [
    "hello",
    "location",
    "go_available",
    "go_unavailable",
    "request_connection",
    "respond",
    "cancel_request",
    "ping",
    "pong",
];

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "t",
            "lat",
            "lng",
            "accuracy_m",
            "seq",
            "minutes",
            "token",
            "officer",
            "op_id",
            "request_id",
            "accept",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{0,8}",
    ]
}

/// A map that always has a real-looking `t` and random fields.
fn message_like() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::sample::select(CLIENT_TAGS.to_vec()),
        prop::collection::btree_map(field_name(), json_value(), 0..6),
    )
        .prop_map(|(tag, mut fields)| {
            fields.insert("t".to_owned(), serde_json::Value::from(tag));
            serde_json::Value::Object(fields.into_iter().collect())
        })
}

fn assert_decodes_or_documented_error(format: WireFormat, frame: &[u8]) {
    if let Err(error) = decode_client(format, frame) {
        assert!(CODEC_ERROR_CODES.contains(&error.code()), "{error:?}");
        assert!(error.message().chars().count() <= ERROR_MESSAGE_MAX_CHARS);
    }
    // Server decoding shares the front half; it must not panic either.
    let _server = decode_server(format, frame);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(frame in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_decodes_or_documented_error(WireFormat::Json, &frame);
        assert_decodes_or_documented_error(WireFormat::MessagePack, &frame);
    }

    #[test]
    fn random_json_values_never_panic(value in prop_oneof![json_value(), message_like()]) {
        assert_decodes_or_documented_error(WireFormat::Json, &json_frame(value.clone()));
        assert_decodes_or_documented_error(WireFormat::MessagePack, &msgpack_frame(&value));
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        sample in prop::sample::select(client_samples()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        for format in FORMATS {
            let mut frame = encode_client(&sample, format).unwrap();
            for (index, byte) in &edits {
                let position = index.index(frame.len());
                frame[position] = *byte;
            }
            assert_decodes_or_documented_error(format, &frame);
        }
    }

    #[test]
    fn any_f64_pair_is_a_location_or_invalid_coordinates(lat in any::<f64>(), lng in any::<f64>()) {
        let frame = msgpack_frame(&RawLocation { t: "location", lat, lng });
        let in_range = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng);
        match decode_client(WireFormat::MessagePack, &frame) {
            Ok(_) => prop_assert!(in_range),
            Err(error) => {
                prop_assert!(!in_range);
                prop_assert_eq!(error.code(), "invalid_coordinates");
            }
        }
    }
}
