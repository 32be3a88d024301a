//! What every session of a node shares: the presence rules, the index, the live
//! shards, the placement actor, the clock and profiles.

use std::sync::Arc;

use ractor::ActorRef;

use crate::actors::messages::SessionRef;
use crate::actors::placement::{PlacementMsg, ShardDirectory};
use crate::clock::Clock;
use crate::config::PresenceConfig;
use crate::presence::index::PresenceIndex;
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
}
