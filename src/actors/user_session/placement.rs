//! Where a session is on the map: its cell, the shard that owns the cell, and the
//! presence it publishes (an available officer's entry, a citizen's position).
//! Officers' changes are applied by the node that owns their shard (which shares
//! them with every node): here, straight from the session, or on the owner,
//! reached through the cluster. Citizens write their own node's map, the only one
//! whose lookups need them. Positions never pass through cell actors; a cell is
//! told only who enters and leaves it. When owners change, officers re-register
//! with the new one.

use std::sync::Arc;

use h3o::CellIndex;
use ractor::ActorRef;

use super::{UserSessionMsg, UserSessionState, nearest, push_error};
use crate::actors::messages::{CellCommand, SessionAddr};
use crate::actors::officer_presence::Sharing;
use crate::actors::placement::PlacementMsg;
use crate::actors::services::PresenceServices;
use crate::actors::zip_shard::ZipShardMsg;
use crate::cluster::link::ClusterLink;
use crate::cluster::wire::{OfficerCommand, Wire, WireOfficer};
use crate::domain::{AccountId, Role};
use crate::geo::{self, LatLng, ShardId};
use crate::metrics::LocationRefusal;
use crate::presence::index::{OfficerChange, OfficerEntry};
use crate::privacy::{self, ShownPosition};
use crate::proto::ErrorCode;

/// How long a session waits for placement to start a shard.
const ENSURE_SHARD_TIMEOUT_MS: u64 = 2_000;

/// The cell a session is in and the shard that routes to it.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    /// The H3 cell of the position, at the configured resolution.
    pub(crate) cell: CellIndex,
    /// The shard the cell belongs to.
    pub(crate) shard_id: ShardId,
    /// How commands reach the shard.
    pub(crate) route: ShardRoute,
}

/// The shard actor of this node, or the node that owns the shard.
#[derive(Debug, Clone)]
pub(crate) enum ShardRoute {
    /// A shard actor here.
    Local(ActorRef<ZipShardMsg>),
    /// The owning node.
    Remote(Arc<str>),
}

impl Placed {
    /// Applies an officer change where this cell's shard is owned: on this
    /// node's map directly, or by sending it to the owning node.
    pub(crate) fn officer_change(
        &self,
        services: &PresenceServices,
        change: OfficerChange<SessionAddr>,
    ) {
        let node = match &self.route {
            ShardRoute::Local(_) => {
                services.officers.apply(change, Sharing::WithPeers);
                return;
            }
            ShardRoute::Remote(node) => node,
        };
        let link = &services.link;
        let command = match change {
            OfficerChange::Upsert(entry) => {
                OfficerCommand::Present(WireOfficer::from_entry(&entry, link.node()))
            }
            OfficerChange::Remove {
                account_id,
                version,
            } => OfficerCommand::Gone {
                account_id,
                version,
            },
        };
        self.to_owner(link, node, command);
    }

    /// Tells the cell the account is now in it (a remote owner learns it from
    /// the officer's presence).
    fn enter(&self, account_id: AccountId) {
        if let ShardRoute::Local(shard) = &self.route {
            self.to_local_shard(shard, CellCommand::Enter(account_id));
        }
    }

    /// Tells the cell the account left it.
    fn leave(&self, link: &ClusterLink, account_id: AccountId) {
        match &self.route {
            ShardRoute::Local(shard) => self.to_local_shard(shard, CellCommand::Leave(account_id)),
            ShardRoute::Remote(node) => {
                self.to_owner(link, node, OfficerCommand::Departed { account_id });
            }
        }
    }

    fn to_local_shard(&self, shard: &ActorRef<ZipShardMsg>, command: CellCommand) {
        let route = ZipShardMsg::Route {
            cell: self.cell,
            command,
        };
        if shard.cast(route).is_err() {
            tracing::warn!("zip shard unreachable; the cell is rebuilt with the next move");
        }
    }

    fn to_owner(&self, link: &ClusterLink, node: &Arc<str>, command: OfficerCommand) {
        let wire = Wire::ToShard {
            shard: self.shard_id,
            cell: u64::from(self.cell),
            command,
        };
        if !link.send(node, &wire) {
            tracing::warn!("shard owner unreachable; presence is re-sent with the next update");
        }
    }

    /// The node the commands go to (`None`: this one).
    fn remote_node(&self) -> Option<&Arc<str>> {
        match &self.route {
            ShardRoute::Local(_) => None,
            ShardRoute::Remote(node) => Some(node),
        }
    }
}

/// A new position from the client. A citizen's fix that implies an implausible
/// speed is refused and changes nothing; an officer's fix reaches the map only as
/// its shown position, and only when that changes.
pub(super) async fn on_location(
    myself: &ActorRef<UserSessionMsg>,
    state: &mut UserSessionState,
    position: LatLng,
) {
    let now_ms = state.services.clock.now_ms();
    if state.role == Role::Citizen && !is_plausible(state, position, now_ms) {
        crate::metrics::location_refused(LocationRefusal::ImplausibleSpeed);
        push_error(
            state,
            ErrorCode::ImplausibleLocation,
            "this position is too far from the last one for the time between them; it was not used",
        );
        return;
    }
    crate::metrics::location_update(state.role);
    if let Some(class) = state.cadence.class() {
        crate::metrics::location_update_in_class(class);
    }
    state.position = Some(position);
    state
        .services
        .last_seen
        .record(state.account_id, position, now_ms);
    match state.role {
        Role::Officer => show_at(myself, state, ShownPosition::of(position)).await,
        Role::Citizen => {
            let cell = geo::cell_at(position, state.services.cell_resolution);
            if !move_to(state, cell).await {
                return;
            }
            publish(myself, state);
            nearest::recompute(state);
        }
    }
}

