//! `Cell`: one per active H3 cell. Owns who is present in the cell (available
//! officers and located citizens), publishes their positions into the node-local
//! presence index, and after every officer change asks exactly the citizens whose
//! answer may change to recheck it. Sent to by its `ZipShard` (which routes session
//! commands); emits `RecheckNearest` to sessions. Stops when empty for
//! `cell_idle_seconds`, after its shard confirms.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use h3o::CellIndex;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::messages::{CellCommand, SessionAddr};
use super::user_session::UserSessionMsg;
use super::zip_shard::ZipShardMsg;
use crate::cluster::link::ClusterLink;
use crate::cluster::replica;
use crate::domain::AccountId;
use crate::presence::index::{Applied, PresenceIndex};

/// The actor (stateless; everything lives in [`CellState`]).
#[derive(Debug)]
pub(crate) struct Cell;

/// What a cell starts with.
#[derive(Debug)]
pub(crate) struct CellArgs {
    /// The H3 cell it owns.
    pub(crate) cell: CellIndex,
    /// The node-local index it publishes into.
    pub(crate) index: Arc<PresenceIndex<SessionAddr>>,
    /// Where applied officer changes are shared with the other nodes.
    pub(crate) link: Arc<ClusterLink>,
    /// Radius within which an officer change can matter to a citizen.
    pub(crate) nearest_max_radius_m: f64,
    /// Stop after being empty this long.
    pub(crate) idle_after: Duration,
    /// Its shard, told when the cell is idle.
    pub(crate) shard: ActorRef<ZipShardMsg>,
}

/// A cell's state.
#[derive(Debug)]
pub(crate) struct CellState {
    args: CellArgs,
    /// Officers present and available here.
    officers: HashSet<AccountId>,
    /// Citizens present here.
    citizens: HashSet<AccountId>,
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
            officers: HashSet::new(),
            citizens: HashSet::new(),
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
    let index = state.args.index.clone();
    let radius = state.args.nearest_max_radius_m;
    let membership_changed = match command {
        CellCommand::OfficerPresent { entry } => {
            let account_id = entry.account_id;
            let position = entry.position;
            let shared = state.args.link.is_clustered().then(|| entry.clone());
            if let Applied::Yes(previous) = index.upsert_officer(entry) {
                if let Some(shared) = &shared {
                    replica::share_upsert(&state.args.link, shared);
                }
                let mut positions = vec![position];
                positions.extend(previous.map(|old| old.position));
                notify(index.citizens_to_recheck(account_id, &positions, radius));
            }
            state.officers.insert(account_id)
        }
        CellCommand::OfficerDeparted { account_id } => state.officers.remove(&account_id),
        CellCommand::OfficerGone {
            account_id,
            version,
        } => {
            if let Applied::Yes(removed) = index.remove_officer(account_id, version) {
                replica::share_removal(&state.args.link, account_id, version);
                if let Some(previous) = removed {
                    notify(index.citizens_to_recheck(account_id, &[previous.position], radius));
                }
            }
            state.officers.remove(&account_id)
        }
        CellCommand::CitizenPresent {
            account_id,
            position,
            version,
            session,
        } => {
            index.upsert_citizen(account_id, position, version, SessionAddr::Local(session));
            state.citizens.insert(account_id)
        }
        CellCommand::CitizenDeparted { account_id } => state.citizens.remove(&account_id),
        CellCommand::CitizenGone {
            account_id,
            version,
        } => {
            index.remove_citizen(account_id, version);
            state.citizens.remove(&account_id)
        }
    };
    if membership_changed {
        state.membership_epoch += 1;
        schedule_idle_check(myself, state);
    }
}

pub(crate) fn notify(sessions: Vec<SessionAddr>) {
    for session in sessions {
        // A session that stopped meanwhile has nothing left to recheck.
        let _stopped = session.cast_local(UserSessionMsg::RecheckNearest);
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
    state.officers.is_empty() && state.citizens.is_empty()
}

fn schedule_idle_check(myself: &ActorRef<CellMsg>, state: &CellState) {
    if is_empty(state) {
        let epoch = state.membership_epoch;
        myself.send_after(state.args.idle_after, move || CellMsg::IdleCheck { epoch });
    }
}
