//! The seam between sockets and sessions. The WebSocket gateway authenticates a
//! socket, then `attach`es it to the account's session and hands every decoded
//! client message to the returned inbox; the session answers through the socket's
//! [`OutboundSender`]. Tests of the socket loop substitute their own hub.

use async_trait::async_trait;

use super::outbound::OutboundSender;
use crate::identity::Authenticated;
use crate::proto::ClientMessage;

/// Why a socket could not be attached.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum AttachError {
    /// The node is shutting down or draining.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The session could not be started.
    #[error("the session could not start: {0}")]
    Failed(String),
}

/// Where an attached socket sends what its client says.
pub(crate) trait SessionInbox: Send + Sync + std::fmt::Debug {
    /// A decoded, validated client message, in arrival order (locations already
    /// coalesced by the socket loop). False when the session is gone: the socket
    /// should then close so the client reconnects.
    fn deliver(&self, message: ClientMessage) -> bool;
    /// The socket is gone (closed by either side, or failed).
    fn detach(&self);
}

/// Binds authenticated sockets to sessions.
#[async_trait]
pub(crate) trait SessionHub: Send + Sync + std::fmt::Debug {
    /// Attaches the socket behind `outbound` to `caller`'s session, replacing any
    /// socket the account had (which is closed with `replaced`).
    async fn attach(
        &self,
        caller: Authenticated,
        outbound: OutboundSender,
    ) -> Result<Box<dyn SessionInbox>, AttachError>;
}