/// Puts an officer on the map at `shown` (its cell's centre). A move inside the
/// shown cell changes nothing a citizen can observe, so it sends nothing at all:
/// no command, no recheck, no push, and so no timing to learn from either.
pub(super) async fn show_at(
    myself: &ActorRef<UserSessionMsg>,
    state: &mut UserSessionState,
    shown: ShownPosition,
) {
    if state.shown == Some(shown) {
        return;
    }
    // Placed by the shown point too, so which cell actor and shard hold the
    // officer is a function of the shown cell as well.
    let cell = geo::cell_at(shown.point(), state.services.cell_resolution);
    if !move_to(state, cell).await {
        return;
    }
    state.shown = Some(shown);
    publish(myself, state);
}

/// Whether a citizen's new fix is reachable from the last accepted one at the
/// plausible speed (the first fix, or one after the last was forgotten, is).
/// Read from the node's last-seen table, so a reconnect does not reset it.
fn is_plausible(state: &UserSessionState, position: LatLng, now_ms: i64) -> bool {
    let Some(previous) = state.services.last_seen.get(state.account_id) else {
        return true;
    };
    privacy::is_plausible_move(
        previous,
        position,
        now_ms,
        state.services.config.max_plausible_speed_mps,
        state.services.config.location_min_interval_ms,
    )
}

/// Places the session in `cell` (leaving its previous cell); false when the
/// cell's shard could not be reached (the next update tries again).
async fn move_to(state: &mut UserSessionState, cell: CellIndex) -> bool {
    let moved_cell = state
        .placed
        .as_ref()
        .is_none_or(|placed| placed.cell != cell);
    if !moved_cell {
        return true;
    }
    let Some(placed) = place(state, cell).await else {
        return false;
    };
    placed.enter(state.account_id);
    if let Some(previous) = state.placed.replace(placed) {
        previous.leave(&state.services.link, state.account_id);
    }
    true
}

/// Publishes the session's presence on the map: an available officer's entry at
/// its shown position (where its shard is owned), or a citizen's position (on
/// this node, the only one whose lookups need it). Officers without a window
/// publish nothing.
pub(super) fn publish(myself: &ActorRef<UserSessionMsg>, state: &UserSessionState) {
    let Some(placed) = &state.placed else {
        return;
    };
    let services = &state.services;
    let version = services.index.next_version();
    match state.role {
        Role::Officer => {
            let (Some(window), Some(shown)) = (&state.window, state.shown) else {
                return;
            };
            let entry = OfficerEntry {
                account_id: state.account_id,
                handle: window.handle.clone(),
                display_name: state.display_name.clone(),
                position: shown,
                available_until_ms: window.until_ms,
                version,
                session: SessionAddr::Local(myself.clone()),
            };
            placed.officer_change(services, OfficerChange::Upsert(entry));
        }
        Role::Citizen => {
            let Some(position) = state.position else {
                return;
            };
            // Written before the lookup that follows, so an officer change
            // applied after that lookup finds this citizen to recheck.
            services.index.upsert_citizen(
                state.account_id,
                position,
                version,
                SessionAddr::Local(myself.clone()),
            );
        }
    }
}

/// Leaves the map (the session stops): a citizen's position goes at once; an
/// officer's entry goes when its window closes.
pub(super) fn leave(state: &mut UserSessionState) {
    let Some(placed) = state.placed.take() else {
        return;
    };
    let services = &state.services;
    if state.role == Role::Citizen {
        let version = services.index.next_version();
        services.index.remove_citizen(state.account_id, version);
    }
    placed.leave(&services.link, state.account_id);
}

/// Shard owners changed: an officer whose shard moved re-registers with the new
/// owner (leaving the old one if it is still there).
pub(super) async fn on_owners_changed(
    myself: &ActorRef<UserSessionMsg>,
    state: &mut UserSessionState,
) {
    if state.role != Role::Officer {
        return;
    }
    let Some(current) = state.placed.clone() else {
        return;
    };
    let owner = state.services.link.owner_of(&current.shard_id);
    let owner_is_here = *owner == **state.services.link.node();
    let unchanged = match current.remote_node() {
        None => owner_is_here,
        Some(node) => **node == *owner,
    };
    if unchanged {
        return;
    }
    let Some(placed) = place(state, current.cell).await else {
        return;
    };
    placed.enter(state.account_id);
    state.placed = Some(placed);
    current.leave(&state.services.link, state.account_id);
    publish(myself, state);
}

/// Where commands for `cell` go: the owner's shard for officers, this node's for citizens.
async fn place(state: &UserSessionState, cell: CellIndex) -> Option<Placed> {
    let shard_id = geo::shard_for_cell(cell);
    let link = &state.services.link;
    if state.role == Role::Officer {
        let owner = link.owner_of(&shard_id);
        if *owner != **link.node() {
            return Some(Placed {
                cell,
                shard_id,
                route: ShardRoute::Remote(owner),
            });
        }
    }
    let shard = shard_for(state, shard_id).await?;
    Some(Placed {
        cell,
        shard_id,
        route: ShardRoute::Local(shard),
    })
}

async fn shard_for(state: &UserSessionState, shard_id: ShardId) -> Option<ActorRef<ZipShardMsg>> {
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
