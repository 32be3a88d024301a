//! Frames ↔ messages. A text frame is JSON, a binary frame MessagePack (maps with
//! field names, as `rmp_serde::to_vec_named` writes them); the schema is the same and
//! the server answers in the format the client used. Decoding never panics: every
//! input ends as a message or a [`ProtocolError`] with a stable code.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::client::ClientMessage;
use super::errors::{EncodeError, ProtocolError};
use super::limits::{MAX_FRAME_BYTES, MAX_NESTING_DEPTH};
use super::server::ServerMessage;
use super::wire_value::WireValue;

/// How a frame's bytes are encoded; given by the WebSocket frame kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WireFormat {
    /// Text frames: UTF-8 JSON.
    Json,
    /// Binary frames: MessagePack with maps keyed by field name.
    MessagePack,
}

/// WebSocket subprotocol a client may offer on the upgrade to start the session in
/// JSON (also the default when it offers none).
pub(crate) const SUBPROTOCOL_JSON: &str = "heyblue.v1.json";

/// WebSocket subprotocol a client may offer on the upgrade to start the session in
/// MessagePack, so that pushes sent before its first frame (`welcome` after header
/// authentication) are already binary.
pub(crate) const SUBPROTOCOL_MESSAGE_PACK: &str = "heyblue.v1.msgpack";

impl WireFormat {
    /// The format a subprotocol offered on the upgrade selects, if it is one of ours.
    pub(crate) fn from_subprotocol(subprotocol: &str) -> Option<Self> {
        match subprotocol {
            SUBPROTOCOL_JSON => Some(WireFormat::Json),
            SUBPROTOCOL_MESSAGE_PACK => Some(WireFormat::MessagePack),
            _ => None,
        }
    }
}

impl fmt::Display for WireFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            WireFormat::Json => "JSON",
            WireFormat::MessagePack => "MessagePack",
        })
    }
}

/// Decodes and validates one client frame. The checks run in this order, and the
/// first failure is the answer: size (`frame_too_large`), syntax and shape
/// (`malformed_frame`: not exactly one value, not a map, non-string keys, nesting
/// deeper than `MAX_NESTING_DEPTH`), the `t` tag (`missing_type`, `unknown_type`,
/// `invalid_field`), the fields (`missing_field`, `invalid_field`), then the rules
/// (`invalid_coordinates`, `invalid_field`). Unknown extra fields are ignored.
pub(crate) fn decode_client(
    format: WireFormat,
    frame: &[u8],
) -> Result<ClientMessage, ProtocolError> {
    let value = parse_frame(format, frame)?;
    ClientMessage::from_wire_value(value)
}

/// Decodes one server frame, as the bench client and tests read pushes. Unknown
/// extra fields are ignored here too.
pub(crate) fn decode_server(
    format: WireFormat,
    frame: &[u8],
) -> Result<ServerMessage, ProtocolError> {
    let value = parse_frame(format, frame)?;
    let WireValue::Map(_) = &value else {
        return Err(ProtocolError::MalformedFrame {
            detail: "a message must be a map".to_owned(),
        });
    };
    ServerMessage::deserialize(value).map_err(ProtocolError::from)
}

/// Encodes a server message in the client's format.
///
/// Infallible in practice: the error exists because the serializers' signatures have
/// one, and only a bug in a `Serialize` impl could produce it (see [`EncodeError`]).
pub(crate) fn encode_server(
    message: &ServerMessage,
    format: WireFormat,
) -> Result<Vec<u8>, EncodeError> {
    encode(message, format)
}

/// Encodes a client message, as the bench client and tests send them.
pub(crate) fn encode_client(
    message: &ClientMessage,
    format: WireFormat,
) -> Result<Vec<u8>, EncodeError> {
    encode(message, format)
}

fn encode<T: Serialize>(message: &T, format: WireFormat) -> Result<Vec<u8>, EncodeError> {
    match format {
        WireFormat::Json => Ok(serde_json::to_vec(message)?),
        WireFormat::MessagePack => Ok(rmp_serde::to_vec_named(message)?),
    }
}

/// Size check and parse into a [`WireValue`]; everything that fails here is
/// `frame_too_large` or `malformed_frame`.
fn parse_frame(format: WireFormat, frame: &[u8]) -> Result<WireValue<'_>, ProtocolError> {
    if frame.len() > MAX_FRAME_BYTES {
        return Err(ProtocolError::FrameTooLarge {
            size_bytes: frame.len(),
        });
    }
    match format {
        WireFormat::Json => parse_json(frame),
        WireFormat::MessagePack => parse_message_pack(frame),
    }
    .map_err(|detail| ProtocolError::MalformedFrame { detail })
}

fn parse_json(frame: &[u8]) -> Result<WireValue<'_>, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(frame);
    let value = WireValue::parse(&mut deserializer).map_err(|error| error.to_string())?;
    // Only whitespace may follow the value.
    deserializer.end().map_err(|error| error.to_string())?;
    Ok(value)
}

fn parse_message_pack(frame: &[u8]) -> Result<WireValue<'_>, String> {
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(frame);
    // Our own bound (in `WireValue::parse`) trips first and names the limit; this
    // one also covers the probe for trailing data below.
    deserializer.set_max_depth(MAX_NESTING_DEPTH + 1);
    let value = WireValue::parse(&mut deserializer).map_err(|error| error.to_string())?;
    // rmp-serde does not expose how much it consumed; trying to read a second value
    // tells: only "unexpected end of input" means the frame held exactly one.
    match serde::de::IgnoredAny::deserialize(&mut deserializer) {
        Err(rmp_serde::decode::Error::InvalidMarkerRead(read_error))
            if read_error.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Ok(value)
        }
        Ok(_) | Err(_) => Err("trailing bytes after the message".to_owned()),
    }
}
