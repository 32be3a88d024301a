//! Client → server messages: [`ClientMessage`] and one payload struct per message
//! that has fields, plus the semantic checks (coordinate ranges, window minutes,
//! string lengths) every decoded message passes before the session sees it.
//!
//! Decoding dispatches on the `t` tag by hand ([`ClientMessage::from_wire_value`])
//! instead of through serde's internally tagged derive, so a bad field is reported
//! by name (see `wire_value`). Serializing uses the derive, and tests check that
//! the two agree for every message type. Unknown extra fields are ignored, so a
//! newer client can send fields an older server does not know yet.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, de};
use uuid::Uuid;

use super::TYPE_TAG;
use super::errors::ProtocolError;
use super::limits::{
    AVAILABILITY_MAX_MINUTES, AVAILABILITY_MIN_MINUTES, MAX_CHAT_CHARS, MAX_HANDLE_BYTES,
    MAX_OP_ID_BYTES, MAX_TOKEN_BYTES,
};
use super::text_id;
use super::wire_value::{FieldErrorKind, WireValue};
use crate::domain::connection::ConnectionMode;

/// A message from a phone (or the bench) to the server.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum ClientMessage {
    /// Authenticates the socket when the upgrade carried no `Authorization` header.
    Hello(Hello),
    /// The device's current position.
    Location(LocationUpdate),
    /// An officer starts or renews an availability window.
    GoAvailable(GoAvailable),
    /// An officer ends the availability window now.
    GoUnavailable,
    /// A citizen asks an available officer for a connection.
    RequestConnection(RequestConnection),
    /// An officer accepts or declines a pending request.
    Respond(Respond),
    /// A citizen withdraws a pending request.
    CancelRequest(CancelRequest),
    /// Application-level liveness check; answered with `pong`.
    Ping,
    /// An officer blocks the citizen behind a request for 24 hours.
    Block(Block),
    /// A fresh access token for this socket, before the current one expires.
    Reauth(Reauth),
    /// A text message to the other person of an established virtual connection.
    Chat(Chat),
    /// Ends an established virtual connection's chat (either side).
    EndConnection(EndConnection),
}

/// The `t` tag of a client message, without its fields: what the decoder dispatches
/// on, what rate limiters and metrics labels look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientMessageType {
    /// `hello`
    Hello,
    /// `location`
    Location,
    /// `go_available`
    GoAvailable,
    /// `go_unavailable`
    GoUnavailable,
    /// `request_connection`
    RequestConnection,
    /// `respond`
    Respond,
    /// `cancel_request`
    CancelRequest,
    /// `ping`
    Ping,
    /// `block`
    Block,
    /// `reauth`
    Reauth,
    /// `chat`
    Chat,
    /// `end_connection`
    EndConnection,
}

impl ClientMessageType {
    /// The wire tag.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ClientMessageType::Hello => "hello",
            ClientMessageType::Location => "location",
            ClientMessageType::GoAvailable => "go_available",
            ClientMessageType::GoUnavailable => "go_unavailable",
            ClientMessageType::RequestConnection => "request_connection",
            ClientMessageType::Respond => "respond",
            ClientMessageType::CancelRequest => "cancel_request",
            ClientMessageType::Ping => "ping",
            ClientMessageType::Block => "block",
            ClientMessageType::Reauth => "reauth",
            ClientMessageType::Chat => "chat",
            ClientMessageType::EndConnection => "end_connection",
        }
    }

    /// Whether the message counts against `CONTROL_MESSAGES_PER_MINUTE`. Locations
    /// are coalesced instead of counted.
    pub(crate) fn is_control(self) -> bool {
        match self {
            ClientMessageType::Location => false,
            ClientMessageType::Hello
            | ClientMessageType::GoAvailable
            | ClientMessageType::GoUnavailable
            | ClientMessageType::RequestConnection
            | ClientMessageType::Respond
            | ClientMessageType::CancelRequest
            | ClientMessageType::Ping
            | ClientMessageType::Block
            | ClientMessageType::Reauth
            | ClientMessageType::Chat
            | ClientMessageType::EndConnection => true,
        }
    }
}

/// `hello{token}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Hello {
    /// The access token from `auth/otp/verify` or `auth/refresh`. Never logged.
    #[schema(min_length = 1, max_length = 1024)]
    pub(crate) token: String,
}

