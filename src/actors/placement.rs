//! `Placement`: one per node. Knows which node owns each shard and spawns the
//! shards this node owns on first use. On a single node every shard is local; the
//! cluster layer replaces the owner rule without changing callers. Sent to by
//! sessions (first use of a shard) and the route endpoint; supervises `ZipShard`s.
//! Live shards are also published in a node-local directory that sessions read
//! without a message.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::messages::SessionRef;
use super::zip_shard::{ZipShard, ZipShardArgs, ZipShardMsg};
use crate::geo::ShardId;
use crate::presence::index::PresenceIndex;

/// Live shards of this node, readable without asking `Placement`.
pub(crate) type ShardDirectory = Arc<DashMap<ShardId, ActorRef<ZipShardMsg>>>;

/// The actor.
#[derive(Debug)]
pub(crate) struct Placement;

/// What placement starts with.
#[derive(Debug, Clone)]
pub(crate) struct PlacementArgs {
    /// This node's name.
    pub(crate) node_name: String,
    /// The node-local index shards publish into.
    pub(crate) index: Arc<PresenceIndex<SessionRef>>,
    /// Published live shards.
    pub(crate) directory: ShardDirectory,
    /// Radius within which an officer change can matter to a citizen.
    pub(crate) nearest_max_radius_m: f64,
    /// Empty cells stop after this long.
    pub(crate) cell_idle_after: Duration,
}

/// Placement's state.
#[derive(Debug)]
pub(crate) struct PlacementState {
    args: PlacementArgs,
}

/// Placement's API.
#[derive(Debug)]
pub(crate) enum PlacementMsg {
    /// The local shard actor for `shard`, spawned if needed.
    EnsureShard {
        /// The area.
        shard: ShardId,
        /// Answered with the shard's actor.
        reply: RpcReplyPort<Result<ActorRef<ZipShardMsg>, String>>,
    },
    /// The node that owns `shard`.
    OwnerOf {
        /// The area.
        shard: ShardId,
        /// Answered with the node name.
        reply: RpcReplyPort<String>,
    },
}

impl Actor for Placement {
    type Msg = PlacementMsg;
    type State = PlacementState;
    type Arguments = PlacementArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(PlacementState { args })
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
            PlacementMsg::OwnerOf { shard, reply } => {
                // One node owns every shard until the cluster layer places them.
                tracing::trace!(%shard, node = %state.args.node_name, "owner asked");
                let _caller_gone = reply.send(state.args.node_name.clone());
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
            SupervisionEvent::ActorStarted(_) | SupervisionEvent::ProcessGroupChanged(_) => {}
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
        index: state.args.index.clone(),
        nearest_max_radius_m: state.args.nearest_max_radius_m,
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
