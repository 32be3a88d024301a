//! The composition root of live presence: builds a node's index, link and
//! services, starts the presence actors in an order where each gets everything it
//! needs at spawn (no actor waits for a later one), and is the handle the rest
//! of the server holds: it attaches sockets (as the [`SessionHub`]), answers
//! route and stats queries, signs accounts out of their sockets, and stops the
//! actors.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use ractor::{Actor, ActorRef};

use crate::actors::messages::{SessionAddr, SessionRef};
use crate::actors::node_router::{NodeRouter, RouterArgs};
use crate::actors::officer_presence::OfficerMap;
use crate::actors::placement::{ClusterRole, NodeView, Placement, PlacementArgs, PlacementMsg};
use crate::actors::reach::SessionReach;
use crate::actors::request_registry::{
    RegistryStats, RequestContext, RequestRegistry, RequestRegistryMsg,
};
use crate::actors::services::PresenceServices;
use crate::actors::session_supervisor::{
    SessionSupervisor, SessionSupervisorArgs, SessionSupervisorMsg, SupervisorStats,
};
use crate::actors::user_session::UserSessionMsg;
use crate::actors::zip_shard::ZipShardMsg;
use crate::clock::Clock;
use crate::cluster::link::ClusterLink;
use crate::cluster::wire::{RouterMsg, Wire};
use crate::config::{ConnectionsConfig, PresenceConfig};
use crate::connections::Connections;
use crate::domain::AccountId;
use crate::geo::ShardId;
use crate::identity::Authenticated;
use crate::presence::hub::{AttachError, SessionHub, SessionInbox};
use crate::presence::index::PresenceIndex;
use crate::presence::last_seen::LastSeen;
use crate::presence::outbound::OutboundSender;
use crate::profiles::Profiles;
use crate::reports::AvailabilityLog;

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
    router: Option<ActorRef<RouterMsg>>,
}

/// How the node takes part in the cluster: its link, and its role when clustered.
#[derive(Debug)]
pub(crate) struct ClusterSetup {
    /// The node's cluster view (a node running alone has one too).
    pub(crate) link: Arc<ClusterLink>,
    /// Heartbeats, seeds and the node server; `None` when running alone.
    pub(crate) role: Option<ClusterRole>,
}

impl ClusterSetup {
    /// A node running alone under `name`.
    pub(crate) fn single_node(name: &str) -> Self {
        Self {
            link: Arc::new(ClusterLink::new(name, "default", false, Vec::new())),
            role: None,
        }
    }
}

impl PresenceRuntime {
    /// Spawns placement, the request registry, the session supervisor and, in a
    /// cluster, the node router.
    pub(crate) async fn start(
        config: PresenceConfig,
        connections_config: ConnectionsConfig,
        cluster: ClusterSetup,
        clock: Clock,
        profiles: Profiles,
        connections: Connections,
    ) -> Result<Self, PresenceStartError> {
        let cell_resolution = h3o::Resolution::try_from(config.cell_resolution)
            .map_err(|_| PresenceStartError::Resolution)?;
        let index: Arc<PresenceIndex<SessionAddr>> = Arc::new(PresenceIndex::new());
        let shards = Arc::new(DashMap::new());
        let link = cluster.link;
        let clustered = cluster.role.is_some();
        let reach = SessionReach {
            link: link.clone(),
            sessions: Arc::new(DashMap::new()),
        };
        let officers = OfficerMap {
            index: index.clone(),
            link: link.clone(),
            radius_m: config.nearest_max_radius_meters,
        };
        let placement_args = PlacementArgs {
            link: link.clone(),
            directory: shards.clone(),
            officers: officers.clone(),
            sessions: reach.sessions.clone(),
            cell_idle_after: Duration::from_secs(config.cell_idle_seconds),
            disconnect_grace: Duration::from_secs(config.disconnect_grace_seconds),
            cluster: cluster.role,
        };
        let (placement, _handle) = Actor::spawn(None, Placement, placement_args)
            .await
            .map_err(|error| PresenceStartError::Spawn(error.to_string()))?;
        let sweep_interval = Duration::from_secs(config.sweep_interval_seconds);
        let last_seen = Arc::new(LastSeen::default());
        let availability = AvailabilityLog::new(connections.store());
        let request_context = Arc::new(RequestContext {
            config: connections_config,
            index: index.clone(),
            last_seen: last_seen.clone(),
            clock,
            connections,
            link: link.clone(),
            reach: reach.clone(),
        });
        let (requests, _handle) = Actor::spawn(None, RequestRegistry, request_context)
            .await
            .map_err(|error| PresenceStartError::Spawn(error.to_string()))?;
        let services = Arc::new(PresenceServices {
            config,
            cell_resolution,
            index,
            officers,
            shards,
            placement: placement.clone(),
            link: link.clone(),
            clock,
            profiles,
            last_seen,
            requests,
            reach,
            availability,
        });
        let supervisor_args = SessionSupervisorArgs {
            services: services.clone(),
            sweep_interval,
        };
        let (supervisor, _handle) = Actor::spawn(None, SessionSupervisor, supervisor_args)
            .await
            .map_err(|error| PresenceStartError::Spawn(error.to_string()))?;
        let router = if clustered {
            let (router, _handle) =
                Actor::spawn(None, NodeRouter, RouterArgs::new(services.clone()))
                    .await
                    .map_err(|error| PresenceStartError::Spawn(error.to_string()))?;
            Some(router)
        } else {
            None
        };
        Ok(Self {
            services,
            supervisor,
            router,
        })
    }

