//! Starts and stops the presence actors of one node, and is the handle the rest
//! of the server holds: it attaches sockets (as the [`SessionHub`]), answers
//! route and stats queries, and signs accounts out of their sockets.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use ractor::{Actor, ActorRef};

use super::hub::{AttachError, SessionHub, SessionInbox};
use super::index::PresenceIndex;
use super::last_seen::LastSeen;
use super::outbound::OutboundSender;
use super::services::PresenceServices;
use crate::actors::messages::SessionRef;
use crate::actors::placement::{Placement, PlacementArgs, PlacementMsg};
use crate::actors::request_registry::{
    RegistryStats, RequestContext, RequestRegistry, RequestRegistryMsg,
};
use crate::actors::session_supervisor::{
    SessionSupervisor, SessionSupervisorArgs, SessionSupervisorMsg, SupervisorStats,
};
use crate::actors::user_session::UserSessionMsg;
use crate::actors::zip_shard::ZipShardMsg;
use crate::clock::Clock;
use crate::config::{ConnectionsConfig, PresenceConfig};
use crate::connections::Connections;
use crate::domain::AccountId;
use crate::geo::ShardId;
use crate::identity::Authenticated;
use crate::profiles::Profiles;

/// How long an attach may wait for the supervisor.
const ATTACH_TIMEOUT_MS: u64 = 5_000;
/// How long queries to the actors may take.
const QUERY_TIMEOUT_MS: u64 = 2_000;

/// Why presence could not start.
#[derive(Debug, thiserror::Error)]
pub enum PresenceStartError {
    /// An actor failed to spawn.
    #[error("presence actors could not start: {0}")]
    Spawn(String),
    /// `presence.cell_resolution` is not an H3 resolution.
    #[error("presence.cell_resolution is not a valid H3 resolution")]
    Resolution,
}

/// A snapshot of this node's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PresenceStats {
    /// Live sessions.
    pub(crate) sessions: usize,
    /// Live zip shards.
    pub(crate) shards: usize,
    /// Live cells.
    pub(crate) cells: usize,
    /// Available officers on the map.
    pub(crate) officers_available: usize,
    /// Citizens with a known position.
    pub(crate) citizens_located: usize,
    /// Pending connection requests.
    pub(crate) pending_requests: usize,
}

/// The running presence actors of this node.
#[derive(Debug, Clone)]
pub(crate) struct PresenceRuntime {
    services: Arc<PresenceServices>,
    supervisor: ActorRef<SessionSupervisorMsg>,
    node_name: String,
}

impl PresenceRuntime {
    /// Spawns placement and the session supervisor.
    pub(crate) async fn start(
        config: PresenceConfig,
        connections_config: ConnectionsConfig,
        node_name: String,
        clock: Clock,
        profiles: Profiles,
        connections: Connections,
    ) -> Result<Self, PresenceStartError> {
        let cell_resolution = h3o::Resolution::try_from(config.cell_resolution)
            .map_err(|_| PresenceStartError::Resolution)?;
        let index: Arc<PresenceIndex<SessionRef>> = Arc::new(PresenceIndex::new());
        let shards = Arc::new(DashMap::new());
        let placement_args = PlacementArgs {
            node_name: node_name.clone(),
            index: index.clone(),
            directory: shards.clone(),
            nearest_max_radius_m: config.nearest_max_radius_meters,
            cell_idle_after: Duration::from_secs(config.cell_idle_seconds),
        };
        let (placement, _handle) = Actor::spawn(None, Placement, placement_args)
            .await
            .map_err(|error| PresenceStartError::Spawn(error.to_string()))?;
        let sweep_interval = Duration::from_secs(config.sweep_interval_seconds);
        let last_seen = Arc::new(LastSeen::default());
        let request_context = Arc::new(RequestContext {
            config: connections_config,
            index: index.clone(),
            last_seen: last_seen.clone(),
            clock,
            connections,
        });
        let (requests, _handle) = Actor::spawn(None, RequestRegistry, request_context)
            .await
            .map_err(|error| PresenceStartError::Spawn(error.to_string()))?;
        let services = Arc::new(PresenceServices {
            config,
            cell_resolution,
            index,
            shards,
            placement,
            clock,
            profiles,
            last_seen,
            requests,
        });
        let supervisor_args = SessionSupervisorArgs {
            services: services.clone(),
            sweep_interval,
        };
        let (supervisor, _handle) = Actor::spawn(None, SessionSupervisor, supervisor_args)
            .await
            .map_err(|error| PresenceStartError::Spawn(error.to_string()))?;
        Ok(Self {
            services,
            supervisor,
            node_name,
        })
    }

