//! `Placement`: one per node. Keeps the cluster membership (heartbeats from the
//! other nodes' routers, lost links from ractor_cluster), publishes which nodes
//! own shards to the [`ClusterLink`] (sessions read owners from it without a
//! message), tells sessions to re-register when owners change, dials seeds,
//! starts the shards this node serves on first use and supervises them, and
//! keeps officers of a lost node on the map for the disconnect grace. Live
//! shards are also published in a node-local directory. On a node running
//! alone it owns every shard and none of the cluster work happens.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use ractor_cluster::NodeServerMessage;

use super::messages::SessionAddr;
use super::officer_presence::{OfficerMap, Sharing};
use super::reach::LocalSessions;
use super::user_session::UserSessionMsg;
use super::zip_shard::{ZipShard, ZipShardArgs, ZipShardMsg};
use crate::cluster::link::ClusterLink;
use crate::cluster::membership::Membership;
use crate::cluster::node;
use crate::cluster::wire::{NodeStatus, Wire};
use crate::domain::AccountId;
use crate::geo::ShardId;
use crate::presence::index::OfficerChange;

/// Live shards of this node, readable without asking `Placement`.
pub(crate) type ShardDirectory = Arc<DashMap<ShardId, ActorRef<ZipShardMsg>>>;

/// Seeds are dialled every this many heartbeats.
const SEED_DIAL_EVERY_TICKS: u64 = 8;
/// A lost link is confirmed after this long (a duplicate link closing is not a loss).
const LINK_LOSS_CONFIRM: Duration = Duration::from_millis(200);

/// The actor.
#[derive(Debug)]
pub(crate) struct Placement;

/// How this node takes part in a cluster.
#[derive(Debug, Clone)]
pub(crate) struct ClusterRole {
    /// This node's first status.
    pub(crate) me: NodeStatus,
    /// Heartbeat period.
    pub(crate) heartbeat_interval: Duration,
    /// Silence after which a peer is gone.
    pub(crate) peer_timeout: Duration,
    /// Seed addresses to dial.
    pub(crate) seeds: Vec<String>,
    /// This node's advertised cluster address (`host:port`).
    pub(crate) advertised: String,
    /// The address the cluster port is bound to.
    pub(crate) listen: std::net::SocketAddr,
    /// The ractor_cluster node server.
    pub(crate) node_server: ActorRef<NodeServerMessage>,
    /// Mutual TLS of the links (`[cluster.tls]`), for dialing seeds.
    pub(crate) link_tls: Option<crate::tls::ClusterLinkTls>,
}

/// What placement starts with.
#[derive(Debug, Clone)]
pub(crate) struct PlacementArgs {
    /// The node's cluster view.
    pub(crate) link: Arc<ClusterLink>,
    /// Published live shards.
    pub(crate) directory: ShardDirectory,
    /// This node's officers (those of a lost node leave it after the grace).
    pub(crate) officers: OfficerMap,
    /// This node's live sessions (told to re-register when owners change).
    pub(crate) sessions: LocalSessions,
    /// Empty cells stop after this long.
    pub(crate) cell_idle_after: Duration,
    /// How long an officer of a lost node stays on the map.
    pub(crate) disconnect_grace: Duration,
    /// Cluster settings; `None` on a node running alone.
    pub(crate) cluster: Option<ClusterRole>,
}

/// Placement's state.
#[derive(Debug)]
pub(crate) struct PlacementState {
    args: PlacementArgs,
    membership: Option<Membership>,
    ticks: u64,
}

/// One node as the admin view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeView {
    /// Its last status.
    pub(crate) status: NodeStatus,
    /// Whether it may own shards now.
    pub(crate) owner: bool,
    /// Whether it is this node.
    pub(crate) this_node: bool,
}

/// Placement's API.
#[derive(Debug, ractor_cluster::RactorMessage)]
pub(crate) enum PlacementMsg {
    /// The local shard actor for `shard`, spawned if needed.
    EnsureShard {
        /// The area.
        shard: ShardId,
        /// Answered with the shard's actor.
        reply: RpcReplyPort<Result<ActorRef<ZipShardMsg>, String>>,
    },
    /// A peer's heartbeat.
    Heartbeat(NodeStatus),
    /// Timer: send a heartbeat, expire silent peers, dial seeds.
    Tick,
    /// ractor_cluster closed a link to this node.
    PeerLinkLost(String),
    /// Timer: confirm a lost link (no other link to the node remains).
    ConfirmLinkLost(String),
    /// ractor_cluster closed a link before it authenticated (peer address).
    LinkRefused(String),
    /// Timer: an officer of a lost node had the grace to reconnect elsewhere.
    OrphanGraceOver {
        /// The officer.
        account_id: AccountId,
        /// Version of the entry when its node was lost.
        version: u64,
    },
    /// Hand every shard to the other nodes (before this node stops).
    Drain(RpcReplyPort<()>),
    /// Every node heard from, for the admin view.
    Nodes(RpcReplyPort<Vec<NodeView>>),
}

