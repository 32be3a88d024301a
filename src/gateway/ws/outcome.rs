//! How an upgrade request and a socket ended, as bounded metrics labels:
//! [`ConnectionOutcome`] for `heyblue_ws_connections_total{outcome}` and
//! [`SocketEnd`] for `heyblue_ws_closes_total{code}`.

use crate::proto::CloseCode;

/// What became of one `GET /v1/ws` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionOutcome {
    /// Authenticated and attached to its session; `welcome` follows.
    Accepted,
    /// A missing, malformed or unknown token (HTTP 401 on the upgrade, or close 4001
    /// after `hello`), or a first frame that was not `hello`.
    Unauthorized,
    /// No `hello` within `HELLO_TIMEOUT_SECONDS` (close 4002).
    AuthTimeout,
    /// The token could not be checked because the store is unavailable (HTTP 503,
    /// or close 1001 after `hello`).
    AuthUnavailable,
    /// The hub refused the socket (close 1001).
    AttachFailed,
    /// The client went away (or broke the protocol) before authenticating.
    Abandoned,
    /// The server began shutting down before the socket was authenticated (close 1001).
    ShuttingDown,
    /// The upgrade came from a web origin `http.allowed_origins` does not list (HTTP 403).
    OriginNotAllowed,
    /// The account opened more sockets in the last minute than
    /// `presence.sockets_per_account_per_minute` (HTTP 429, or close 4013 after `hello`).
    TooManyConnects,
    /// The client address already holds `http.max_pending_sockets_per_ip`
    /// sockets waiting for `hello` (HTTP 429).
    TooManyPending,
}

impl ConnectionOutcome {
    /// Metrics label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectionOutcome::Accepted => "accepted",
            ConnectionOutcome::Unauthorized => "unauthorized",
            ConnectionOutcome::AuthTimeout => "auth_timeout",
            ConnectionOutcome::AuthUnavailable => "auth_unavailable",
            ConnectionOutcome::AttachFailed => "attach_failed",
            ConnectionOutcome::Abandoned => "abandoned",
            ConnectionOutcome::ShuttingDown => "shutting_down",
            ConnectionOutcome::OriginNotAllowed => "origin_not_allowed",
            ConnectionOutcome::TooManyConnects => "too_many_connects",
            ConnectionOutcome::TooManyPending => "too_many_pending",
        }
    }
}

/// How an upgraded socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketEnd {
    /// The server sent a Close frame with this code (or tried to: the client may
    /// already have been unreachable).
    Server(CloseCode),
    /// The client sent a Close frame.
    ClientClosed,
    /// The connection ended or failed without a Close frame from either side.
    ConnectionLost,
}

impl SocketEnd {
    /// Metrics label: the close reason name, or `client_closed` / `connection_lost`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SocketEnd::Server(code) => code.reason(),
            SocketEnd::ClientClosed => "client_closed",
            SocketEnd::ConnectionLost => "connection_lost",
        }
    }
}
