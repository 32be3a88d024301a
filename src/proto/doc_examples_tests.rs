//! Keeps `docs/protocol.md` and the code in step (the page's kinds of example
//! blocks are listed in `protocol_page`; MessagePack hex ignores whitespace).
//! Every example must decode with the real codec, each pair to the same message,
//! and each exactly as the encoder writes it; every message type, error code and close
//! code must appear; the limits table must match `limits.rs`.

use super::limits::{
    AVAILABILITY_MAX_MINUTES, CONTROL_MESSAGES_PER_MINUTE, ERRORS_PER_MINUTE_BEFORE_CLOSE,
    HELLO_TIMEOUT_SECONDS, IDLE_TIMEOUT_SECONDS, LOCATION_MIN_INTERVAL_MS, MAX_CHAT_CHARS,
    MAX_FRAME_BYTES, MAX_HANDLE_BYTES, MAX_NESTING_DEPTH, MAX_OP_ID_BYTES, MAX_TOKEN_BYTES,
    PING_INTERVAL_SECONDS, TRANSPORT_MAX_MESSAGE_BYTES,
};
use super::protocol_page::{FencedBlock, PROTOCOL_MD};
use super::tests::{client_type_names, error_code_names, server_type_names};
use super::*;

/// Which side sends an example pair.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Direction {
    /// Client → server.
    Client,
    /// Server → client.
    Server,
}

/// A JSON example and its MessagePack twin.
#[derive(Debug)]
struct ExamplePair {
    /// Who sends it.
    direction: Direction,
    /// The JSON text, trimmed.
    json: String,
    /// The MessagePack bytes.
    msgpack: Vec<u8>,
    /// Line of the JSON block.
    line: usize,
}

fn fenced_blocks(markdown: &str) -> Vec<FencedBlock> {
    super::protocol_page::fenced_blocks(markdown).expect("unclosed fence in docs/protocol.md")
}

fn direction_of(info: &str, prefix: &str) -> Option<Direction> {
    match info.strip_prefix(prefix)? {
        "client" => Some(Direction::Client),
        "server" => Some(Direction::Server),
        _ => None,
    }
}

fn example_pairs() -> Vec<ExamplePair> {
    let blocks = fenced_blocks(PROTOCOL_MD);
    let mut pairs = Vec::new();
    let mut index = 0;
    while index < blocks.len() {
        let block = &blocks[index];
        index += 1;
        assert!(
            direction_of(&block.info, "msgpack-hex ").is_none(),
            "line {}: msgpack-hex block without a json block before it",
            block.line
        );
        let Some(direction) = direction_of(&block.info, "json ") else {
            continue;
        };
        let twin = blocks
            .get(index)
            .unwrap_or_else(|| panic!("line {}: json example without its twin", block.line));
        assert_eq!(
            direction_of(&twin.info, "msgpack-hex "),
            Some(direction),
            "line {}: a json {direction:?} example must be followed by msgpack-hex of the same side",
            block.line
        );
        index += 1;
        let hex_digits: String = twin.body.split_whitespace().collect();
        let msgpack = hex::decode(&hex_digits)
            .unwrap_or_else(|error| panic!("line {}: bad hex: {error}", twin.line));
        assert!(
            !msgpack.is_empty(),
            "line {}: empty msgpack-hex block",
            twin.line
        );
        pairs.push(ExamplePair {
            direction,
            json: block.body.trim().to_owned(),
            msgpack,
            line: block.line,
        });
    }
    pairs
}

#[test]
fn every_example_pair_decodes_to_one_message_exactly_as_encoded() {
    let pairs = example_pairs();
    assert!(
        pairs.len() >= 20,
        "found only {} example pairs",
        pairs.len()
    );
    for pair in pairs {
        let line = pair.line;
        match pair.direction {
            Direction::Client => {
                let from_json = decode_client(WireFormat::Json, pair.json.as_bytes())
                    .unwrap_or_else(|error| panic!("line {line}: {error}"));
                let from_msgpack = decode_client(WireFormat::MessagePack, &pair.msgpack)
                    .unwrap_or_else(|error| panic!("line {line} (msgpack): {error}"));
                assert_eq!(from_json, from_msgpack, "line {line}");
                let json = encode_client(&from_json, WireFormat::Json).unwrap();
                assert_eq!(String::from_utf8(json).unwrap(), pair.json, "line {line}");
                let msgpack = encode_client(&from_json, WireFormat::MessagePack).unwrap();
                assert_eq!(msgpack, pair.msgpack, "line {line}");
            }
            Direction::Server => {
                let from_json: ServerMessage = serde_json::from_str(&pair.json)
                    .unwrap_or_else(|error| panic!("line {line}: {error}"));
                let from_msgpack: ServerMessage = rmp_serde::from_slice(&pair.msgpack)
                    .unwrap_or_else(|error| panic!("line {line} (msgpack): {error}"));
                assert_eq!(from_json, from_msgpack, "line {line}");
                let decoded = decode_server(WireFormat::MessagePack, &pair.msgpack).unwrap();
                assert_eq!(decoded, from_json, "line {line}");
                let json = encode_server(&from_json, WireFormat::Json).unwrap();
                assert_eq!(String::from_utf8(json).unwrap(), pair.json, "line {line}");
                let msgpack = encode_server(&from_json, WireFormat::MessagePack).unwrap();
                assert_eq!(msgpack, pair.msgpack, "line {line}");
            }
        }
    }
}

