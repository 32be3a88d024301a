//! Server → client messages: [`ServerMessage`], the views of other people it carries
//! ([`OfficerView`], [`CitizenView`], [`PeerView`]) and the enums of reasons and
//! states. A view never holds a precise position or an account id: officers appear
//! by opaque handle, at their resolution-9 cell centre, with a distance band.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::client::ChatText;
use super::errors::ErrorCode;
use super::text_id;
use crate::domain::connection::{ConnectionMode, RewardWithheld};
use crate::domain::{AccountId, Role};

/// A message from the server to one client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum ServerMessage {
    /// First message after authentication: who the socket belongs to and the pace
    /// the server expects.
    Welcome {
        /// The authenticated account.
        #[serde(with = "text_id")]
        #[schema(value_type = String, format = Uuid)]
        account_id: AccountId,
        /// What the account may do.
        role: Role,
        /// The server's clock (Unix ms), so clients can correct `*_ms` deadlines.
        server_time_ms: i64,
        /// Location updates closer together than this are coalesced (ms).
        location_interval_ms: u64,
    },
    /// How often, and after how much movement, to send `location`: on connect
    /// and whenever the session's cadence class changes. `interval_ms: 0` means
    /// no reports are needed (an officer who is not available).
    Cadence {
        /// Least time between two reports (ms); 0: send none.
        interval_ms: u64,
        /// Least movement since the last report that makes a new one due (metres).
        min_distance_m: u32,
    },
    /// To citizens: the nearest available officer changed (`null`: none in range).
    /// Also sent once on connect.
    Nearest {
        /// The officer, or `null` when no available officer is within range.
        officer: Option<OfficerView>,
    },
    /// To citizens: the nearest available officer came within the alert threshold.
    Nearby {
        /// The officer who is near.
        officer: OfficerView,
    },
    /// To officers: the availability window started or was renewed.
    Availability {
        /// When the window ends unless renewed (Unix ms).
        until_ms: i64,
    },
    /// To officers: the availability window is over.
    AvailabilityEnded {
        /// Why it ended.
        reason: AvailabilityEndReason,
    },
    /// To officers: a citizen asks for a connection.
    ConnectionRequested {
        /// Answer with `respond{request_id, accept}`.
        #[serde(with = "text_id")]
        #[schema(value_type = String, format = Uuid)]
        request_id: Uuid,
        /// Who is asking.
        citizen: CitizenView,
        /// When the request expires unanswered (Unix ms).
        expires_at_ms: i64,
    },
    /// To both sides: a request changed state (`pending` acknowledges a
    /// `request_connection` to the citizen).
    RequestUpdate {
        /// The request.
        #[serde(with = "text_id")]
        #[schema(value_type = String, format = Uuid)]
        request_id: Uuid,
        /// Its new state.
        state: RequestState,
        /// The citizen's `op_id` from `request_connection`, echoed to the citizen so
        /// it can match the acknowledgement to its request; absent for the officer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op_id: Option<String>,
    },
    /// To both sides: the request was accepted and the connection recorded.
    ConnectionEstablished {
        /// The durable connection record.
        #[serde(with = "text_id")]
        #[schema(value_type = String, format = Uuid)]
        connection_id: Uuid,
        /// The other person.
        peer: PeerView,
        /// Points credited to the receiver for this connection (0 when the
        /// anti-farming rules withheld the reward).
        points: i64,
        /// Which rule withheld the points, when `points` is 0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        withheld: Option<RewardWithheld>,
        /// A short quote about community and connection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quote: Option<String>,
        /// `virtual` for a virtual connection (chat is open until
        /// `connection_ended`); absent for an in-person one.
        #[serde(default, skip_serializing_if = "ConnectionMode::is_in_person")]
        mode: ConnectionMode,
    },
    /// To the other person of an open virtual connection: a `chat` message.
    Chat {
        /// The connection.
        #[serde(with = "text_id")]
        connection_id: Uuid,
        /// What the sender wrote.
        text: ChatText,
        /// When the server relayed it (Unix ms).
        sent_at_ms: i64,
    },
    /// To both people: a virtual connection's chat is over.
    ConnectionEnded {
        /// The connection.
        #[serde(with = "text_id")]
        connection_id: Uuid,
        /// Why.
        reason: ConnectionEndReason,
    },
    /// The receiver's points balance changed.
    Points {
        /// Balance after the change.
        balance: i64,
        /// The change: positive for credits, negative for spending.
        delta: i64,
        /// What caused it.
        reason: PointsReason,
    },
    /// The receiver earned a trophy.
    Trophy {
        /// Stable trophy id (`first_connection`).
        trophy: String,
        /// Short title to show.
        title: String,
        /// One sentence saying what it was awarded for.
        description: String,
    },
    /// The last frame could not be processed; the session stays open.
    Error {
        /// Stable code clients branch on.
        code: ErrorCode,
        /// Human description; may change between versions.
        message: String,
    },
    /// Answer to `ping`.
    Pong,
    /// The socket's access token expires at `expires_at_ms`: send `reauth` with
    /// a fresh one before then, or the socket closes with 4012.
    TokenExpiring {
        /// When the token expires (Unix ms).
        expires_at_ms: i64,
    },
    /// `reauth` was accepted: the socket now expires at `expires_at_ms`.
    Reauthenticated {
        /// The new token's expiry (Unix ms).
        expires_at_ms: i64,
    },
    /// To the officer: the citizen behind `request_id` is blocked; their
    /// requests to this officer are refused as `officer_unavailable` until then.
    CitizenBlocked {
        /// The request named in `block`.
        #[serde(with = "text_id")]
        #[schema(value_type = String, format = Uuid)]
        request_id: Uuid,
        /// When the block ends (Unix ms).
        until_ms: i64,
    },
}

