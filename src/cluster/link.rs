//! `ClusterLink`: what the presence actors of a node need from the cluster,
//! readable without a message. It answers who owns a shard (from the owners
//! `Placement` publishes after every membership change), sends a [`Wire`]
//! message to one peer or all of them through their routers' process groups,
//! and pushes to a session wherever it lives. On a node that runs alone it owns
//! every shard and never sends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use dashmap::DashMap;
use ractor::{ActorRef, pg};

use super::rendezvous::{self, Candidate};
use super::router::RouterMsg;
use super::wire::{Wire, WireFrame};
use crate::actors::messages::{SessionAddr, SessionRef};
use crate::actors::user_session::UserSessionMsg;
use crate::config::RegionConfig;
use crate::domain::AccountId;
use crate::geo::ShardId;
use crate::proto::ServerMessage;

/// Request origins are pruned once this many are remembered.
const REQUEST_ORIGINS_PRUNE_AT: usize = 4_096;
/// How long a request origin is kept (requests time out long before).
const REQUEST_ORIGIN_KEPT: std::time::Duration = std::time::Duration::from_secs(600);

/// Process group every node's router joins.
pub(crate) const ROUTERS_GROUP: &str = "heyblue.routers";

/// The process group of one node's router.
pub(crate) fn router_group(node: &str) -> String {
    format!("heyblue.router.{node}")
}

/// The node's view of the cluster.
#[derive(Debug)]
pub(crate) struct ClusterLink {
    node: Arc<str>,
    clustered: bool,
    regions: Vec<RegionConfig>,
    owners: RwLock<Arc<Vec<Candidate>>>,
    draining: AtomicBool,
    /// Public WebSocket base URL of every node heard from.
    public_urls: DashMap<String, String>,
    /// Node holding each connection request pushed here from elsewhere, so an
    /// officer's answer finds its way back.
    request_origins: DashMap<uuid::Uuid, (Arc<str>, std::time::Instant)>,
    /// Live sessions of this node by account (shared with the supervisor), for
    /// pushes that arrive from other nodes.
    local_sessions: OnceLock<Arc<DashMap<AccountId, SessionRef>>>,
}

impl ClusterLink {
    /// A link for node `node`; `clustered` is false for a node running alone.
    pub(crate) fn new(
        node: &str,
        region: &str,
        clustered: bool,
        regions: Vec<RegionConfig>,
    ) -> Self {
        Self {
            node: Arc::from(node),
            clustered,
            regions,
            owners: RwLock::new(Arc::new(vec![Candidate {
                name: node.to_owned(),
                region: region.to_owned(),
            }])),
            draining: AtomicBool::new(false),
            public_urls: DashMap::new(),
            request_origins: DashMap::new(),
            local_sessions: OnceLock::new(),
        }
    }

    /// This node's name.
    pub(crate) fn node(&self) -> &Arc<str> {
        &self.node
    }

    /// Whether this node is part of a cluster.
    pub(crate) fn is_clustered(&self) -> bool {
        self.clustered
    }

    /// The region map.
    pub(crate) fn regions(&self) -> &[RegionConfig] {
        &self.regions
    }

    /// Hands over the supervisor's map of live sessions (once, at start).
    pub(crate) fn attach_local_sessions(&self, sessions: Arc<DashMap<AccountId, SessionRef>>) {
        let _already_set = self.local_sessions.set(sessions);
    }

    /// The live local session of an account.
    pub(crate) fn local_session(&self, account_id: AccountId) -> Option<SessionRef> {
        self.local_sessions
            .get()?
            .get(&account_id)
            .map(|entry| entry.clone())
    }

    /// Replaces the nodes that may own shards; returns whether they changed.
    pub(crate) fn set_owners(&self, owners: Vec<Candidate>) -> bool {
        let mut current = self
            .owners
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if **current == owners {
            return false;
        }
        *current = Arc::new(owners);
        true
    }

