//! What can go wrong on the wire, as clients see it: the stable `error` codes, the
//! decoding error that carries one ([`ProtocolError`]), the WebSocket close codes
//! ([`CloseCode`]) and the (practically impossible) encoding error.

use serde::{Deserialize, Serialize};

use super::TYPE_TAG;
use super::limits::{ERROR_MESSAGE_MAX_CHARS, MAX_FRAME_BYTES};
use super::server::ServerMessage;
use super::wire_value::{FieldError, FieldErrorKind};

/// The stable `code` of an `error` message. Clients branch on the code, never on the
/// human message. New codes are added at the end; a code is never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorCode {
    /// The frame is larger than `MAX_FRAME_BYTES`.
    FrameTooLarge,
    /// The frame is not JSON / MessagePack at all, or not a map with string keys.
    MalformedFrame,
    /// The map has no `t` type tag.
    MissingType,
    /// The `t` type tag names no client message.
    UnknownType,
    /// A required field is absent (or null).
    MissingField,
    /// A field has the wrong type or a value outside its allowed range.
    InvalidField,
    /// `lat`/`lng` are not finite or outside [-90, 90] / [-180, 180].
    InvalidCoordinates,
    /// A message other than `hello` arrived before the socket was authenticated.
    NotAuthenticated,
    /// `hello` arrived on a socket that is already authenticated.
    AlreadyAuthenticated,
    /// The account's role may not send this message (e.g. a citizen's `go_available`).
    Forbidden,
    /// The session sent more control messages than the per-minute limit allows.
    RateLimited,
    /// `respond` / `cancel_request` named a request this account has no part in, or
    /// one that is no longer pending.
    UnknownRequest,
    /// `request_connection` while the citizen already has a pending request (with
    /// another `op_id`): cancel it first.
    RequestPending,
    /// The server failed to process a valid message; retrying later may work.
    Internal,
    /// The server does not handle this message type yet (a valid message of the
    /// protocol that this server version has no implementation for).
    Unsupported,
    /// A citizen's `location` is farther from the last accepted one than
    /// `presence.max_plausible_speed_mps` allows for the time between them; it
    /// was not used (the previous position stands).
    ImplausibleLocation,
    /// `request_connection` to an officer whose earlier request from this
    /// citizen was cancelled, declined or expired less than
    /// `connections.request_cooldown_seconds` ago.
    RequestCooldown,
    /// `request_connection` beyond `connections.max_requests_per_hour`.
    RequestLimit,
    /// `reauth` with a token that is not a valid access token of this socket's
    /// sign-in; the socket keeps its old expiry.
    ReauthFailed,
    /// `chat` or `end_connection` naming no open virtual connection of the
    /// sender (never established, not theirs, or already ended).
    NotConnected,
    /// `chat` beyond `connections.chat_messages_per_minute` for the account.
    ChatLimit,
}

impl ErrorCode {
    /// The wire spelling, also used as a metrics label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::MalformedFrame => "malformed_frame",
            ErrorCode::MissingType => "missing_type",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::InvalidCoordinates => "invalid_coordinates",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::AlreadyAuthenticated => "already_authenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UnknownRequest => "unknown_request",
            ErrorCode::RequestPending => "request_pending",
            ErrorCode::Internal => "internal",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::ImplausibleLocation => "implausible_location",
            ErrorCode::RequestCooldown => "request_cooldown",
            ErrorCode::RequestLimit => "request_limit",
            ErrorCode::ReauthFailed => "reauth_failed",
            ErrorCode::NotConnected => "not_connected",
            ErrorCode::ChatLimit => "chat_limit",
        }
    }
}