impl ServerMessage {
    /// The wire tag, also a metrics label.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            ServerMessage::Welcome { .. } => "welcome",
            ServerMessage::Cadence { .. } => "cadence",
            ServerMessage::Nearest { .. } => "nearest",
            ServerMessage::Nearby { .. } => "nearby",
            ServerMessage::Availability { .. } => "availability",
            ServerMessage::AvailabilityEnded { .. } => "availability_ended",
            ServerMessage::ConnectionRequested { .. } => "connection_requested",
            ServerMessage::RequestUpdate { .. } => "request_update",
            ServerMessage::ConnectionEstablished { .. } => "connection_established",
            ServerMessage::Chat { .. } => "chat",
            ServerMessage::ConnectionEnded { .. } => "connection_ended",
            ServerMessage::Points { .. } => "points",
            ServerMessage::Trophy { .. } => "trophy",
            ServerMessage::Error { .. } => "error",
            ServerMessage::Pong => "pong",
            ServerMessage::CitizenBlocked { .. } => "citizen_blocked",
            ServerMessage::TokenExpiring { .. } => "token_expiring",
            ServerMessage::Reauthenticated { .. } => "reauthenticated",
        }
    }
}

/// An available officer as a citizen sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub(crate) struct OfficerView {
    /// Opaque handle (not the account id), used in `request_connection`.
    /// Shared with the map's entry, as is the name: a push copies no string.
    #[schema(value_type = String)]
    pub(crate) handle: Arc<str>,
    /// The officer's display name.
    #[schema(value_type = String)]
    pub(crate) display_name: Arc<str>,
    /// Latitude of the centre of the officer's resolution-9 H3 cell, not their fix.
    pub(crate) approx_lat: f64,
    /// Longitude of the centre of the officer's resolution-9 H3 cell.
    pub(crate) approx_lng: f64,
    /// Distance from the citizen, rounded up to a band (metres).
    pub(crate) distance_band_m: u32,
    /// When the officer's availability window ends (Unix ms).
    pub(crate) available_until_ms: i64,
}

/// A requesting citizen as the officer sees them: no position, no handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct CitizenView {
    /// The citizen's display name.
    pub(crate) display_name: String,
    /// Distance from the officer, rounded up to a band (metres).
    pub(crate) distance_band_m: u32,
}

/// The other person of an established connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct PeerView {
    /// Their display name.
    pub(crate) display_name: String,
    /// Whether they are the officer or the citizen.
    pub(crate) role: Role,
}

/// Why an officer's availability window ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AvailabilityEndReason {
    /// The window ran out without a renewal.
    Expired,
    /// The officer sent `go_unavailable`.
    WentUnavailable,
    /// The officer logged out (sent to their other open socket, if any).
    Logout,
    /// The officer's socket was gone longer than the disconnect grace; sent on the
    /// next connection.
    Disconnected,
    /// The officer was removed from the roster.
    RosterRemoved,
}

/// Why a virtual connection's chat ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConnectionEndReason {
    /// The receiver sent `end_connection`.
    EndedByYou,
    /// The other person sent `end_connection`.
    EndedByPeer,
    /// `connections.virtual_connection_max_minutes` passed.
    TimeLimit,
}

/// The state of a connection request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RequestState {
    /// Delivered to the officer, waiting for an answer.
    Pending,
    /// The officer accepted; `connection_established` follows.
    Accepted,
    /// The officer declined.
    Declined,
    /// Nobody answered within the request timeout.
    Expired,
    /// The citizen cancelled.
    Cancelled,
    /// The officer is already handling another request.
    OfficerBusy,
    /// The handle names no officer who is available now.
    OfficerUnavailable,
    /// The two people are (or, at accept time, were) farther apart than allowed.
    OutOfRange,
}

impl RequestState {
    /// The wire name (also the metrics label).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Accepted => "accepted",
            RequestState::Declined => "declined",
            RequestState::Expired => "expired",
            RequestState::Cancelled => "cancelled",
            RequestState::OfficerBusy => "officer_busy",
            RequestState::OfficerUnavailable => "officer_unavailable",
            RequestState::OutOfRange => "out_of_range",
        }
    }
}

/// Why a points balance moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PointsReason {
    /// Credit for an established connection.
    Connection,
    /// Spent on a storefront offer (a voucher was issued).
    Redemption,
    /// Spent on a municipal scheme.
    Scheme,
    /// Donated to a charity.
    Donation,
    /// Corrected by an admin.
    Adjustment,
}
