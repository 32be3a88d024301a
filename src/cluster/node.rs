//! Joining the cluster: starts ractor_cluster's `NodeServer` on the cluster port
//! (transitive mode, so one seed is enough to reach every node; with
//! `[cluster.tls]`, mutual TLS and every node dialing its seeds), subscribes to
//! its session events (a lost link tells `Placement` at once; a peer that never
//! authenticates is logged — usually a wrong cookie), and dials the seeds that
//! have no open session, again on every call, since ractor_cluster does not
//! reconnect by itself.

use std::collections::HashSet;
use std::sync::Mutex;

use ractor::{Actor, ActorRef};
use ractor_cluster::node::NodeConnectionMode;
use ractor_cluster::{
    IncomingEncryptionMode, NodeEventSubscription, NodeServer, NodeServerMessage,
};

use crate::config::ClusterConfig;
use crate::tls::{ClusterLinkTls, seed_server_name};

/// How long the seed check waits for the node server.
const SESSIONS_TIMEOUT_MS: u64 = 1_000;

/// Why the cluster port could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterStartError {
    /// The cookie variable is unset or empty.
    #[error("cluster.cookie_env: the variable {0} must hold the cluster cookie")]
    Cookie(String),
    /// Nodes of a cluster must share the master key; a generated one would differ.
    #[error("identity.master_key_env: a cluster node needs the shared master key in {0}")]
    MasterKey(String),
    /// The cluster port cannot be bound.
    #[error("cluster.listen {address}: {source}")]
    Bind {
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The node server did not start.
    #[error("cluster port could not start: {0}")]
    Spawn(String),
    /// `[cluster.tls]` cannot be served.
    #[error("cluster.tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// Starts the node server for `config` with `cookie`; with `tls`, links are
/// accepted only over mutual TLS, and not dialed transitively (ractor_cluster
/// dials learned peers in plain TCP): every node dials its seeds itself.
pub(crate) async fn start_node_server(
    node_name: &str,
    config: &ClusterConfig,
    cookie: String,
    tls: Option<&ClusterLinkTls>,
) -> Result<ActorRef<NodeServerMessage>, ClusterStartError> {
    // ractor_cluster reports a busy port as a panic inside an actor; say it plainly.
    drop(
        std::net::TcpListener::bind(config.listen).map_err(|source| ClusterStartError::Bind {
            address: config.listen,
            source,
        })?,
    );
    let server = NodeServer::new(
        config.listen.port(),
        cookie,
        node_name.to_owned(),
        config.advertised_host(),
        tls.map(|tls| IncomingEncryptionMode::Tls(tls.acceptor.clone())),
        Some(if tls.is_some() {
            NodeConnectionMode::Isolated
        } else {
            NodeConnectionMode::Transitive
        }),
    )
    .with_listen_addr(config.listen.ip());
    let (actor, _handle) = Actor::spawn(None, server, ())
        .await
        .map_err(|error| ClusterStartError::Spawn(error.to_string()))?;
    Ok(actor)
}

/// Hands link events of the node server to `on_event`.
pub(crate) fn subscribe(node_server: &ActorRef<NodeServerMessage>, on_event: LinkEvents) {
    let subscription = SessionEvents {
        on_event,
        authenticated: Mutex::new(HashSet::new()),
    };
    let _server_gone = node_server.cast(NodeServerMessage::SubscribeToEvents {
        id: "heyblue.placement".to_owned(),
        subscription: Box::new(subscription),
    });
}

/// Dials every seed that has no authenticated session yet, skipping this
/// node's own address (`own` as advertised, or any form resolving to `listen`).
pub(crate) async fn dial_missing_seeds(
    node_server: &ActorRef<NodeServerMessage>,
    seeds: &[String],
    own: &str,
    listen: std::net::SocketAddr,
    tls: Option<&ClusterLinkTls>,
) {
    let Ok(sessions) = ractor::call_t!(
        node_server,
        NodeServerMessage::GetSessions,
        SESSIONS_TIMEOUT_MS
    ) else {
        return;
    };
    let connected: HashSet<String> = sessions
        .values()
        .filter_map(|session| session.peer_name.as_ref())
        .map(|peer| peer.connection_string.clone())
        .collect();
    for seed in seeds
        .iter()
        .filter(|seed| *seed != own && !connected.contains(*seed))
    {
        let is_self = tokio::net::lookup_host(seed.as_str())
            .await
            .is_ok_and(|mut addresses| addresses.any(|address| address == listen));
        if is_self {
            continue;
        }
        let dialed = match tls {
            None => ractor_cluster::client_connect(node_server, seed.as_str()).await,
            Some(tls) => {
                let Some(name) = seed_server_name(seed) else {
                    tracing::warn!(seed = %seed, "cluster seed has no usable host name for TLS");
                    continue;
                };
                ractor_cluster::client_connect_enc(
                    node_server,
                    seed.as_str(),
                    tls.connector.clone(),
                    name,
                )
                .await
            }
        };
        if let Err(error) = dialed {
            tracing::debug!(seed = %seed, %error, "cluster seed not reachable yet");
        }
    }
}

/// Logs a link that closed before authenticating: at debug when another link
/// to a node at the same address is up (a duplicate link closed by
/// ractor_cluster), otherwise as a refused peer.
pub(crate) async fn report_refused_link(node_server: &ActorRef<NodeServerMessage>, address: &str) {
    let host = |address: &str| {
        address
            .parse::<std::net::SocketAddr>()
            .map(|socket| socket.ip().to_string())
            .unwrap_or_else(|_| address.to_owned())
    };
    let peer_host = host(address);
    let duplicate = ractor::call_t!(
        node_server,
        NodeServerMessage::GetSessions,
        SESSIONS_TIMEOUT_MS
    )
    .is_ok_and(|sessions| {
        sessions
            .values()
            .any(|session| session.peer_name.is_some() && host(&session.peer_addr) == peer_host)
    });
    if duplicate {
        tracing::debug!(address, "duplicate cluster link closed");
    } else {
        tracing::warn!(
            address,
            "cluster link closed before authenticating: wrong cookie, or not a Hey Blue! node"
        );
    }
}

/// The node name part of a ractor_cluster peer name (`name@host`).
pub(crate) fn node_name_of(peer_name: &str) -> &str {
    peer_name.split('@').next().unwrap_or(peer_name)
}

/// What the node server reports about links to peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// The authenticated link to the named node closed.
    Lost(String),
    /// A link closed before it authenticated (the peer's address).
    Refused(String),
}

