//! Entry points for the fuzz targets in `fuzz/` and for `tests/fuzz_corpus.rs`,
//! which replays their corpora on stable. Each takes raw bytes and runs the
//! server's own code for one kind of untrusted input, from the first byte it
//! reads to the last check it makes before a store or the network would be
//! involved. Not an API: hidden from the docs, no stability promise, and
//! nothing here is used by the server.
//!
//! `docs/reliability.md` lists the targets, the limits they run under and what
//! the runs found.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, header};
use pasetors::version4::PublicToken;

use crate::config::Config;
use crate::domain::phone::PhoneRegions;
use crate::gateway::bearer_token;
use crate::identity::tokens;
use crate::import::{ImportFormat, ImportKind, Validation, check_bytes};
use crate::proto::{ServerMessage, WireFormat, decode_client, encode_server};
use crate::rewards::signing::{KeySet, Verification, verify_token};

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The input was well formed and passed every check.
    Accepted,
    /// The input was refused with an error the caller would see.
    Refused,
}

/// One fuzz target: a name (also its corpus directory) and its entry point.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The `cargo fuzz` target name and the directory under `fuzz/corpus/`.
    pub name: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]) -> Outcome,
}

/// Every target, in the order `scripts/fuzz` runs them.
pub const TARGETS: [Target; 6] = [
    Target {
        name: "client_frame_json",
        run: client_frame_json,
    },
    Target {
        name: "client_frame_msgpack",
        run: client_frame_message_pack,
    },
    Target {
        name: "hello_token",
        run: hello_token,
    },
    Target {
        name: "config_toml",
        run: config_toml,
    },
    Target {
        name: "roster_csv",
        run: roster_csv,
    },
    Target {
        name: "voucher_token",
        run: voucher_token,
    },
];

/// A WebSocket text frame from a client, decoded as the socket loop does, and
/// the `error` answer to it encoded when it is refused.
pub fn client_frame_json(frame: &[u8]) -> Outcome {
    client_frame(WireFormat::Json, frame)
}

/// A WebSocket binary frame from a client, decoded as the socket loop does,
/// and the `error` answer to it encoded when it is refused.
pub fn client_frame_message_pack(frame: &[u8]) -> Outcome {
    client_frame(WireFormat::MessagePack, frame)
}

fn client_frame(format: WireFormat, frame: &[u8]) -> Outcome {
    match decode_client(format, frame) {
        Ok(_) => Outcome::Accepted,
        Err(error) => {
            let answer = ServerMessage::Error {
                code: error.error_code(),
                message: error.message(),
            };
            // The answer is built from the frame's own text; encoding it is
            // part of refusing the frame.
            match encode_server(&answer, format) {
                Ok(_) | Err(_) => Outcome::Refused,
            }
        }
    }
}

/// How a client presents an access token. The first input byte picks one
/// (modulo 3): a `hello` text frame, a `hello` binary frame, or the value of
/// an `Authorization` header (REST calls and the WebSocket upgrade). The rest
/// runs up to the store lookup: decoding, the bearer scheme, the length bound
/// and the hash that is the lookup key.
pub fn hello_token(input: &[u8]) -> Outcome {
    let Some((selector, rest)) = input.split_first() else {
        return Outcome::Refused;
    };
    let token = match selector % 3 {
        0 => hello_frame_token(WireFormat::Json, rest),
        1 => hello_frame_token(WireFormat::MessagePack, rest),
        _ => header_token(rest),
    };
    match token.as_deref().and_then(tokens::offered_token_hash) {
        Some(_) => Outcome::Accepted,
        None => Outcome::Refused,
    }
}

/// The token of a `hello` frame, as the unauthenticated socket phase reads it.
fn hello_frame_token(format: WireFormat, frame: &[u8]) -> Option<String> {
    match decode_client(format, frame) {
        Ok(crate::proto::ClientMessage::Hello(hello)) => Some(hello.token),
        Ok(_) | Err(_) => None,
    }
}

