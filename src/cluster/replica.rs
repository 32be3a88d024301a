//! Every node's map holds every available officer of the cluster: a shard's
//! owner sequences its officers' changes in their cells and sends each applied
//! change to every peer, which applies it to its own map (versions keep late or
//! repeated changes harmless) and tells its local citizens whose answer may
//! change. Nearest lookups therefore stay node-local and exact across shard and
//! node boundaries. Officers whose node is lost stay on the map for the
//! disconnect grace, so one who reconnects elsewhere keeps the window.

use std::sync::Arc;

use super::wire::{OfficerReplica, Wire, WireOfficer};
use crate::actors::messages::SessionAddr;
use crate::actors::officer_presence::{self, Sharing};
use crate::domain::AccountId;
use crate::presence::index::{OfficerChange, OfficerEntry};
use crate::presence::services::PresenceServices;

/// The address of a session living on `home`: the actor itself when `home` is
/// this node and the session is live, otherwise the node.
pub(crate) fn session_at(
    services: &PresenceServices,
    home: &str,
    account_id: AccountId,
) -> SessionAddr {
    let link = &services.link;
    if home == &**link.node()
        && let Some(actor) = link.local_session(account_id)
    {
        return SessionAddr::Local(actor);
    }
    SessionAddr::Remote(Arc::from(home))
}

/// From an owner's cell: sends an applied upsert to every peer.
pub(crate) fn share_upsert(
    services_link: &super::link::ClusterLink,
    entry: &OfficerEntry<SessionAddr>,
) {
    if !services_link.is_clustered() {
        return;
    }
    let home = entry
        .session
        .remote_node()
        .map_or_else(|| services_link.node().to_string(), ToString::to_string);
    services_link.broadcast(&Wire::Replica(OfficerReplica::Upsert(
        WireOfficer::from_entry(entry, &home),
    )));
}

/// From an owner's cell (or the officer's home after its session died): sends
/// an applied removal to every peer.
pub(crate) fn share_removal(
    services_link: &super::link::ClusterLink,
    account_id: AccountId,
    version: u64,
) {
    if !services_link.is_clustered() {
        return;
    }
    services_link.broadcast(&Wire::Replica(OfficerReplica::Remove {
        account_id,
        version,
    }));
}

/// Applies a peer's change to this node's map and rechecks affected citizens.
pub(crate) fn apply(services: &PresenceServices, change: OfficerReplica) {
    let change = match change {
        OfficerReplica::Upsert(officer) => {
            let session = session_at(services, &officer.home, officer.account_id);
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
    officer_presence::apply(services, change, Sharing::LocalOnly);
}
