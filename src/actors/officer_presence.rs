//! Where an officer change meets the node: applies it to the node-local map
//! (through the one function that also finds the citizens it affects), shares it
//! with the other nodes when this node is the one sequencing it, and asks the
//! affected citizens' sessions to recheck. Called by an officer's own session
//! (its shard is owned here), by the node router (a peer's officer whose shard
//! is owned here, or a peer's applied change), and by the cleanup after a
//! session that died.

use super::messages::SessionAddr;
use super::user_session::UserSessionMsg;
use crate::cluster::replica;
use crate::presence::index::OfficerChange;
use crate::presence::services::PresenceServices;

/// Whether an applied change goes to the other nodes too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// This node sequences the change (it owns the officer's shard, or saw the
    /// officer's session die): every peer gets it.
    WithPeers,
    /// The change came from a peer (or only this node's map holds it).
    LocalOnly,
}

/// Applies `change` to this node's map; see the module doc.
pub(crate) fn apply(
    services: &PresenceServices,
    change: OfficerChange<SessionAddr>,
    sharing: Sharing,
) {
    let link = &services.link;
    let shared = (sharing == Sharing::WithPeers && link.is_clustered()).then(|| change.clone());
    let outcome = services
        .index
        .apply_officer_change(change, services.config.nearest_max_radius_meters);
    if outcome.applied {
        match shared {
            Some(OfficerChange::Upsert(entry)) => replica::share_upsert(link, &entry),
            Some(OfficerChange::Remove {
                account_id,
                version,
            }) => replica::share_removal(link, account_id, version),
            None => {}
        }
    }
    notify(outcome.recheck);
}

/// Asks each session to recheck its answer.
pub(crate) fn notify(sessions: Vec<SessionAddr>) {
    for session in sessions {
        // A session that stopped meanwhile has nothing left to recheck.
        let _stopped = session.cast_local(UserSessionMsg::RecheckNearest);
    }
}