/// The token of an `Authorization` header holding `value`, if the bytes can be
/// a header value at all (the HTTP parser refuses the others first).
fn header_token(value: &[u8]) -> Option<String> {
    let header_value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, header_value);
    bearer_token(&headers).ok().map(str::to_owned)
}

/// A configuration file: TOML syntax, typing and validation.
pub fn config_toml(input: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(input) else {
        return Outcome::Refused;
    };
    match Config::from_toml_str(text) {
        Ok(_) => Outcome::Accepted,
        Err(_) => Outcome::Refused,
    }
}

/// An officer roster CSV, read and validated row by row with the default
/// configuration's phone regions, warmed up as a server warms them at start,
/// as an import does before it writes anything.
pub fn roster_csv(input: &[u8]) -> Outcome {
    let keys = crate::identity::keys::ServerKeys::derive(&[7; 32]);
    let validation = Validation {
        keys: &keys,
        phone_regions: roster_phone_regions(),
    };
    let checked = check_bytes(ImportKind::Officers, ImportFormat::Csv, input, validation);
    debug_assert!(checked.valid_rows <= checked.rows_read);
    if checked.problems.is_empty() {
        Outcome::Accepted
    } else {
        Outcome::Refused
    }
}

/// Does the one-time work a server does at start (loading the phone metadata
/// and compiling the served regions' patterns), so a replay measures what each
/// input costs and not the first input's share of start-up.
pub fn warm_up() {
    roster_phone_regions();
}

/// The phone regions of the default configuration, warmed up once.
fn roster_phone_regions() -> &'static PhoneRegions {
    static REGIONS: OnceLock<PhoneRegions> = OnceLock::new();
    REGIONS.get_or_init(|| {
        let regions = crate::identity::phone_regions(&Config::default().identity);
        regions.warm_up();
        regions
    })
}

/// 2026-12-05T00:00:00Z: tokens are checked as if now, whatever the clock.
const VOUCHER_CHECKED_AT_MS: i64 = 1_796_428_800_000;

/// A voucher token presented at a counter. The first input byte picks what the
/// rest is (modulo 3): the token text as presented; or a payload that is
/// signed here with the server's key (so the claims reader, which only runs
/// after the signature is checked, sees arbitrary payloads too); or payload
/// and footer, split at the first NUL, both signed here.
pub fn voucher_token(input: &[u8]) -> Outcome {
    let Some((selector, rest)) = input.split_first() else {
        return Outcome::Refused;
    };
    let Some(keys) = fuzz_key_set() else {
        return Outcome::Refused;
    };
    let token = match selector % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => {
            let footer = format!("{{\"kid\":\"{}\"}}", keys.active().kid);
            match sign(keys, rest, footer.as_bytes()) {
                Some(token) => token,
                None => return Outcome::Refused,
            }
        }
        _ => {
            let (payload, footer) = match rest.iter().position(|byte| *byte == 0) {
                Some(split) => (&rest[..split], &rest[split + 1..]),
                None => (rest, &[][..]),
            };
            match sign(keys, payload, footer) {
                Some(token) => token,
                None => return Outcome::Refused,
            }
        }
    };
    match verify_token(keys, &token, VOUCHER_CHECKED_AT_MS) {
        Verification::Valid(_) => Outcome::Accepted,
        Verification::Expired(_)
        | Verification::UnknownKey
        | Verification::BadSignature
        | Verification::Malformed => Outcome::Refused,
    }
}

/// One key set for the whole process: key generation is slow next to a check.
/// `None` only if the system's random source failed.
fn fuzz_key_set() -> Option<&'static KeySet> {
    static KEYS: OnceLock<Option<KeySet>> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::generate(VOUCHER_CHECKED_AT_MS).ok())
        .as_ref()
}

/// A v4.public token over `payload` and `footer` with the active key, when
/// pasetors signs them (it refuses an empty payload).
fn sign(keys: &KeySet, payload: &[u8], footer: &[u8]) -> Option<String> {
    let optional_footer = (!footer.is_empty()).then_some(footer);
    PublicToken::sign(&keys.active().secret, payload, optional_footer, None).ok()
}