    /// Nodes that may own shards now.
    pub(crate) fn owners(&self) -> Arc<Vec<Candidate>> {
        self.owners
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// The node owning `shard` now.
    pub(crate) fn owner_of(&self, shard: &ShardId) -> Arc<str> {
        if !self.clustered {
            return self.node.clone();
        }
        let owners = self.owners();
        match rendezvous::owner_of(shard, &owners, &self.regions) {
            Some(owner) if owner.name.as_str() == &*self.node => self.node.clone(),
            Some(owner) => Arc::from(owner.name.as_str()),
            None => self.node.clone(),
        }
    }

    /// Whether this node owns `shard`.
    pub(crate) fn owns(&self, shard: &ShardId) -> bool {
        *self.owner_of(shard) == *self.node
    }

    /// Records the public WebSocket base URL of a node.
    pub(crate) fn set_public_url(&self, node: &str, url: &str) {
        if self.public_urls.get(node).is_none_or(|known| *known != url) {
            self.public_urls.insert(node.to_owned(), url.to_owned());
        }
    }

    /// The public WebSocket base URL of a node, if known.
    pub(crate) fn public_url_of(&self, node: &str) -> Option<String> {
        self.public_urls.get(node).map(|url| url.clone())
    }

    /// Remembers that connection request `request_id` lives on `node`.
    pub(crate) fn remember_request_origin(&self, request_id: uuid::Uuid, node: &str) {
        let now = std::time::Instant::now();
        if self.request_origins.len() >= REQUEST_ORIGINS_PRUNE_AT {
            self.request_origins
                .retain(|_, (_, at)| now.duration_since(*at) < REQUEST_ORIGIN_KEPT);
        }
        self.request_origins
            .insert(request_id, (Arc::from(node), now));
    }

    /// The node a connection request pushed here from elsewhere lives on.
    pub(crate) fn request_origin(&self, request_id: uuid::Uuid) -> Option<Arc<str>> {
        self.request_origins
            .get(&request_id)
            .map(|entry| entry.0.clone())
    }

    /// Marks the node as draining: its sessions end without taking officers
    /// off the map, since they reconnect elsewhere within the grace.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether the node is draining.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Sends `wire` to `node`'s router; false when no live link reaches it.
    pub(crate) fn send(&self, node: &str, wire: &Wire) -> bool {
        let Some(router) = remote_members(&router_group(node)).into_iter().next() else {
            crate::metrics::cluster_message_dropped(wire_kind(wire));
            return false;
        };
        let sent = router
            .cast(RouterMsg::Frame(WireFrame::encode(wire)))
            .is_ok();
        if sent {
            crate::metrics::cluster_message_sent(wire_kind(wire));
        }
        sent
    }

    /// Sends `wire` to every peer's router.
    pub(crate) fn broadcast(&self, wire: &Wire) {
        if !self.clustered {
            return;
        }
        let routers = remote_members(ROUTERS_GROUP);
        if routers.is_empty() {
            return;
        }
        let frame = WireFrame::encode(wire);
        for router in routers {
            if router.cast(RouterMsg::Frame(frame.clone())).is_ok() {
                crate::metrics::cluster_message_sent(wire_kind(wire));
            }
        }
    }

    /// Pushes `message` to the account's session wherever it lives; false when
    /// it is known to be gone.
    pub(crate) fn push(
        &self,
        session: &SessionAddr,
        account_id: AccountId,
        message: ServerMessage,
    ) -> bool {
        match session {
            SessionAddr::Local(actor) => {
                actor.cast(UserSessionMsg::Push(Box::new(message))).is_ok()
            }
            SessionAddr::Remote(node) if **node == *self.node => self
                .local_session(account_id)
                .is_some_and(|actor| actor.cast(UserSessionMsg::Push(Box::new(message))).is_ok()),
            SessionAddr::Remote(node) => self.send(
                node,
                &Wire::Push {
                    account_id,
                    message,
                    origin: self.node.to_string(),
                },
            ),
        }
    }
}

/// The bounded label of a message, for metrics.
pub(crate) fn wire_kind(wire: &Wire) -> &'static str {
    match wire {
        Wire::Heartbeat(_) => "heartbeat",
        Wire::ToShard { .. } => "to_shard",
        Wire::Replica(_) => "replica",
        Wire::Push { .. } => "push",
        Wire::Respond { .. } => "respond",
        Wire::Block { .. } => "block",
        Wire::Revoked { .. } => "revoked",
    }
}

fn remote_members(group: &str) -> Vec<ActorRef<RouterMsg>> {
    pg::get_members(&group.to_owned())
        .into_iter()
        .filter(|cell| !cell.get_id().is_local())
        .map(ActorRef::<RouterMsg>::from)
        .collect()
}