    /// The node that owns `shard` now, and its public WebSocket base URL.
    pub(crate) fn owner_of(&self, shard: ShardId) -> (String, Option<String>) {
        let link = &self.services.link;
        let owner = link.owner_of(&shard);
        (owner.to_string(), link.public_url_of(&owner))
    }

    /// Hands this node's shards to the others and marks it draining: its
    /// sessions then end without taking officers off the map.
    pub(crate) async fn drain(&self) {
        if let Err(error) = ractor::call_t!(
            self.services.placement,
            PlacementMsg::Drain,
            QUERY_TIMEOUT_MS
        ) {
            tracing::warn!(%error, "placement did not confirm the drain");
        }
    }

    /// Whether the node is draining.
    pub(crate) fn is_draining(&self) -> bool {
        self.services.link.is_draining()
    }

    /// Every node this one hears from, and the region map.
    pub(crate) async fn cluster_nodes(&self) -> Vec<NodeView> {
        ractor::call_t!(
            self.services.placement,
            PlacementMsg::Nodes,
            QUERY_TIMEOUT_MS
        )
        .unwrap_or_default()
    }

    /// The region map.
    pub(crate) fn regions(&self) -> &[crate::config::RegionConfig] {
        self.services.link.regions()
    }

    /// This node's name.
    pub(crate) fn node_name(&self) -> &str {
        self.services.link.node()
    }

    /// H3 resolution of cells on this node.
    pub(crate) fn cell_resolution(&self) -> h3o::Resolution {
        self.services.cell_resolution
    }

    /// A sign-in of the account was revoked (`None`: every sign-in): the socket
    /// authenticated with it closes with 4011, on this node and, through the
    /// cluster, on whichever node holds it.
    pub(crate) fn revoke(&self, account_id: AccountId, sign_in: Option<uuid::Uuid>) {
        let _stopping = self.supervisor.cast(SessionSupervisorMsg::Revoked {
            account_id,
            sign_in,
        });
        self.services.link.broadcast(&Wire::Revoked {
            account_id,
            sign_in,
        });
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

    /// The services every session shares (for tests that start actors beside
    /// the runtime's own).
    #[cfg(test)]
    pub(crate) fn services(&self) -> Arc<PresenceServices> {
        self.services.clone()
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

    /// Stops sessions (their sockets get a Close frame), then shards and
    /// cells, then waits for the availability stretches they ended to be
    /// written.
    pub(crate) async fn shutdown(&self) {
        self.stop_actors().await;
        self.services
            .availability
            .finish(Duration::from_secs(5))
            .await;
    }

    /// Stops sessions, the router, shards, cells and the request registry.
    async fn stop_actors(&self) {
        if matches!(
            self.supervisor.get_status(),
            ractor::ActorStatus::Stopping | ractor::ActorStatus::Stopped
        ) {
            return; // a drain already stopped everything
        }
        let timeout = Some(Duration::from_secs(5));
        // Sessions stop first, one by one, so each closes its socket with a
        // Close frame (a supervisor stopping would kill them without one).
        self.supervisor
            .stop_children_and_wait(Some("shutdown".to_owned()), timeout)
            .await;
        if let Some(router) = &self.router {
            router.stop(Some("shutdown".to_owned()));
        }
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
