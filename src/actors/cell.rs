//! `Cell`: one per active H3 cell. Knows who is in the cell (the sessions placed
//! there, and officers of other nodes whose shard this node owns), for stats and
//! passivation: it stops when empty for `cell_idle_seconds`, after its shard
//! confirms. Positions never pass through it: sessions write the node-local index
//! directly, so a cell is told only when someone enters or leaves it. Sent to by
//! its `ZipShard`; emits only `CellIdle` to it.

use std::collections::HashSet;
use std::time::Duration;

use h3o::CellIndex;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::messages::CellCommand;
use super::zip_shard::ZipShardMsg;
use crate::domain::AccountId;

/// The actor (stateless; everything lives in [`CellState`]).
#[derive(Debug)]
pub(crate) struct Cell;

/// What a cell starts with.
#[derive(Debug)]
pub(crate) struct CellArgs {
    /// The H3 cell it owns.
    pub(crate) cell: CellIndex,
    /// Stop after being empty this long.
    pub(crate) idle_after: Duration,
    /// Its shard, told when the cell is idle.
    pub(crate) shard: ActorRef<ZipShardMsg>,
}

/// A cell's state.
#[derive(Debug)]
pub(crate) struct CellState {
    args: CellArgs,
    /// Accounts placed here.
    present: HashSet<AccountId>,
    /// Bumped whenever membership changes, so a stale idle check is ignored.
    membership_epoch: u64,
}

/// The cell's API.
#[derive(Debug, ractor_cluster::RactorMessage)]
pub(crate) enum CellMsg {
    /// A session command routed by the shard.
    Command(CellCommand),
    /// Timer: check whether the cell has been empty since `epoch`.
    IdleCheck {
        /// Membership epoch when the timer was set.
        epoch: u64,
    },
    /// From the shard: stop if still empty; answers whether it is stopping.
    StopIfIdle(RpcReplyPort<bool>),
}

impl Actor for Cell {
    type Msg = CellMsg;
    type State = CellState;
    type Arguments = CellArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        crate::metrics::cell_started();
        let state = CellState {
            args,
            present: HashSet::new(),
            membership_epoch: 0,
        };
        schedule_idle_check(&myself, &state);
        Ok(state)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        _state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        crate::metrics::cell_stopped();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            CellMsg::Command(command) => on_command(&myself, state, command),
            CellMsg::IdleCheck { epoch } => on_idle_check(&myself, state, epoch),
            CellMsg::StopIfIdle(reply) => on_stop_if_idle(&myself, state, reply),
        }
        Ok(())
    }
}

fn on_command(myself: &ActorRef<CellMsg>, state: &mut CellState, command: CellCommand) {
    let membership_changed = match command {
        CellCommand::Enter(account_id) => state.present.insert(account_id),
        CellCommand::Leave(account_id) => state.present.remove(&account_id),
    };
    if membership_changed {
        state.membership_epoch += 1;
        schedule_idle_check(myself, state);
    }
}

fn on_idle_check(myself: &ActorRef<CellMsg>, state: &CellState, epoch: u64) {
    if epoch == state.membership_epoch && is_empty(state) {
        let _shard_stopped = state.args.shard.cast(ZipShardMsg::CellIdle {
            cell: state.args.cell,
            actor: myself.clone(),
        });
    }
}

fn on_stop_if_idle(myself: &ActorRef<CellMsg>, state: &CellState, reply: RpcReplyPort<bool>) {
    let stopping = is_empty(state);
    let _shard_gone = reply.send(stopping);
    if stopping {
        myself.stop(Some("idle".to_owned()));
    }
}

fn is_empty(state: &CellState) -> bool {
    state.present.is_empty()
}

fn schedule_idle_check(myself: &ActorRef<CellMsg>, state: &CellState) {
    if is_empty(state) {
        let epoch = state.membership_epoch;
        myself.send_after(state.args.idle_after, move || CellMsg::IdleCheck { epoch });
    }
}
