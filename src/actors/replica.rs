//! A peer's applied officer change, applied to this node's map: its session is
//! addressed by the node it lives on, and the local citizens whose answer may
//! change recheck. Officers whose node is lost stay on the map for the
//! disconnect grace (see `Placement`), so one who reconnects elsewhere keeps
//! the window.

use super::officer_presence::Sharing;
use super::services::PresenceServices;
use crate::cluster::wire::OfficerReplica;
use crate::presence::index::OfficerChange;

/// Applies a peer's change to this node's map and rechecks affected citizens.
pub(crate) fn apply(services: &PresenceServices, change: OfficerReplica) {
    let change = match change {
        OfficerReplica::Upsert(officer) => {
            let session = services.reach.session_at(&officer.home, officer.account_id);
            let Some(entry) = officer.into_entry(session) else {
                return;
            };
            OfficerChange::Upsert(entry)
        }
        OfficerReplica::Remove {
            account_id,
            version,
        } => OfficerChange::Remove {
            account_id,
            version,
        },
    };
    services.officers.apply(change, Sharing::LocalOnly);
}
