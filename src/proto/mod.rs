//! The WebSocket protocol, pure: message types (serde), the JSON and MessagePack
//! codec, error and close codes, and the limits clients can rely on. No sockets and
//! no actors; the gateway feeds frames in and writes frames out.
//! `docs/protocol.md` is the reference for client authors, and tests decode every
//! example in it with this code so the two cannot drift apart.
//!
//! - `client`      client → server messages and their validation
//! - `server`      server → client messages and the views they carry
//! - `codec`       `decode_client` / `encode_server` (and the reverse pair for the bench)
//! - `errors`      error codes, `ProtocolError`, close codes
//! - `limits`      frame size, rates, timers, each with its reason
//! - `wire_value`  the format-neutral parse that lets decoding name a bad field
//! - `text_id`     serde helper writing ids as strings in both formats
//! - `asyncapi`    the protocol as an AsyncAPI document, from these types
//! - `protocol_page` docs/protocol.md's examples, compiled in

pub(crate) mod asyncapi;
pub(crate) mod client;
pub(crate) mod codec;
pub(crate) mod errors;
pub(crate) mod limits;
mod protocol_page;
pub(crate) mod server;
mod text_id;
mod wire_value;

#[cfg(test)]
mod decode_error_tests;
#[cfg(test)]
mod doc_examples_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

pub(crate) use client::{
    Block, CancelRequest, Chat, ChatText, ClientMessage, ClientMessageType, EndConnection,
    GoAvailable, LocationUpdate, RequestConnection, Respond,
};
// Names only tests need.
#[cfg(test)]
pub(crate) use client::{Hello, Reauth};
pub(crate) use codec::{
    SUBPROTOCOL_JSON, SUBPROTOCOL_MESSAGE_PACK, WireFormat, decode_client, decode_server,
    encode_client, encode_server,
};
#[cfg(test)]
pub(crate) use errors::ProtocolError;
pub(crate) use errors::{CloseCode, ErrorCode};
pub(crate) use server::{
    AvailabilityEndReason, CitizenView, ConnectionEndReason, OfficerView, PeerView, PointsReason,
    RequestState, ServerMessage,
};

/// The key of the type tag in every message map.
pub(crate) const TYPE_TAG: &str = "t";

/// What `benches/codec.rs` needs, behind public wrappers (the protocol types stay
/// crate-private). Not an API: hidden from docs and free to change.
#[doc(hidden)]
pub mod proto_bench_api {
    use super::{
        ClientMessage, LocationUpdate, OfficerView, ServerMessage, WireFormat, decode_client,
        encode_client, encode_server,
    };

    /// The two wire formats.
    #[derive(Debug, Clone, Copy)]
    pub enum Format {
        /// Text frames.
        Json,
        /// Binary frames.
        MessagePack,
    }

    impl From<Format> for WireFormat {
        fn from(format: Format) -> Self {
            match format {
                Format::Json => WireFormat::Json,
                Format::MessagePack => WireFormat::MessagePack,
            }
        }
    }

    /// A decoded client message, opaque to the bench.
    #[derive(Debug)]
    pub struct DecodedClientMessage(
        /// The message, kept so the decode cannot be optimised away.
        ClientMessage,
    );

    impl DecodedClientMessage {
        /// The message's type tag.
        pub fn type_name(&self) -> &'static str {
            self.0.message_type().as_str()
        }
    }

    /// A server push, opaque to the bench.
    #[derive(Debug)]
    pub struct Push(
        /// The message to encode.
        ServerMessage,
    );

    /// A typical `location` frame (all four fields set).
    pub fn location_frame(format: Format) -> Vec<u8> {
        let message = ClientMessage::Location(LocationUpdate {
            lat: 40.712_776,
            lng: -74.005_974,
            accuracy_m: Some(8.5),
            seq: Some(1_042),
        });
        encode_client(&message, format.into()).unwrap_or_default()
    }

    /// A typical `nearest` push with an officer.
    pub fn nearest_push() -> Push {
        Push(ServerMessage::Nearest {
            officer: Some(OfficerView {
                handle: "of_7Kq2mX9p".into(),
                display_name: "Officer Diaz".into(),
                approx_lat: 40.713_1,
                approx_lng: -74.006_2,
                distance_band_m: 250,
                available_until_ms: 1_767_225_600_000,
            }),
        })
    }

    /// Decodes a client frame; `Err` carries the error code.
    pub fn decode(format: Format, frame: &[u8]) -> Result<DecodedClientMessage, &'static str> {
        decode_client(format.into(), frame)
            .map(DecodedClientMessage)
            .map_err(|error| error.code())
    }

    /// Encodes a push (empty on the impossible encoding error).
    pub fn encode(push: &Push, format: Format) -> Vec<u8> {
        encode_server(&push.0, format.into()).unwrap_or_default()
    }
}
