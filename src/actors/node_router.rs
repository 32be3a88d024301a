//! `NodeRouter`: one per node, and the only network-capable actor (ractor_cluster
//! mirrors every such actor on every peer, so sessions and cells stay local).
//! It joins the process groups peers send through and turns each incoming
//! [`Wire`] message into local work: heartbeats go to `Placement` at once;
//! everything else is offered to the bounded intake (see `cluster::intake`),
//! whose worker task sends officer commands to the local shard (this node owns
//! it), applies replicas to the map and pushes to the account's local session.
//! A flooding peer therefore costs a bounded queue and shed messages, never an
//! ever-growing mailbox.

use std::sync::Arc;

use h3o::CellIndex;
use ractor::{Actor, ActorProcessingErr, ActorRef, pg};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::messages::{CellCommand, SessionAddr};
use super::officer_presence::Sharing;
use super::placement::PlacementMsg;
use super::replica;
use super::request_registry::RequestRegistryMsg;
use super::services::PresenceServices;
use super::user_session::UserSessionMsg;
use super::zip_shard::ZipShardMsg;
use crate::cluster::intake::{Intake, ROUTER_QUEUE_CAPACITY, intake};
use crate::cluster::link::{ROUTERS_GROUP, router_group, wire_kind};
use crate::cluster::wire::{OfficerCommand, RouterMsg, Wire, WireObserved};
use crate::presence::index::OfficerChange;
use crate::proto::ServerMessage;

/// How long the router waits for placement to start a shard.
const ENSURE_SHARD_TIMEOUT_MS: u64 = 2_000;

/// The actor.
#[derive(Debug)]
pub(crate) struct NodeRouter;

/// What the router starts with.
#[derive(Debug)]
pub(crate) struct RouterArgs {
    /// The node's presence services.
    services: Arc<PresenceServices>,
    /// The router's end of the intake.
    intake: Arc<Intake>,
    /// The worker's end.
    queue: mpsc::Receiver<Wire>,
}

impl RouterArgs {
    /// A router for `services` whose intake holds [`ROUTER_QUEUE_CAPACITY`]
    /// messages.
    pub(crate) fn new(services: Arc<PresenceServices>) -> Self {
        Self::with_capacity(services, ROUTER_QUEUE_CAPACITY)
    }

    /// A router whose intake holds `capacity` messages.
    pub(crate) fn with_capacity(services: Arc<PresenceServices>, capacity: usize) -> Self {
        let (intake, queue) = intake(capacity);
        Self {
            services,
            intake: Arc::new(intake),
            queue,
        }
    }

    /// The intake, to read how many messages it shed.
    #[cfg(test)]
    pub(crate) fn intake(&self) -> Arc<Intake> {
        Arc::clone(&self.intake)
    }
}

/// The router's state.
#[derive(Debug)]
pub(crate) struct RouterState {
    /// The node's presence services.
    services: Arc<PresenceServices>,
    /// Where messages go to be worked on.
    intake: Arc<Intake>,
    /// The worker task (stopped with the router).
    worker: JoinHandle<()>,
}

