//! `ZipShard`: the supervisor of one ZIP-prefix area's cells (or an `h3:` area
//! outside the US). Routes who enters and leaves a cell to that cell, spawning
//! cells on demand and stopping idle ones; a cell that fails is dropped and rebuilt
//! by the next command (its membership is bookkeeping only; the map is the
//! node-local index). Sent to by sessions and the node router; emits to its
//! cells. It is the unit whose ownership placement moves between nodes.

use std::collections::HashMap;
use std::time::Duration;

use h3o::CellIndex;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::cell::{Cell, CellArgs, CellMsg};
use super::messages::CellCommand;
use crate::geo::ShardId;

/// How long a shard waits for a cell to confirm an idle stop.
const STOP_CONFIRM_TIMEOUT: Duration = Duration::from_secs(2);

/// The actor.
#[derive(Debug)]
pub(crate) struct ZipShard;

/// What a shard starts with.
#[derive(Debug, Clone)]
pub(crate) struct ZipShardArgs {
    /// The area it owns.
    pub(crate) shard: ShardId,
    /// Empty cells stop after this long.
    pub(crate) cell_idle_after: Duration,
}

/// A shard's state.
#[derive(Debug)]
pub(crate) struct ZipShardState {
    args: ZipShardArgs,
    /// Live cells by H3 index.
    cells: HashMap<CellIndex, ActorRef<CellMsg>>,
}

/// The shard's API.
#[derive(Debug, ractor_cluster::RactorMessage)]
pub(crate) enum ZipShardMsg {
    /// A session command for `cell`.
    Route {
        /// The cell the command concerns.
        cell: CellIndex,
        /// The command.
        command: CellCommand,
    },
    /// From a cell: it has been empty for its idle time.
    CellIdle {
        /// Which cell.
        cell: CellIndex,
        /// The reporting actor (a newer cell for the same index may exist).
        actor: ActorRef<CellMsg>,
    },
    /// Counts, for tests and the admin view.
    Stats(RpcReplyPort<ShardStats>),
}

/// What a shard reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardStats {
    /// Live cells.
    pub(crate) cells: usize,
}

impl Actor for ZipShard {
    type Msg = ZipShardMsg;
    type State = ZipShardState;
    type Arguments = ZipShardArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        crate::metrics::shard_started();
        Ok(ZipShardState {
            args,
            cells: HashMap::new(),
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        _state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        crate::metrics::shard_stopped();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ZipShardMsg::Route { cell, command } => on_route(&myself, state, cell, command).await,
            ZipShardMsg::CellIdle { cell, actor } => on_cell_idle(state, cell, actor).await,
            ZipShardMsg::Stats(reply) => {
                let _caller_gone = reply.send(ShardStats {
                    cells: state.cells.len(),
                });
                Ok(())
            }
        }
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                state
                    .cells
                    .retain(|_, actor| actor.get_id() != cell.get_id());
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                tracing::warn!(shard = %state.args.shard, %error, "cell failed; it is rebuilt on the next update");
                crate::metrics::actor_failed("cell");
                state
                    .cells
                    .retain(|_, actor| actor.get_id() != cell.get_id());
            }
            SupervisionEvent::ActorStarted(_)
            | SupervisionEvent::ProcessGroupChanged(_)
            | SupervisionEvent::PidLifecycleEvent(_) => {}
        }
        Ok(())
    }
}

async fn on_route(
    myself: &ActorRef<ZipShardMsg>,
    state: &mut ZipShardState,
    cell: CellIndex,
    command: CellCommand,
) -> Result<(), ActorProcessingErr> {
    let actor = match state.cells.get(&cell) {
        Some(actor) => actor.clone(),
        None => {
            let args = CellArgs {
                cell,
                idle_after: state.args.cell_idle_after,
                shard: myself.clone(),
            };
            let (actor, _handle) = Actor::spawn_linked(None, Cell, args, myself.get_cell()).await?;
            state.cells.insert(cell, actor.clone());
            actor
        }
    };
    if actor.cast(CellMsg::Command(command)).is_err() {
        // The cell stopped between our bookkeeping and this send: forget it; the
        // session's next update rebuilds it.
        state.cells.remove(&cell);
    }
    Ok(())
}

async fn on_cell_idle(
    state: &mut ZipShardState,
    cell: CellIndex,
    actor: ActorRef<CellMsg>,
) -> Result<(), ActorProcessingErr> {
    let is_current = state
        .cells
        .get(&cell)
        .is_some_and(|current| current.get_id() == actor.get_id());
    if !is_current {
        return Ok(());
    }
    // Everything routed to the cell before this call is already in its mailbox,
    // ahead of the question, so "idle" here really means idle.
    let stopping = ractor::call_t!(
        actor,
        CellMsg::StopIfIdle,
        STOP_CONFIRM_TIMEOUT.as_millis() as u64
    )
    .unwrap_or(false);
    if stopping {
        state.cells.remove(&cell);
    }
    Ok(())
}
