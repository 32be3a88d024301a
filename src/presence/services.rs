//! What every session of a node shares: the presence rules, the index, the live
//! shards, the placement actor, the clock, profiles, the last observed positions
//! and the connection request registry.

use std::sync::Arc;

use ractor::ActorRef;

use crate::actors::messages::SessionRef;
use crate::actors::placement::{PlacementMsg, ShardDirectory};
use crate::actors::request_registry::RequestRegistryMsg;
use crate::clock::Clock;
use crate::config::PresenceConfig;
use crate::presence::index::PresenceIndex;
use crate::presence::last_seen::LastSeen;
use crate::profiles::Profiles;

/// Node services handed to every session.
#[derive(Debug)]
pub(crate) struct PresenceServices {
    /// Presence rules.
    pub(crate) config: PresenceConfig,
    /// `config.cell_resolution`, validated.
    pub(crate) cell_resolution: h3o::Resolution,
    /// The node-local index.
    pub(crate) index: Arc<PresenceIndex<SessionRef>>,
    /// Live shards of this node.
    pub(crate) shards: ShardDirectory,
    /// Starts shards on first use.
    pub(crate) placement: ActorRef<PlacementMsg>,
    /// Time source.
    pub(crate) clock: Clock,
    /// Display names.
    pub(crate) profiles: Profiles,
    /// Server-observed positions for the co-location check.
    pub(crate) last_seen: Arc<LastSeen>,
    /// Pending connection requests of this node.
    pub(crate) requests: ActorRef<RequestRegistryMsg>,
}
