//! Every node's map holds every available officer of the cluster: a shard's
//! owner sequences its officers' changes and sends each applied change to every
//! peer, which applies it to its own map (versions keep late or repeated changes
//! harmless; see the actors' `replica` for that side). Nearest lookups therefore
//! stay node-local and exact across shard and node boundaries.

use super::link::ClusterLink;
use super::wire::{OfficerReplica, Wire, WireOfficer};
use crate::domain::AccountId;
use crate::presence::index::OfficerEntry;

/// From the node sequencing the officer: sends an applied upsert to every peer;
/// `home` is the node the officer's session lives on.
pub(crate) fn share_upsert<W>(link: &ClusterLink, entry: &OfficerEntry<W>, home: &str) {
    if !link.is_clustered() {
        return;
    }
    link.broadcast(&Wire::Replica(OfficerReplica::Upsert(
        WireOfficer::from_entry(entry, home),
    )));
}

/// From the node sequencing the officer (or the officer's home after its
/// session died): sends an applied removal to every peer.
pub(crate) fn share_removal(link: &ClusterLink, account_id: AccountId, version: u64) {
    if !link.is_clustered() {
        return;
    }
    link.broadcast(&Wire::Replica(OfficerReplica::Remove {
        account_id,
        version,
    }));
}
