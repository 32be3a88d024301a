//! Messages shared by several actors: what a session tells its cell (through the
//! cell's ZIP shard), and the presence entries cells publish into the index.

use ractor::ActorRef;

use crate::domain::AccountId;
use crate::geo::LatLng;
use crate::presence::index::OfficerEntry;

use super::user_session::UserSessionMsg;

/// A session actor, as cells and the index reach it.
pub(crate) type SessionRef = ActorRef<UserSessionMsg>;

/// What a session tells the cell its position falls in. Every command carries the
/// session's presence version, so commands that reach two cells out of order can
/// never resurrect an older position.
#[derive(Debug, Clone)]
pub(crate) enum CellCommand {
    /// An available officer is in this cell, at `entry.position`.
    OfficerPresent {
        /// The officer as citizens will find them.
        entry: OfficerEntry<SessionRef>,
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
