//! The AsyncAPI document against the code: the committed copy is the one the code
//! builds, every example in it goes through the real decoder and back unchanged,
//! and nothing the protocol has is missing from it.

use std::collections::BTreeSet;

use serde_json::Value;

use super::asyncapi_document;
use crate::proto::limits::{
    AVAILABILITY_MAX_MINUTES, AVAILABILITY_MIN_MINUTES, MAX_HANDLE_BYTES, MAX_OP_ID_BYTES,
    MAX_TOKEN_BYTES,
};
use crate::proto::tests::{client_type_names, error_code_names, server_type_names};
use crate::proto::{
    CloseCode, WireFormat, decode_client, decode_server, encode_client, encode_server,
};

const COMMITTED: &str = include_str!("../../docs/asyncapi.json");

fn committed() -> Value {
    serde_json::from_str(COMMITTED).expect("docs/asyncapi.json is not JSON")
}

/// The messages of the committed document with the action of their operation.
fn messages_by_action(document: &Value) -> Vec<(String, String, Value)> {
    let operations = document["operations"]
        .as_object()
        .expect("operations is a map");
    operations
        .values()
        .map(|operation| {
            let action = operation["action"].as_str().expect("action").to_owned();
            let reference = operation["messages"][0]["$ref"].as_str().expect("$ref");
            let key = reference.rsplit('/').next().expect("key");
            let message = document["components"]["messages"][key].clone();
            let name = message["name"].as_str().expect("name").to_owned();
            (action, name, message)
        })
        .collect()
}

#[test]
fn the_committed_document_is_the_one_the_code_builds() {
    let built = asyncapi_document();
    assert!(
        committed() == built,
        "docs/asyncapi.json is stale: run scripts/api-contract/regenerate"
    );
}

#[test]
fn every_example_goes_through_the_real_codec_and_back_unchanged() {
    let document = committed();
    let messages = messages_by_action(&document);
    assert!(!messages.is_empty());
    for (action, name, message) in messages {
        let examples = message["examples"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no examples"));
        assert!(!examples.is_empty(), "{name} has no examples");
        for example in examples {
            let payload = &example["payload"];
            let bytes = serde_json::to_vec(payload).expect("encode example");
            let (type_name, encoded) = match action.as_str() {
                "receive" => {
                    let decoded = decode_client(WireFormat::Json, &bytes)
                        .unwrap_or_else(|error| panic!("{name}: {error}"));
                    let encoded = encode_client(&decoded, WireFormat::Json).expect("encode");
                    (decoded.message_type().as_str(), encoded)
                }
                "send" => {
                    let decoded = decode_server(WireFormat::Json, &bytes)
                        .unwrap_or_else(|error| panic!("{name}: {error}"));
                    let encoded = encode_server(&decoded, WireFormat::Json).expect("encode");
                    (decoded.type_name(), encoded)
                }
                other => panic!("{name}: unknown action {other}"),
            };
            assert_eq!(type_name, name, "{name}'s example is another message type");
            let again: Value = serde_json::from_slice(&encoded).expect("re-read");
            assert_eq!(&again, payload, "{name}'s example changes on a round trip");
        }
    }
}

#[test]
fn every_message_type_close_code_and_error_code_is_in_the_document() {
    let document = committed();
    let messages = messages_by_action(&document);
    let received: BTreeSet<&str> = messages
        .iter()
        .filter(|(action, ..)| action == "receive")
        .map(|(_, name, _)| name.as_str())
        .collect();
    let sent: BTreeSet<&str> = messages
        .iter()
        .filter(|(action, ..)| action == "send")
        .map(|(_, name, _)| name.as_str())
        .collect();
    assert_eq!(
        received,
        client_type_names().iter().copied().collect::<BTreeSet<_>>()
    );
    assert_eq!(
        sent,
        server_type_names().iter().copied().collect::<BTreeSet<_>>()
    );
    let close_codes: Vec<u64> = document["channels"]["socket"]["x-close-codes"]
        .as_array()
        .expect("x-close-codes")
        .iter()
        .map(|entry| entry["code"].as_u64().expect("code"))
        .collect();
    let expected: Vec<u64> = CloseCode::ALL
        .iter()
        .map(|code| u64::from(code.code()))
        .collect();
    assert_eq!(close_codes, expected);
    let error_codes: BTreeSet<&str> = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum")
        .iter()
        .map(|code| code.as_str().expect("code name"))
        .collect();
    assert_eq!(
        error_codes,
        error_code_names().iter().copied().collect::<BTreeSet<_>>()
    );
}

#[test]
fn the_schemas_bounds_are_the_decoders_limits() {
    let schemas = &asyncapi_document()["components"]["schemas"];
    let bound = |schema: &str, field: &str, key: &str| {
        schemas[schema]["properties"][field][key]
            .as_f64()
            .unwrap_or_else(|| panic!("{schema}.{field} has no {key}"))
    };
    let as_f64 = |value: usize| f64::from(u32::try_from(value).expect("small"));
    assert_eq!(
        bound("Hello", "token", "maxLength"),
        as_f64(MAX_TOKEN_BYTES)
    );
    assert_eq!(
        bound("Reauth", "token", "maxLength"),
        as_f64(MAX_TOKEN_BYTES)
    );
    assert_eq!(
        bound("RequestConnection", "officer", "maxLength"),
        as_f64(MAX_HANDLE_BYTES)
    );
    assert_eq!(
        bound("RequestConnection", "op_id", "maxLength"),
        as_f64(MAX_OP_ID_BYTES)
    );
    assert_eq!(
        bound("GoAvailable", "minutes", "minimum"),
        f64::from(AVAILABILITY_MIN_MINUTES)
    );
    assert_eq!(
        bound("GoAvailable", "minutes", "maximum"),
        f64::from(AVAILABILITY_MAX_MINUTES)
    );
    assert_eq!(bound("LocationUpdate", "lat", "maximum"), 90.0);
    assert_eq!(bound("LocationUpdate", "lng", "minimum"), -180.0);
}