impl Actor for NodeRouter {
    type Msg = RouterMsg;
    type State = RouterState;
    type Arguments = RouterArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let node = args.services.link.node().to_string();
        pg::join(ROUTERS_GROUP.to_owned(), vec![myself.get_cell()]);
        pg::join(router_group(&node), vec![myself.get_cell()]);
        let worker = tokio::spawn(work(Arc::clone(&args.services), args.queue));
        Ok(RouterState {
            services: args.services,
            intake: args.intake,
            worker,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.worker.abort();
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let RouterMsg::Frame(frame) = message;
        let wire = match frame.decode() {
            Ok(wire) => wire,
            Err(error) => {
                tracing::warn!(%error, "undecodable cluster message dropped");
                crate::metrics::cluster_message_received("undecodable");
                return Ok(());
            }
        };
        crate::metrics::cluster_message_received(wire_kind(&wire));
        match wire {
            Wire::Heartbeat(status) => {
                let _placement_gone = state
                    .services
                    .placement
                    .cast(PlacementMsg::Heartbeat(status));
            }
            other => {
                let _queued_or_shed = state.intake.offer(other);
            }
        }
        Ok(())
    }
}

/// The worker: does what each queued message asks, in arrival order.
async fn work(services: Arc<PresenceServices>, mut queue: mpsc::Receiver<Wire>) {
    while let Some(wire) = queue.recv().await {
        apply(&services, wire).await;
    }
}

/// One peer message's local work.
async fn apply(services: &PresenceServices, wire: Wire) {
    match wire {
        Wire::Heartbeat(status) => {
            let _placement_gone = services.placement.cast(PlacementMsg::Heartbeat(status));
        }
        Wire::ToShard {
            shard,
            cell,
            command,
        } => to_shard(services, shard, cell, command).await,
        Wire::Replica(change) => replica::apply(services, change),
        Wire::Push {
            account_id,
            message,
            origin,
        } => {
            if let ServerMessage::ConnectionRequested { request_id, .. }
            | ServerMessage::RequestUpdate { request_id, .. } = &message
            {
                services.link.remember_request_origin(*request_id, &origin);
            }
            if let Some(session) = services.reach.local_session(account_id) {
                let _session_gone = session.cast(UserSessionMsg::Push(Box::new(message)));
            }
        }
        Wire::Respond {
            request_id,
            officer,
            accept,
            home,
            officer_seen,
        } => {
            // The co-location rule of this accept reads it.
            if let Some(seen) = officer_seen.and_then(WireObserved::into_observed) {
                services
                    .last_seen
                    .record(officer, seen.position, seen.at_ms);
            }
            let _registry_gone = services.requests.cast(RequestRegistryMsg::Respond {
                officer,
                request_id,
                accept,
                session: SessionAddr::Remote(Arc::from(home)),
            });
        }
        Wire::Revoked {
            account_id,
            sign_in,
        } => {
            if let Some(session) = services.reach.local_session(account_id) {
                let _session_gone = session.cast(UserSessionMsg::Revoked { sign_in });
            }
        }
        Wire::Block {
            request_id,
            officer,
            home,
        } => {
            let _registry_gone = services.requests.cast(RequestRegistryMsg::Block {
                officer,
                request_id,
                session: SessionAddr::Remote(Arc::from(home)),
            });
        }
    }
}

/// An officer command for a shard this node owns: the change is applied to the
/// map here and shared with every peer; the cell learns who entered or left it.
async fn to_shard(
    services: &PresenceServices,
    shard: crate::geo::ShardId,
    cell: u64,
    command: OfficerCommand,
) {
    let Ok(cell) = CellIndex::try_from(cell) else {
        tracing::warn!("cluster command for an invalid cell dropped");
        return;
    };
    let membership = match command {
        OfficerCommand::Present(officer) => {
            let session = services.reach.session_at(&officer.home, officer.account_id);
            let Some(entry) = officer.into_entry(session) else {
                tracing::warn!("cluster command with invalid coordinates dropped");
                return;
            };
            let account_id = entry.account_id;
            services
                .officers
                .apply(OfficerChange::Upsert(entry), Sharing::WithPeers);
            CellCommand::Enter(account_id)
        }
        OfficerCommand::Departed { account_id } => CellCommand::Leave(account_id),
        OfficerCommand::Gone {
            account_id,
            version,
        } => {
            let change = OfficerChange::Remove {
                account_id,
                version,
            };
            services.officers.apply(change, Sharing::WithPeers);
            CellCommand::Leave(account_id)
        }
    };
    let shard_actor = match services.shards.get(&shard) {
        Some(actor) => actor.clone(),
        None => match ractor::call_t!(
            services.placement,
            |reply| PlacementMsg::EnsureShard { shard, reply },
            ENSURE_SHARD_TIMEOUT_MS
        ) {
            Ok(Ok(actor)) => actor,
            _ => {
                tracing::warn!(%shard, "shard could not start for a cluster command");
                return;
            }
        },
    };
    let _shard_gone = shard_actor.cast(ZipShardMsg::Route {
        cell,
        command: membership,
    });
}
