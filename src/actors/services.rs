//! What every session of a node shares: the presence rules, the index, the live
//! shards, the placement actor, the cluster link, the clock, profiles, the last
//! observed positions, the connection request registry, the live sessions and
//! the log of availability stretches.
//! Built whole by the runtime before any session starts.

use std::sync::Arc;

use ractor::ActorRef;

use super::messages::SessionAddr;
use super::officer_presence::OfficerMap;
use super::placement::{PlacementMsg, ShardDirectory};
use super::reach::SessionReach;
use super::request_registry::RequestRegistryMsg;
use crate::clock::Clock;
use crate::cluster::link::ClusterLink;
use crate::config::PresenceConfig;
use crate::presence::index::PresenceIndex;
use crate::presence::last_seen::LastSeen;
use crate::profiles::Profiles;
use crate::reports::AvailabilityLog;

/// Node services handed to every session.
#[derive(Debug)]
pub(crate) struct PresenceServices {
    /// Presence rules.
    pub(crate) config: PresenceConfig,
    /// `config.cell_resolution`, validated.
    pub(crate) cell_resolution: h3o::Resolution,
    /// The node-local index.
    pub(crate) index: Arc<PresenceIndex<SessionAddr>>,
    /// The index as officer changes reach it.
    pub(crate) officers: OfficerMap,
    /// Live shards of this node.
    pub(crate) shards: ShardDirectory,
    /// Starts shards on first use.
    pub(crate) placement: ActorRef<PlacementMsg>,
    /// Shard owners and the way to other nodes.
    pub(crate) link: Arc<ClusterLink>,
    /// Time source.
    pub(crate) clock: Clock,
    /// Display names.
    pub(crate) profiles: Profiles,
    /// Server-observed positions for the co-location check.
    pub(crate) last_seen: Arc<LastSeen>,
    /// Pending connection requests of this node.
    pub(crate) requests: ActorRef<RequestRegistryMsg>,
    /// Live sessions by account (written by the supervisor), and the way to
    /// sessions on other nodes.
    pub(crate) reach: SessionReach,
    /// Where officers' availability stretches are written for reports.
    pub(crate) availability: AvailabilityLog,
}
