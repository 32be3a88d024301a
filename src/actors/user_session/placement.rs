//! Where a session is on the map: its cell, the shard that owns the cell, and the
//! presence it publishes there (an available officer's entry, a citizen's position).

use h3o::CellIndex;
use ractor::ActorRef;

use super::{UserSessionMsg, UserSessionState, nearest};
use crate::actors::messages::CellCommand;
use crate::actors::placement::PlacementMsg;
use crate::actors::zip_shard::ZipShardMsg;
use crate::domain::Role;
use crate::geo::{self, LatLng};
use crate::presence::index::OfficerEntry;

/// How long a session waits for placement to start a shard.
const ENSURE_SHARD_TIMEOUT_MS: u64 = 2_000;

/// The cell a session is in and the shard that routes to it.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    /// The H3 cell of the position, at the configured resolution.
    pub(crate) cell: CellIndex,
    /// The shard owning the cell.
    pub(crate) shard: ActorRef<ZipShardMsg>,
}

impl Placed {
    /// Sends a command to this cell through its shard.
    pub(crate) fn send(&self, command: CellCommand) {
        if self
            .shard
            .cast(ZipShardMsg::Route {
                cell: self.cell,
                command,
            })
            .is_err()
        {
            tracing::warn!("zip shard unreachable; presence is re-sent with the next update");
        }
    }
}

/// A new position from the client.
pub(super) async fn on_location(
    myself: &ActorRef<UserSessionMsg>,
    state: &mut UserSessionState,
    position: LatLng,
) {
    crate::metrics::location_update(state.role);
    state.position = Some(position);
    let now_ms = state.services.clock.now_ms();
    state
        .services
        .last_seen
        .record(state.account_id, position, now_ms);
    let resolution = state.services.cell_resolution;
    let cell = geo::cell_at(position, resolution);
    let moved_cell = state
        .placed
        .as_ref()
        .is_none_or(|placed| placed.cell != cell);
    if moved_cell {
        let Some(shard) = shard_for(state, cell).await else {
            return;
        };
        let previous = state.placed.replace(Placed { cell, shard });
        if let Some(previous) = previous {
            depart(state, &previous);
        }
    }
    publish(myself, state);
    if state.role == Role::Citizen {
        nearest::recompute(state);
    }
}

/// Publishes the session's presence in its cell: an available officer's entry or a
/// citizen's position. Officers without a window publish nothing.
pub(super) fn publish(myself: &ActorRef<UserSessionMsg>, state: &UserSessionState) {
    let (Some(placed), Some(position)) = (&state.placed, state.position) else {
        return;
    };
    let version = state.services.index.next_version();
    match state.role {
        Role::Officer => {
            let Some(window) = &state.window else {
                return;
            };
            placed.send(CellCommand::OfficerPresent {
                entry: OfficerEntry {
                    account_id: state.account_id,
                    handle: window.handle.clone(),
                    display_name: state.display_name.clone(),
                    position,
                    available_until_ms: window.until_ms,
                    version,
                    session: myself.clone(),
                },
            });
        }
        Role::Citizen => placed.send(CellCommand::CitizenPresent {
            account_id: state.account_id,
            position,
            version,
            session: myself.clone(),
        }),
    }
}

/// Leaves the map (the session stops): citizens are removed from the index.
/// Officers' entries are removed when their window closes.
pub(super) fn leave(state: &mut UserSessionState) {
    let Some(placed) = state.placed.take() else {
        return;
    };
    if state.role == Role::Citizen {
        let version = state.services.index.next_version();
        placed.send(CellCommand::CitizenGone {
            account_id: state.account_id,
            version,
        });
    }
}

fn depart(state: &UserSessionState, previous: &Placed) {
    let command = match state.role {
        Role::Officer if state.window.is_some() => CellCommand::OfficerDeparted {
            account_id: state.account_id,
        },
        Role::Officer => return,
        Role::Citizen => CellCommand::CitizenDeparted {
            account_id: state.account_id,
        },
    };
    previous.send(command);
}

async fn shard_for(state: &UserSessionState, cell: CellIndex) -> Option<ActorRef<ZipShardMsg>> {
    let shard_id = geo::shard_for_cell(cell);
    if let Some(shard) = state.services.shards.get(&shard_id) {
        return Some(shard.clone());
    }
    let outcome = ractor::call_t!(
        state.services.placement,
        |reply| PlacementMsg::EnsureShard {
            shard: shard_id,
            reply
        },
        ENSURE_SHARD_TIMEOUT_MS
    );
    match outcome {
        Ok(Ok(shard)) => Some(shard),
        Ok(Err(error)) => {
            tracing::warn!(%error, "zip shard could not start");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "placement did not answer");
            None
        }
    }
}