#[test]
fn every_message_type_has_an_example() {
    let pairs = example_pairs();
    let mut client_types = Vec::new();
    let mut server_types = Vec::new();
    for pair in &pairs {
        match pair.direction {
            Direction::Client => {
                let message = decode_client(WireFormat::Json, pair.json.as_bytes()).unwrap();
                client_types.push(message.message_type().as_str());
            }
            Direction::Server => {
                let message: ServerMessage = serde_json::from_str(&pair.json).unwrap();
                server_types.push(message.type_name());
            }
        }
    }
    for name in client_type_names() {
        assert!(
            client_types.contains(name),
            "client message {name} has no example"
        );
    }
    for name in server_type_names() {
        assert!(
            server_types.contains(name),
            "server message {name} has no example"
        );
    }
}

#[test]
fn invalid_examples_get_their_documented_code() {
    let mut seen = 0;
    for block in fenced_blocks(PROTOCOL_MD) {
        let Some(code) = block.info.strip_prefix("json invalid ") else {
            continue;
        };
        seen += 1;
        let error = decode_client(WireFormat::Json, block.body.trim().as_bytes())
            .expect_err("an invalid example decoded");
        assert_eq!(error.code(), code, "line {}: {error}", block.line);
    }
    assert!(seen >= 7, "found only {seen} invalid examples");
}

/// The table rows (`| a | b |`) of the section titled `heading`.
fn table_rows(heading: &str) -> Vec<Vec<String>> {
    let start = PROTOCOL_MD
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading}"));
    let section = &PROTOCOL_MD[start + 1..];
    let end = section[3..]
        .find("\n## ")
        .map_or(section.len(), |offset| offset + 3);
    section[..end]
        .lines()
        .filter(|line| line.starts_with('|') && !line.starts_with("| ---"))
        .skip(1) // header
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn error_code_table_lists_exactly_the_codes() {
    let documented: Vec<String> = table_rows("Error codes")
        .into_iter()
        .map(|row| row[0].trim_matches('`').to_owned())
        .collect();
    let known: Vec<String> = error_code_names()
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    assert_eq!(documented, known, "the table lists the codes in enum order");
}

#[test]
fn close_code_table_lists_exactly_the_codes() {
    let documented: Vec<(String, String)> = table_rows("Close codes")
        .into_iter()
        .map(|row| (row[0].clone(), row[1].trim_matches('`').to_owned()))
        .collect();
    let known: Vec<(String, String)> = CloseCode::ALL
        .iter()
        .map(|close| (close.code().to_string(), close.reason().to_owned()))
        .collect();
    assert_eq!(documented, known);
}

#[test]
fn limits_table_matches_the_constants() {
    let rows = table_rows("Limits");
    let constants: [(&str, String); 14] = [
        ("MAX_FRAME_BYTES", MAX_FRAME_BYTES.to_string()),
        (
            "TRANSPORT_MAX_MESSAGE_BYTES",
            TRANSPORT_MAX_MESSAGE_BYTES.to_string(),
        ),
        (
            "LOCATION_MIN_INTERVAL_MS",
            format!("{LOCATION_MIN_INTERVAL_MS} ms"),
        ),
        (
            "CONTROL_MESSAGES_PER_MINUTE",
            format!("{CONTROL_MESSAGES_PER_MINUTE} per minute"),
        ),
        (
            "ERRORS_PER_MINUTE_BEFORE_CLOSE",
            format!("{ERRORS_PER_MINUTE_BEFORE_CLOSE} per minute"),
        ),
        (
            "HELLO_TIMEOUT_SECONDS",
            format!("{HELLO_TIMEOUT_SECONDS} s"),
        ),
        (
            "PING_INTERVAL_SECONDS",
            format!("{PING_INTERVAL_SECONDS} s"),
        ),
        ("IDLE_TIMEOUT_SECONDS", format!("{IDLE_TIMEOUT_SECONDS} s")),
        (
            "AVAILABILITY_MAX_MINUTES",
            format!("1–{AVAILABILITY_MAX_MINUTES} minutes"),
        ),
        ("MAX_TOKEN_BYTES", format!("{MAX_TOKEN_BYTES} bytes")),
        ("MAX_HANDLE_BYTES", format!("{MAX_HANDLE_BYTES} bytes")),
        ("MAX_OP_ID_BYTES", format!("{MAX_OP_ID_BYTES} bytes")),
        ("MAX_CHAT_CHARS", format!("{MAX_CHAT_CHARS} characters")),
        ("MAX_NESTING_DEPTH", format!("{MAX_NESTING_DEPTH} levels")),
    ];
    for (name, value) in constants {
        let row = rows
            .iter()
            .find(|row| row[2] == format!("`{name}`"))
            .unwrap_or_else(|| panic!("no limits row for {name}"));
        assert!(
            row[1].contains(&value),
            "{name}: {:?} does not say {value:?}",
            row[1]
        );
    }
}