impl fmt::Debug for Hello {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Hello")
            .field("token", &"<redacted>")
            .finish()
    }
}

/// `location{lat,lng,accuracy_m?,seq?}`.
#[derive(Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct LocationUpdate {
    /// Latitude in degrees, WGS 84, in [-90, 90]. Precise: never logged or stored.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub(crate) lat: f64,
    /// Longitude in degrees, WGS 84, in [-180, 180]. Precise: never logged or stored.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub(crate) lng: f64,
    /// Reported horizontal accuracy in metres, when the device gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0)]
    pub(crate) accuracy_m: Option<f64>,
    /// Client sequence number, so a client can tell which update a push reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seq: Option<u64>,
}

impl fmt::Debug for LocationUpdate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LocationUpdate")
            .field("lat", &"<redacted>")
            .field("lng", &"<redacted>")
            .field("accuracy_m", &self.accuracy_m)
            .field("seq", &self.seq)
            .finish()
    }
}

/// `go_available{minutes?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct GoAvailable {
    /// Length of the window in minutes, 1–15; absent means 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 15)]
    pub(crate) minutes: Option<u32>,
}

impl GoAvailable {
    /// The window length asked for, with the default applied.
    pub(crate) fn minutes_or_default(&self) -> u32 {
        self.minutes.unwrap_or(AVAILABILITY_MAX_MINUTES)
    }
}

/// `request_connection{officer,op_id,mode?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct RequestConnection {
    /// The officer's opaque handle, as received in `nearest` / `nearby`.
    #[schema(min_length = 1, max_length = 64)]
    pub(crate) officer: String,
    /// Client-chosen idempotency key: a retry with the same `op_id` yields the
    /// same request instead of a second one.
    #[schema(min_length = 1, max_length = 64)]
    pub(crate) op_id: String,
    /// `in_person` (the default) or `virtual`.
    #[serde(default, skip_serializing_if = "ConnectionMode::is_in_person")]
    pub(crate) mode: ConnectionMode,
}

/// `chat{connection_id,text}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Chat {
    /// The established virtual connection.
    #[serde(with = "text_id")]
    #[schema(value_type = String, format = Uuid)]
    pub(crate) connection_id: Uuid,
    /// The message: 1 to 500 characters. Relayed, never stored or logged.
    #[schema(value_type = String, min_length = 1, max_length = 500)]
    pub(crate) text: ChatText,
}

/// The text of a chat message. Its `Debug` prints only its length, so no log
/// line or panic message can carry what people wrote to each other.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub(crate) struct ChatText(pub(crate) String);

impl fmt::Debug for ChatText {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "ChatText({} chars)", self.0.chars().count())
    }
}

/// `end_connection{connection_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct EndConnection {
    /// The established virtual connection.
    #[serde(with = "text_id")]
    pub(crate) connection_id: Uuid,
}

/// `respond{request_id,accept}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Respond {
    /// The request from `connection_requested`.
    #[serde(with = "text_id")]
    #[schema(value_type = String, format = Uuid)]
    pub(crate) request_id: Uuid,
    /// `true` accepts (establishing the connection), `false` declines.
    pub(crate) accept: bool,
}

/// `cancel_request{request_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct CancelRequest {
    /// The request from the `request_update{state: pending}` acknowledgement.
    #[serde(with = "text_id")]
    #[schema(value_type = String, format = Uuid)]
    pub(crate) request_id: Uuid,
}

/// `block{request_id}`: the officer blocks the citizen who made the request (a
/// pending one, which is declined, or one that ended within the last hour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Block {
    /// The request from `connection_requested`.
    #[serde(with = "text_id")]
    #[schema(value_type = String, format = Uuid)]
    pub(crate) request_id: Uuid,
}

/// `reauth{token}`: a new access token of the same sign-in (from
/// `/v1/auth/refresh`), which moves the socket's expiry.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Reauth {
    /// The new access token. Never logged.
    #[schema(min_length = 1, max_length = 1024)]
    pub(crate) token: String,
}