impl Actor for Placement {
    type Msg = PlacementMsg;
    type State = PlacementState;
    type Arguments = PlacementArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let membership = args
            .cluster
            .as_ref()
            .map(|cluster| Membership::new(cluster.me.clone(), cluster.peer_timeout));
        if let Some(cluster) = &args.cluster {
            let placement = myself.clone();
            let on_event: node::LinkEvents = Box::new(move |event| {
                let message = match event {
                    node::LinkEvent::Lost(name) => PlacementMsg::PeerLinkLost(name),
                    node::LinkEvent::Refused(address) => PlacementMsg::LinkRefused(address),
                };
                let _placement_gone = placement.cast(message);
            });
            node::subscribe(&cluster.node_server, on_event);
            myself.send_interval(cluster.heartbeat_interval, || PlacementMsg::Tick);
        }
        Ok(PlacementState {
            args,
            membership,
            ticks: 0,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PlacementMsg::EnsureShard { shard, reply } => {
                let outcome = ensure_shard(&myself, state, shard).await;
                let _caller_gone = reply.send(outcome);
            }
            PlacementMsg::Heartbeat(status) => on_heartbeat(state, status),
            PlacementMsg::Tick => on_tick(&myself, state),
            PlacementMsg::PeerLinkLost(name) => {
                myself.send_after(LINK_LOSS_CONFIRM, move || {
                    PlacementMsg::ConfirmLinkLost(name)
                });
            }
            PlacementMsg::ConfirmLinkLost(name) => {
                let still_linked =
                    !ractor::pg::get_members(&crate::cluster::link::router_group(&name))
                        .iter()
                        .all(|member| member.get_id().is_local());
                if !still_linked
                    && let Some(membership) = &mut state.membership
                    && membership.lost(&name)
                {
                    tracing::warn!(peer = %name, "cluster node lost");
                    on_membership_changed(&myself, state, &[name]);
                }
            }
            PlacementMsg::LinkRefused(address) => {
                if let Some(cluster) = &state.args.cluster {
                    let node_server = cluster.node_server.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(LINK_LOSS_CONFIRM).await;
                        node::report_refused_link(&node_server, &address).await;
                    });
                }
            }
            PlacementMsg::OrphanGraceOver {
                account_id,
                version,
            } => on_orphan_grace_over(state, account_id, version),
            PlacementMsg::Drain(reply) => {
                on_drain(state);
                let _caller_gone = reply.send(());
            }
            PlacementMsg::Nodes(reply) => {
                let _caller_gone = reply.send(node_views(state));
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(shard, _, _) => {
                forget(state, shard.get_id());
            }
            SupervisionEvent::ActorFailed(shard, error) => {
                tracing::warn!(%error, "zip shard failed; it is rebuilt on the next update");
                crate::metrics::actor_failed("zip_shard");
                forget(state, shard.get_id());
            }
            SupervisionEvent::ActorStarted(_)
            | SupervisionEvent::ProcessGroupChanged(_)
            | SupervisionEvent::PidLifecycleEvent(_) => {}
        }
        Ok(())
    }
}

async fn ensure_shard(
    myself: &ActorRef<PlacementMsg>,
    state: &mut PlacementState,
    shard: ShardId,
) -> Result<ActorRef<ZipShardMsg>, String> {
    if let Some(existing) = state.args.directory.get(&shard) {
        return Ok(existing.clone());
    }
    let args = ZipShardArgs {
        shard,
        cell_idle_after: state.args.cell_idle_after,
    };
    let (actor, _handle) = Actor::spawn_linked(None, ZipShard, args, myself.get_cell())
        .await
        .map_err(|error| error.to_string())?;
    state.args.directory.insert(shard, actor.clone());
    Ok(actor)
}

fn forget(state: &PlacementState, actor_id: ractor::ActorId) {
    state
        .args
        .directory
        .retain(|_, actor| actor.get_id() != actor_id);
}

fn on_heartbeat(state: &mut PlacementState, status: NodeStatus) {
    let Some(membership) = &mut state.membership else {
        return;
    };
    let draining_before = membership
        .status_of(&status.name)
        .map(|known| known.draining);
    let name = status.name.clone();
    let now = tokio::time::Instant::now();
    let draining_now = status.draining;
    let is_new = membership.heard(status, now);
    if is_new {
        tracing::info!(peer = %name, "cluster node up");
    }
    if is_new || draining_before != Some(draining_now) {
        publish_owners(state);
    }
}