    /// The node that owns `shard` (always this one until the cluster places shards).
    pub(crate) async fn owner_of(&self, shard: ShardId) -> String {
        ractor::call_t!(
            self.services.placement,
            |reply| PlacementMsg::OwnerOf { shard, reply },
            QUERY_TIMEOUT_MS
        )
        .unwrap_or_else(|_| self.node_name.clone())
    }

    /// H3 resolution of cells on this node.
    pub(crate) fn cell_resolution(&self) -> h3o::Resolution {
        self.services.cell_resolution
    }

    /// Closes the account's socket and ends its session (logout, roster removal).
    pub(crate) fn sign_out(&self, account_id: AccountId) {
        let _stopping = self
            .supervisor
            .cast(SessionSupervisorMsg::Logout { account_id });
    }

    /// What the actors and the index hold now (asked, not guessed: tests and
    /// `/metrics` read the same numbers).
    pub(crate) async fn stats(&self) -> PresenceStats {
        let sessions = ractor::call_t!(
            self.supervisor,
            SessionSupervisorMsg::Stats,
            QUERY_TIMEOUT_MS
        )
        .map(|stats: SupervisorStats| stats.sessions)
        .unwrap_or_default();
        let mut cells = 0;
        let shards: Vec<_> = self
            .services
            .shards
            .iter()
            .map(|entry| entry.value().clone())
            .collect();
        for shard in &shards {
            if let Ok(stats) = ractor::call_t!(shard, ZipShardMsg::Stats, QUERY_TIMEOUT_MS) {
                cells += stats.cells;
            }
        }
        let pending_requests = ractor::call_t!(
            self.services.requests,
            RequestRegistryMsg::Stats,
            QUERY_TIMEOUT_MS
        )
        .map(|stats: RegistryStats| stats.pending)
        .unwrap_or_default();
        let placed = self.services.index.counts();
        PresenceStats {
            sessions,
            shards: shards.len(),
            cells,
            officers_available: placed.officers,
            citizens_located: placed.citizens,
            pending_requests,
        }
    }

    /// The live session of an account.
    #[cfg(test)]
    pub(crate) async fn session_of(&self, account_id: AccountId) -> Option<SessionRef> {
        ractor::call_t!(
            self.supervisor,
            |reply| SessionSupervisorMsg::SessionOf { account_id, reply },
            QUERY_TIMEOUT_MS
        )
        .ok()
        .flatten()
    }

    /// Stops sessions (their sockets get a Close frame), then shards and cells.
    pub(crate) async fn shutdown(&self) {
        let timeout = Some(Duration::from_secs(5));
        if let Err(error) = self
            .supervisor
            .stop_and_wait(Some("shutdown".to_owned()), timeout)
            .await
        {
            tracing::warn!(%error, "sessions did not stop in time");
        }
        if let Err(error) = self
            .services
            .placement
            .stop_and_wait(Some("shutdown".to_owned()), timeout)
            .await
        {
            tracing::warn!(%error, "shards did not stop in time");
        }
        if let Err(error) = self
            .services
            .requests
            .stop_and_wait(Some("shutdown".to_owned()), timeout)
            .await
        {
            tracing::warn!(%error, "connection requests did not stop in time");
        }
    }
}

#[async_trait]
impl SessionHub for PresenceRuntime {
    async fn attach(
        &self,
        caller: Authenticated,
        outbound: OutboundSender,
    ) -> Result<Box<dyn SessionInbox>, AttachError> {
        let connection_id = outbound.connection_id();
        let session = ractor::call_t!(
            self.supervisor,
            |reply| SessionSupervisorMsg::Attach {
                caller,
                outbound,
                reply
            },
            ATTACH_TIMEOUT_MS
        )
        .map_err(|_| AttachError::ShuttingDown)??;
        Ok(Box::new(ActorInbox {
            session,
            connection_id,
        }))
    }
}

/// A socket's way into its session actor.
#[derive(Debug)]
struct ActorInbox {
    session: SessionRef,
    connection_id: u64,
}

impl SessionInbox for ActorInbox {
    fn deliver(&self, message: crate::proto::ClientMessage) -> bool {
        self.session.cast(UserSessionMsg::Client(message)).is_ok()
    }

    fn detach(&self) {
        let _session_gone = self.session.cast(UserSessionMsg::Detach {
            connection_id: self.connection_id,
        });
    }
}
