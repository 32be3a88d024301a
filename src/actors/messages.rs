//! Messages shared by several actors: who enters and leaves a cell (told through
//! the cell's ZIP shard), and the address of a session that may live on another
//! node.

use std::sync::Arc;

use ractor::{ActorRef, MessagingErr};

use crate::domain::AccountId;

use super::user_session::UserSessionMsg;

/// A session actor of this node.
pub(crate) type SessionRef = ActorRef<UserSessionMsg>;

/// Where a session on the map lives: here, or on the named node of the cluster
/// (an officer whose presence reached this node from its shard's owner). Citizens
/// on this node's map are always local.
#[derive(Debug, Clone)]
pub(crate) enum SessionAddr {
    /// A session actor of this node.
    Local(SessionRef),
    /// A session on another node (or on this node, reached by account).
    Remote(Arc<str>),
}

impl SessionAddr {
    /// Sends to a local session; remote sessions are reached by the cluster layer
    /// and ignore this (they recheck from their own node's copy of the map).
    pub(crate) fn cast_local(
        &self,
        message: UserSessionMsg,
    ) -> Result<(), MessagingErr<UserSessionMsg>> {
        match self {
            SessionAddr::Local(session) => session.cast(message),
            SessionAddr::Remote(_) => Ok(()),
        }
    }

    /// Whether this is the given local actor.
    pub(crate) fn is_actor(&self, actor: ractor::ActorId) -> bool {
        matches!(self, SessionAddr::Local(session) if session.get_id() == actor)
    }

    /// The node a remote session lives on.
    pub(crate) fn remote_node(&self) -> Option<&Arc<str>> {
        match self {
            SessionAddr::Local(_) => None,
            SessionAddr::Remote(node) => Some(node),
        }
    }

    /// False once a local session stopped; remote ones are judged by membership.
    pub(crate) fn is_alive(&self) -> bool {
        match self {
            SessionAddr::Local(session) => !matches!(
                session.get_status(),
                ractor::ActorStatus::Stopping | ractor::ActorStatus::Stopped
            ),
            SessionAddr::Remote(_) => true,
        }
    }
}

/// What a cell is told: who is in it. Cells are the unit of bookkeeping and
/// passivation (a cell nobody is in stops); positions never pass through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellCommand {
    /// The account's session is now placed in this cell.
    Enter(AccountId),
    /// The account's session left this cell (moved on, or ended).
    Leave(AccountId),
}