/// Where link events go.
pub(crate) type LinkEvents = Box<dyn Fn(LinkEvent) + Send + Sync>;

struct SessionEvents {
    on_event: LinkEvents,
    authenticated: Mutex<HashSet<u64>>,
}

impl NodeEventSubscription for SessionEvents {
    fn node_session_opened(&self, session: ractor_cluster::node::NodeServerSessionInformation) {
        tracing::debug!(peer = %session.peer_addr, "cluster link opened");
    }

    fn node_session_authenticated(
        &self,
        session: ractor_cluster::node::NodeServerSessionInformation,
    ) {
        self.authenticated
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(session.node_id);
        let peer = session.peer_name.map(|name| name.name).unwrap_or_default();
        tracing::info!(peer = %peer, address = %session.peer_addr, "cluster peer joined");
    }

    fn node_session_disconnected(
        &self,
        session: ractor_cluster::node::NodeServerSessionInformation,
    ) {
        let was_authenticated = self
            .authenticated
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(&session.node_id);
        if !was_authenticated {
            // Two nodes dialling each other at once also close one link early:
            // placement tells that apart from a refused peer before logging.
            (self.on_event)(LinkEvent::Refused(session.peer_addr));
            return;
        }
        let Some(peer) = session.peer_name else {
            return;
        };
        tracing::info!(peer = %peer.name, "cluster link lost");
        let name = node_name_of(&peer.name).to_owned();
        (self.on_event)(LinkEvent::Lost(name));
    }
}
