//! Who is in the cluster, as this node hears it: every peer's last heartbeat and
//! when it came. A peer is live while its heartbeats keep coming and it is not
//! draining; a draining node (this one included) keeps serving its sockets but
//! owns no shard. Pure bookkeeping on a caller-supplied clock, so it is tested
//! without sockets.

use std::collections::BTreeMap;

use tokio::time::{Duration, Instant};

use super::rendezvous::Candidate;
use super::wire::NodeStatus;

/// A peer as last heard.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// Its last heartbeat.
    pub(crate) status: NodeStatus,
    /// When that heartbeat arrived.
    pub(crate) heard_at: Instant,
}

/// This node and the peers it hears.
#[derive(Debug)]
pub(crate) struct Membership {
    me: NodeStatus,
    peers: BTreeMap<String, Peer>,
    timeout: Duration,
}

impl Membership {
    /// A cluster of one: this node.
    pub(crate) fn new(me: NodeStatus, timeout: Duration) -> Self {
        Self {
            me,
            peers: BTreeMap::new(),
            timeout,
        }
    }

    /// This node's status.
    pub(crate) fn me(&self) -> &NodeStatus {
        &self.me
    }

    /// Updates this node's load figures for the next heartbeat.
    pub(crate) fn set_load(&mut self, sessions: u64, shards: u64) {
        self.me.sessions = sessions;
        self.me.shards = shards;
    }

    /// Marks this node as draining.
    pub(crate) fn start_draining(&mut self) {
        self.me.draining = true;
    }

    /// Records a heartbeat; returns whether the peer was not known before.
    pub(crate) fn heard(&mut self, status: NodeStatus, now: Instant) -> bool {
        if status.name == self.me.name {
            return false;
        }
        let name = status.name.clone();
        self.peers
            .insert(
                name,
                Peer {
                    status,
                    heard_at: now,
                },
            )
            .is_none()
    }

    /// Forgets a peer whose link went down; returns whether it was known.
    pub(crate) fn lost(&mut self, name: &str) -> bool {
        self.peers.remove(name).is_some()
    }

    /// Forgets peers silent for longer than the timeout; returns their names.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<String> {
        let timeout = self.timeout;
        let silent: Vec<String> = self
            .peers
            .iter()
            .filter(|(_, peer)| now.duration_since(peer.heard_at) > timeout)
            .map(|(name, _)| name.clone())
            .collect();
        for name in &silent {
            self.peers.remove(name);
        }
        silent
    }

    /// Nodes that may own shards, sorted by name: live, not draining. When
    /// every node drains, this node keeps its shards rather than none owning them.
    pub(crate) fn owners(&self) -> Vec<Candidate> {
        let mut owners: Vec<Candidate> = std::iter::once(&self.me)
            .chain(self.peers.values().map(|peer| &peer.status))
            .filter(|status| !status.draining)
            .map(|status| Candidate {
                name: status.name.clone(),
                region: status.region.clone(),
            })
            .collect();
        if owners.is_empty() {
            owners.push(Candidate {
                name: self.me.name.clone(),
                region: self.me.region.clone(),
            });
        }
        owners.sort_by(|a, b| a.name.cmp(&b.name));
        owners
    }

    /// Every node heard from, this one first.
    pub(crate) fn nodes(&self) -> Vec<NodeStatus> {
        std::iter::once(self.me.clone())
            .chain(self.peers.values().map(|peer| peer.status.clone()))
            .collect()
    }

    /// The status of a node, if heard.
    pub(crate) fn status_of(&self, name: &str) -> Option<&NodeStatus> {
        if name == self.me.name {
            return Some(&self.me);
        }
        self.peers.get(name).map(|peer| &peer.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, draining: bool) -> NodeStatus {
        NodeStatus {
            name: name.to_owned(),
            region: "east".to_owned(),
            public_url: format!("ws://{name}"),
            draining,
            sessions: 0,
            shards: 0,
        }
    }

    fn names(owners: &[Candidate]) -> Vec<&str> {
        owners.iter().map(|owner| owner.name.as_str()).collect()
    }

    #[test]
    fn heartbeats_make_peers_owners_and_silence_removes_them() {
        let start = Instant::now();
        let mut membership = Membership::new(status("b", false), Duration::from_secs(2));
        assert!(membership.heard(status("a", false), start));
        assert!(!membership.heard(status("a", false), start));
        assert!(membership.heard(status("c", false), start + Duration::from_secs(1)));
        assert_eq!(names(&membership.owners()), ["a", "b", "c"]);
        let expired = membership.expire(start + Duration::from_millis(2_500));
        assert_eq!(expired, ["a"]);
        assert_eq!(names(&membership.owners()), ["b", "c"]);
    }

    #[test]
    fn draining_nodes_own_nothing_unless_all_drain() {
        let now = Instant::now();
        let mut membership = Membership::new(status("b", false), Duration::from_secs(2));
        membership.heard(status("a", true), now);
        assert_eq!(names(&membership.owners()), ["b"]);
        membership.start_draining();
        assert_eq!(
            names(&membership.owners()),
            ["b"],
            "someone must own shards"
        );
        membership.heard(status("c", false), now);
        assert_eq!(names(&membership.owners()), ["c"]);
    }

    #[test]
    fn a_lost_link_removes_the_peer_at_once() {
        let now = Instant::now();
        let mut membership = Membership::new(status("b", false), Duration::from_secs(2));
        membership.heard(status("a", false), now);
        assert!(membership.lost("a"));
        assert!(!membership.lost("a"));
        assert_eq!(names(&membership.owners()), ["b"]);
        assert!(
            !membership.heard(status("b", false), now),
            "self is not a peer"
        );
    }
}