/// Why a client frame could not be turned into a [`ClientMessage`]. Each variant maps
/// to one [`ErrorCode`]; the `Display` text is the human message sent to the client.
/// The session answers with [`ServerMessage::Error`] and stays open.
///
/// [`ClientMessage`]: super::client::ClientMessage
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ProtocolError {
    /// The frame exceeds [`MAX_FRAME_BYTES`].
    #[error("frame of {size_bytes} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")]
    FrameTooLarge {
        /// Size of the refused frame.
        size_bytes: usize,
    },
    /// The bytes are not a single JSON / MessagePack value, or not a map with string keys.
    #[error("malformed frame: {detail}")]
    MalformedFrame {
        /// The parser's description of the problem.
        detail: String,
    },
    /// The map has no `t` key.
    #[error("message has no \"t\" type tag")]
    MissingType,
    /// The `t` key names no client message.
    #[error("unknown message type {name:?}")]
    UnknownType {
        /// The tag the client sent (truncated).
        name: String,
    },
    /// A required field is absent or null.
    #[error("missing field `{field}`")]
    MissingField {
        /// Dotted path of the field.
        field: String,
    },
    /// A field has the wrong type or a value out of range.
    #[error("invalid field `{field}`: {detail}")]
    InvalidField {
        /// Dotted path of the field.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// `lat`/`lng` are not finite or out of range.
    #[error("invalid coordinates: {detail}")]
    InvalidCoordinates {
        /// Which bound was broken.
        detail: String,
    },
}

impl ProtocolError {
    /// The error code sent to the client.
    pub(crate) fn error_code(&self) -> ErrorCode {
        match self {
            ProtocolError::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
            ProtocolError::MalformedFrame { .. } => ErrorCode::MalformedFrame,
            ProtocolError::MissingType => ErrorCode::MissingType,
            ProtocolError::UnknownType { .. } => ErrorCode::UnknownType,
            ProtocolError::MissingField { .. } => ErrorCode::MissingField,
            ProtocolError::InvalidField { .. } => ErrorCode::InvalidField,
            ProtocolError::InvalidCoordinates { .. } => ErrorCode::InvalidCoordinates,
        }
    }

    /// The stable code as text (`"invalid_field"`), for clients and metrics labels.
    pub(crate) fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The human message, bounded to [`ERROR_MESSAGE_MAX_CHARS`].
    pub(crate) fn message(&self) -> String {
        truncate_chars(&self.to_string(), ERROR_MESSAGE_MAX_CHARS)
    }
}

impl From<FieldError> for ProtocolError {
    fn from(error: FieldError) -> Self {
        let field = error.field_path();
        let is_type_tag = field == TYPE_TAG;
        match error.kind() {
            FieldErrorKind::Missing if is_type_tag => ProtocolError::MissingType,
            FieldErrorKind::Missing => ProtocolError::MissingField { field },
            FieldErrorKind::UnknownVariant { variant, .. } if is_type_tag => {
                ProtocolError::UnknownType {
                    name: variant.clone(),
                }
            }
            FieldErrorKind::UnknownVariant { variant, expected } => ProtocolError::InvalidField {
                field,
                detail: format!("unknown value {variant:?}, expected one of {expected:?}"),
            },
            FieldErrorKind::Invalid { detail } => ProtocolError::InvalidField {
                field: if field.is_empty() {
                    "message".to_owned()
                } else {
                    field
                },
                detail: detail.clone(),
            },
        }
    }
}

impl From<ProtocolError> for ServerMessage {
    fn from(error: ProtocolError) -> Self {
        ServerMessage::Error {
            code: error.error_code(),
            message: error.message(),
        }
    }
}

/// A server message that could not be serialized. Our types contain nothing a
/// serializer can refuse (string map keys only, no failing `Serialize` impls) and
/// both serializers write into a `Vec`, so this signals a bug; the gateway logs it
/// and drops the message rather than killing the session.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    /// serde_json refused the value.
    #[error("cannot encode message as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// rmp-serde refused the value.
    #[error("cannot encode message as MessagePack: {0}")]
    MessagePack(#[from] rmp_serde::encode::Error),
}

/// WebSocket close codes the server sends, with the reason text that goes in the
/// Close frame. Application codes live in the private 4000–4999 range; two standard
/// codes cover shutdown and oversized messages. A client reconnects after every code
/// except 4001 and 4011, which need a new token first, and 4003, which means another
/// socket of the account is active (reconnecting would take it over in turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CloseCode {
    /// 1001: the server is shutting down; reconnect with backoff.
    GoingAway,
    /// 1009: a message exceeded the transport cap (`TRANSPORT_MAX_MESSAGE_BYTES`).
    MessageTooBig,
    /// 4001: the token on the upgrade or in `hello` is missing, unknown or expired,
    /// or the first frame was not `hello`; refresh the token, then reconnect.
    Unauthorized,
    /// 4002: no `hello` within `HELLO_TIMEOUT_SECONDS` of the upgrade.
    AuthTimeout,
    /// 4003: a newer connection of the same account took over (one device per account).
    Replaced,
    /// 4004: nothing was heard from the client for `IDLE_TIMEOUT_SECONDS`.
    HeartbeatTimeout,
    /// 4008: too many invalid or rate-limited frames (`ERRORS_PER_MINUTE_BEFORE_CLOSE`).
    PolicyViolation,
    /// 4009: the client read too slowly and its outbound queue filled up.
    SlowConsumer,
    /// 4010: this node is draining; ask `GET /v1/route` again and reconnect there.
    ReconnectElsewhere,
    /// 4011: the token was revoked (logout, roster removal); sign in again.
    TokenRevoked,
    /// 4012: the access token expired and no `reauth` renewed it; refresh the
    /// token and reconnect.
    TokenExpired,
    /// 4013: the account opened more sockets in the last minute than
    /// `presence.sockets_per_account_per_minute` allows; wait a minute, then
    /// reconnect.
    TooManyConnects,
}

impl CloseCode {
    /// Every close code, in numeric order (for the published documents and
    /// exhaustive checks).
    pub(crate) const ALL: [CloseCode; 12] = [
        CloseCode::GoingAway,
        CloseCode::MessageTooBig,
        CloseCode::Unauthorized,
        CloseCode::AuthTimeout,
        CloseCode::Replaced,
        CloseCode::HeartbeatTimeout,
        CloseCode::PolicyViolation,
        CloseCode::SlowConsumer,
        CloseCode::ReconnectElsewhere,
        CloseCode::TokenRevoked,
        CloseCode::TokenExpired,
        CloseCode::TooManyConnects,
    ];