impl fmt::Debug for Reauth {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Reauth")
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Reauth {
    fn validated(self) -> Result<Self, ProtocolError> {
        check_text("token", &self.token, MAX_TOKEN_BYTES)?;
        Ok(self)
    }
}

impl ClientMessage {
    /// The message's type tag.
    pub(crate) fn message_type(&self) -> ClientMessageType {
        match self {
            ClientMessage::Hello(_) => ClientMessageType::Hello,
            ClientMessage::Location(_) => ClientMessageType::Location,
            ClientMessage::GoAvailable(_) => ClientMessageType::GoAvailable,
            ClientMessage::GoUnavailable => ClientMessageType::GoUnavailable,
            ClientMessage::RequestConnection(_) => ClientMessageType::RequestConnection,
            ClientMessage::Respond(_) => ClientMessageType::Respond,
            ClientMessage::CancelRequest(_) => ClientMessageType::CancelRequest,
            ClientMessage::Ping => ClientMessageType::Ping,
            ClientMessage::Block(_) => ClientMessageType::Block,
            ClientMessage::Reauth(_) => ClientMessageType::Reauth,
            ClientMessage::Chat(_) => ClientMessageType::Chat,
            ClientMessage::EndConnection(_) => ClientMessageType::EndConnection,
        }
    }

    /// Types and validates one parsed frame. `value` must be a map; its `t` tag
    /// picks the payload type, the other keys fill it (unknown keys are ignored,
    /// null values count as absent).
    pub(crate) fn from_wire_value(value: WireValue<'_>) -> Result<Self, ProtocolError> {
        let WireValue::Map(mut entries) = value else {
            return Err(ProtocolError::MalformedFrame {
                detail: "a message must be a map".to_owned(),
            });
        };
        // A null field counts as absent: optional fields become `None`, required
        // ones `missing_field`, whatever the client's serializer does with `None`.
        entries.retain(|(_, field_value)| !field_value.is_null());
        let value = WireValue::Map(entries);
        let message_type = match value.get(TYPE_TAG) {
            None => return Err(ProtocolError::MissingType),
            Some(tag) => type_from_tag(tag.clone())?,
        };
        match message_type {
            ClientMessageType::Hello => {
                Ok(ClientMessage::Hello(typed::<Hello>(value)?.validated()?))
            }
            ClientMessageType::Location => Ok(ClientMessage::Location(
                LocationUpdate::from_wire_value(value)?.validated()?,
            )),
            ClientMessageType::GoAvailable => Ok(ClientMessage::GoAvailable(
                typed::<GoAvailable>(value)?.validated()?,
            )),
            ClientMessageType::GoUnavailable => Ok(ClientMessage::GoUnavailable),
            ClientMessageType::RequestConnection => Ok(ClientMessage::RequestConnection(
                typed::<RequestConnection>(value)?.validated()?,
            )),
            ClientMessageType::Respond => Ok(ClientMessage::Respond(typed(value)?)),
            ClientMessageType::CancelRequest => Ok(ClientMessage::CancelRequest(typed(value)?)),
            ClientMessageType::Ping => Ok(ClientMessage::Ping),
            ClientMessageType::Block => Ok(ClientMessage::Block(typed(value)?)),
            ClientMessageType::Reauth => {
                Ok(ClientMessage::Reauth(typed::<Reauth>(value)?.validated()?))
            }
            ClientMessageType::Chat => Ok(ClientMessage::Chat(typed::<Chat>(value)?.validated()?)),
            ClientMessageType::EndConnection => Ok(ClientMessage::EndConnection(typed(value)?)),
        }
    }
}

/// Deserializing a `ClientMessage` through any serde format runs the same typing and
/// validation as `decode_client`, with the error flattened to its message.
impl<'de> Deserialize<'de> for ClientMessage {
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
    {
        let value = WireValue::parse(deserializer)?;
        ClientMessage::from_wire_value(value).map_err(de::Error::custom)
    }
}

/// Reads the `t` tag: unknown names and non-strings are told apart.
fn type_from_tag(tag: WireValue<'_>) -> Result<ClientMessageType, ProtocolError> {
    ClientMessageType::deserialize(tag).map_err(|error| match error.kind() {
        FieldErrorKind::UnknownVariant { variant, .. } => ProtocolError::UnknownType {
            name: variant.clone(),
        },
        FieldErrorKind::Missing | FieldErrorKind::Invalid { .. } => ProtocolError::InvalidField {
            field: TYPE_TAG.to_owned(),
            detail: "must be a string naming a message type".to_owned(),
        },
    })
}

/// Deserializes a payload struct from the message map, naming the failing field.
fn typed<'de, T: Deserialize<'de>>(value: WireValue<'de>) -> Result<T, ProtocolError> {
    T::deserialize(value).map_err(ProtocolError::from)
}

/// An `invalid_field` error.
fn invalid_field(field: &str, detail: &str) -> ProtocolError {
    ProtocolError::InvalidField {
        field: field.to_owned(),
        detail: detail.to_owned(),
    }
}

/// Checks a required string is non-empty and at most `max_bytes` long, without
/// quoting it (tokens must not be echoed).
fn check_text(field: &str, text: &str, max_bytes: usize) -> Result<(), ProtocolError> {
    if text.is_empty() {
        return Err(invalid_field(field, "must not be empty"));
    }
    if text.len() > max_bytes {
        return Err(ProtocolError::InvalidField {
            field: field.to_owned(),
            detail: format!("must be at most {max_bytes} bytes"),
        });
    }
    Ok(())
}

/// Checks a position is a real one: both numbers finite, latitude in [-90, 90] and
/// longitude in [-180, 180]. The message never quotes the values, which may be a
/// precise position.
pub(crate) fn check_coordinates(lat: f64, lng: f64) -> Result<(), ProtocolError> {
    let problem = if !lat.is_finite() || !lng.is_finite() {
        Some("lat and lng must be finite numbers")
    } else if !(-90.0..=90.0).contains(&lat) {
        Some("lat must be within [-90, 90]")
    } else if !(-180.0..=180.0).contains(&lng) {
        Some("lng must be within [-180, 180]")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(detail) => Err(ProtocolError::InvalidCoordinates {
            detail: detail.to_owned(),
        }),
    }
}

impl Hello {
    fn validated(self) -> Result<Self, ProtocolError> {
        check_text("token", &self.token, MAX_TOKEN_BYTES)?;
        Ok(self)
    }
}

impl LocationUpdate {
    /// Types a location without letting a type error quote a coordinate (a string
    /// `"40.7128"` is still a precise position).
    fn from_wire_value(value: WireValue<'_>) -> Result<Self, ProtocolError> {
        typed::<LocationUpdate>(value).map_err(|error| match error {
            ProtocolError::InvalidField { field, .. } if field == "lat" || field == "lng" => {
                ProtocolError::InvalidField {
                    field,
                    detail: "must be a number".to_owned(),
                }
            }
            other => other,
        })
    }