fn on_tick(myself: &ActorRef<PlacementMsg>, state: &mut PlacementState) {
    let Some(cluster) = state.args.cluster.clone() else {
        return;
    };
    state.ticks += 1;
    let sessions = state.args.sessions.len();
    let link = state.args.link.clone();
    let owned = state
        .args
        .directory
        .iter()
        .filter(|entry| link.owns(entry.key()))
        .count();
    let Some(membership) = &mut state.membership else {
        return;
    };
    membership.set_load(sessions as u64, owned as u64);
    link.broadcast(&Wire::Heartbeat(membership.me().clone()));
    let expired = membership.expire(tokio::time::Instant::now());
    crate::metrics::cluster_state(membership.nodes().len(), owned);
    for name in &expired {
        tracing::warn!(peer = %name, "cluster node silent for too long: treated as lost");
    }
    if !expired.is_empty() {
        on_membership_changed(myself, state, &expired);
    }
    if state.ticks % SEED_DIAL_EVERY_TICKS == 1 {
        tokio::spawn(async move {
            node::dial_missing_seeds(
                &cluster.node_server,
                &cluster.seeds,
                &cluster.advertised,
                cluster.listen,
                cluster.link_tls.as_ref(),
            )
            .await;
        });
    }
}

/// Peers were lost: owners change, and their officers get the grace to come back.
fn on_membership_changed(
    myself: &ActorRef<PlacementMsg>,
    state: &mut PlacementState,
    lost: &[String],
) {
    publish_owners(state);
    let lost: HashSet<&str> = lost.iter().map(String::as_str).collect();
    let orphans = state.args.officers.index.officers_where(|session| {
        session
            .remote_node()
            .is_some_and(|node| lost.contains(&**node))
    });
    for (account_id, version) in orphans {
        myself.send_after(state.args.disconnect_grace, move || {
            PlacementMsg::OrphanGraceOver {
                account_id,
                version,
            }
        });
    }
}

/// Publishes the current owners; on a change, sessions re-register.
fn publish_owners(state: &PlacementState) {
    let Some(membership) = &state.membership else {
        return;
    };
    let link = &state.args.link;
    let had: Vec<ShardId> = state
        .args
        .directory
        .iter()
        .map(|entry| *entry.key())
        .filter(|shard| link.owns(shard))
        .collect();
    for status in membership.nodes() {
        link.set_public_url(&status.name, &status.public_url);
    }
    if !link.set_owners(membership.owners()) {
        return;
    }
    let handed_off = had.iter().filter(|shard| !link.owns(shard)).count();
    crate::metrics::placement_changed(handed_off);
    let owners: Vec<String> = membership
        .owners()
        .into_iter()
        .map(|owner| owner.name)
        .collect();
    tracing::info!(owners = ?owners, handed_off, "shard owners changed");
    for session in state.args.sessions.iter() {
        let _stopped = session.cast(UserSessionMsg::OwnersChanged);
    }
}

fn on_orphan_grace_over(state: &PlacementState, account_id: AccountId, version: u64) {
    let officers = &state.args.officers;
    let unchanged = officers.index.officer(account_id).is_some_and(|entry| {
        entry.version == version && matches!(entry.session, SessionAddr::Remote(_))
    });
    if unchanged {
        tracing::debug!("officer of a lost node did not come back within the grace");
        let change = OfficerChange::Remove {
            account_id,
            version,
        };
        officers.apply(change, Sharing::LocalOnly);
    }
}

fn on_drain(state: &mut PlacementState) {
    state.args.link.start_draining();
    let Some(membership) = &mut state.membership else {
        return;
    };
    membership.start_draining();
    state
        .args
        .link
        .broadcast(&Wire::Heartbeat(membership.me().clone()));
    publish_owners(state);
}

fn node_views(state: &PlacementState) -> Vec<NodeView> {
    let link = &state.args.link;
    let owners: HashSet<String> = link
        .owners()
        .iter()
        .map(|owner| owner.name.clone())
        .collect();
    let nodes = match &state.membership {
        Some(membership) => membership.nodes(),
        None => vec![NodeStatus {
            name: link.node().to_string(),
            region: String::new(),
            public_url: link.public_url_of(link.node()).unwrap_or_default(),
            draining: link.is_draining(),
            sessions: state.args.sessions.len() as u64,
            shards: state.args.directory.len() as u64,
        }],
    };
    nodes
        .into_iter()
        .map(|status| NodeView {
            owner: owners.contains(&status.name),
            this_node: status.name == **link.node(),
            status,
        })
        .collect()
}
