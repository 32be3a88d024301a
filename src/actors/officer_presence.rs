//! Where an officer change meets the node: applies it to the node-local map
//! (through the one function that also finds the citizens it affects), shares it
//! with the other nodes when this node is the one sequencing it, and asks the
//! affected citizens' sessions to recheck. Called by an officer's own session
//! (its shard is owned here), by the node router (a peer's officer whose shard
//! is owned here, or a peer's applied change), and by the cleanup after a
//! session that died.

use std::sync::Arc;

use super::messages::SessionAddr;
use super::user_session::UserSessionMsg;
use crate::cluster::link::ClusterLink;
use crate::cluster::replica;
use crate::presence::index::{OfficerChange, PresenceIndex};

/// Whether an applied change goes to the other nodes too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// This node sequences the change (it owns the officer's shard, or saw the
    /// officer's session die): every peer gets it.
    WithPeers,
    /// The change came from a peer (or only this node's map holds it).
    LocalOnly,
}

/// This node's map of officers, as officer changes need it.
#[derive(Debug, Clone)]
pub(crate) struct OfficerMap {
    /// The node-local index.
    pub(crate) index: Arc<PresenceIndex<SessionAddr>>,
    /// Where applied changes are shared.
    pub(crate) link: Arc<ClusterLink>,
    /// Radius within which an officer change can matter to a citizen, metres.
    pub(crate) radius_m: f64,
}

impl OfficerMap {
    /// Applies `change` to this node's map; see the module doc.
    pub(crate) fn apply(&self, change: OfficerChange<SessionAddr>, sharing: Sharing) {
        let link = &self.link;
        let shared = (sharing == Sharing::WithPeers && link.is_clustered()).then(|| change.clone());
        let outcome = self.index.apply_officer_change(change, self.radius_m);
        if outcome.applied {
            match shared {
                Some(OfficerChange::Upsert(entry)) => {
                    let home = entry.session.remote_node().unwrap_or(link.node());
                    replica::share_upsert(link, &entry, home);
                }
                Some(OfficerChange::Remove {
                    account_id,
                    version,
                }) => replica::share_removal(link, account_id, version),
                None => {}
            }
        }
        notify(outcome.recheck);
    }
}

/// Asks each session to recheck its answer.
pub(crate) fn notify(sessions: Vec<SessionAddr>) {
    for session in sessions {
        // A session that stopped meanwhile has nothing left to recheck.
        let _stopped = session.cast_local(UserSessionMsg::RecheckNearest);
    }
}
