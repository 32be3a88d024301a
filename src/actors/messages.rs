//! Messages shared by several actors: what a session tells its cell (through the
//! cell's ZIP shard), the presence entries cells publish into the index, and the
//! address of a session that may live on another node.

use std::sync::Arc;

use ractor::{ActorRef, MessagingErr};

use crate::domain::AccountId;
use crate::geo::LatLng;
use crate::presence::index::OfficerEntry;

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

/// What a session tells the cell its position falls in. Every command carries the
/// session's presence version, so commands that reach two cells out of order can
/// never resurrect an older position.
#[derive(Debug, Clone)]
pub(crate) enum CellCommand {
    /// An available officer is in this cell, at `entry.position`.
    OfficerPresent {
        /// The officer as citizens will find them.
        entry: OfficerEntry<SessionAddr>,
    },
    /// The officer moved on to another cell; its index entry now belongs there.
    OfficerDeparted {
        /// The officer.
        account_id: AccountId,
    },
    /// The officer is no longer available: remove it from the index.
    OfficerGone {
        /// The officer.
        account_id: AccountId,
        /// Presence version of the removal.
        version: u64,
    },
    /// A citizen is in this cell.
    CitizenPresent {
        /// The citizen.
        account_id: AccountId,
        /// Precise position (memory only).
        position: LatLng,
        /// Presence version of this position.
        version: u64,
        /// Where rechecks are sent.
        session: SessionRef,
    },
    /// The citizen moved on to another cell.
    CitizenDeparted {
        /// The citizen.
        account_id: AccountId,
    },
    /// The citizen is gone: remove it from the index.
    CitizenGone {
        /// The citizen.
        account_id: AccountId,
        /// Presence version of the removal.
        version: u64,
    },
}