    /// The numeric code of the Close frame.
    pub(crate) fn code(self) -> u16 {
        match self {
            CloseCode::GoingAway => 1001,
            CloseCode::MessageTooBig => 1009,
            CloseCode::Unauthorized => 4001,
            CloseCode::AuthTimeout => 4002,
            CloseCode::Replaced => 4003,
            CloseCode::HeartbeatTimeout => 4004,
            CloseCode::PolicyViolation => 4008,
            CloseCode::SlowConsumer => 4009,
            CloseCode::ReconnectElsewhere => 4010,
            CloseCode::TokenRevoked => 4011,
            CloseCode::TokenExpired => 4012,
            CloseCode::TooManyConnects => 4013,
        }
    }

    /// What the code means, for client authors.
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            CloseCode::GoingAway => {
                "the server is shutting down, or cannot serve the socket right now"
            }
            CloseCode::MessageTooBig => "a message exceeded the transport cap",
            CloseCode::Unauthorized => {
                "the token on the upgrade or in `hello` is missing, unknown or expired, \
                 or the first frame was not `hello`"
            }
            CloseCode::AuthTimeout => "no `hello` arrived in time after the upgrade",
            CloseCode::Replaced => "a newer socket of the same account took over",
            CloseCode::HeartbeatTimeout => "nothing was heard from the client for too long",
            CloseCode::PolicyViolation => "too many invalid or rate-limited frames",
            CloseCode::SlowConsumer => "the client read too slowly and its queue filled up",
            CloseCode::ReconnectElsewhere => "this node is draining",
            CloseCode::TokenRevoked => {
                "the token was revoked (logout, sign-out everywhere, roster removal, disabled)"
            }
            CloseCode::TokenExpired => "the access token expired and no `reauth` renewed it",
            CloseCode::TooManyConnects => "the account opened too many sockets in the last minute",
        }
    }

    /// What a client does after this close.
    pub(crate) fn client_action(self) -> CloseAction {
        match self {
            CloseCode::GoingAway
            | CloseCode::MessageTooBig
            | CloseCode::AuthTimeout
            | CloseCode::HeartbeatTimeout
            | CloseCode::PolicyViolation
            | CloseCode::SlowConsumer => CloseAction::ReconnectWithBackoff,
            CloseCode::TooManyConnects => CloseAction::WaitAMinute,
            CloseCode::ReconnectElsewhere => CloseAction::RouteAgain,
            CloseCode::Unauthorized | CloseCode::TokenExpired => CloseAction::RefreshToken,
            CloseCode::TokenRevoked => CloseAction::SignIn,
            CloseCode::Replaced => CloseAction::StayClosed,
        }
    }

    /// The reason text of the Close frame: a stable snake_case name.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            CloseCode::GoingAway => "going_away",
            CloseCode::MessageTooBig => "message_too_big",
            CloseCode::Unauthorized => "unauthorized",
            CloseCode::AuthTimeout => "auth_timeout",
            CloseCode::Replaced => "replaced",
            CloseCode::HeartbeatTimeout => "heartbeat_timeout",
            CloseCode::PolicyViolation => "policy_violation",
            CloseCode::SlowConsumer => "slow_consumer",
            CloseCode::ReconnectElsewhere => "reconnect_elsewhere",
            CloseCode::TokenRevoked => "token_revoked",
            CloseCode::TokenExpired => "token_expired",
            CloseCode::TooManyConnects => "too_many_connects",
        }
    }
}

/// What a client does after a close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseAction {
    /// Reconnect after a jittered, growing pause.
    ReconnectWithBackoff,
    /// Ask `GET /v1/route` again and connect to the node it names.
    RouteAgain,
    /// Wait a minute (the per-account socket budget), then reconnect.
    WaitAMinute,
    /// Refresh the access token (`POST /v1/auth/refresh`), then reconnect.
    RefreshToken,
    /// The sign-in is over: sign in again before reconnecting.
    SignIn,
    /// Another socket of the account is active: reconnecting would take it over.
    StayClosed,
}

impl CloseAction {
    /// The name published in the AsyncAPI document.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CloseAction::ReconnectWithBackoff => "reconnect_with_backoff",
            CloseAction::RouteAgain => "route_again",
            CloseAction::WaitAMinute => "wait_a_minute",
            CloseAction::RefreshToken => "refresh_token",
            CloseAction::SignIn => "sign_in",
            CloseAction::StayClosed => "stay_closed",
        }
    }
}

/// `text` cut to at most `max_chars` characters, the last one `…` when it was cut.
pub(crate) fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let kept_chars = max_chars.saturating_sub(1);
    let cut_at = text
        .char_indices()
        .nth(kept_chars)
        .map_or(text.len(), |(byte_index, _)| byte_index);
    let mut truncated = text[..cut_at].to_owned();
    truncated.push('…');
    truncated
}