    fn validated(self) -> Result<Self, ProtocolError> {
        check_coordinates(self.lat, self.lng)?;
        if let Some(accuracy_m) = self.accuracy_m
            && !(accuracy_m.is_finite() && accuracy_m >= 0.0)
        {
            return Err(invalid_field(
                "accuracy_m",
                "must be a finite number of metres, 0 or more",
            ));
        }
        Ok(self)
    }
}

impl GoAvailable {
    fn validated(self) -> Result<Self, ProtocolError> {
        if let Some(minutes) = self.minutes
            && !(AVAILABILITY_MIN_MINUTES..=AVAILABILITY_MAX_MINUTES).contains(&minutes)
        {
            return Err(ProtocolError::InvalidField {
                field: "minutes".to_owned(),
                detail: format!(
                    "must be between {AVAILABILITY_MIN_MINUTES} and {AVAILABILITY_MAX_MINUTES}"
                ),
            });
        }
        Ok(self)
    }
}

impl RequestConnection {
    fn validated(self) -> Result<Self, ProtocolError> {
        check_text("officer", &self.officer, MAX_HANDLE_BYTES)?;
        check_text("op_id", &self.op_id, MAX_OP_ID_BYTES)?;
        Ok(self)
    }
}

impl Chat {
    fn validated(self) -> Result<Self, ProtocolError> {
        if self.text.0.trim().is_empty() {
            return Err(invalid_field("text", "must not be empty"));
        }
        if self.text.0.chars().count() > MAX_CHAT_CHARS {
            return Err(ProtocolError::InvalidField {
                field: "text".to_owned(),
                detail: format!("must be at most {MAX_CHAT_CHARS} characters"),
            });
        }
        Ok(self)
    }
}
