//! `/v1/admin/cluster` (who is in the cluster, what each node owns and serves)
//! and `/v1/admin/drain` (hand this node's shards off, send its clients
//! elsewhere, then stop), behind the admin token.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;
use super::bearer::Admin;
use super::client_address::ClientAddress;
use super::openapi::ErrorBody;
use crate::audit::AuditAction;

/// The cluster as this node sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ClusterView {
    /// The node answering.
    pub(crate) node: String,
    /// Whether the node runs in a cluster.
    pub(crate) clustered: bool,
    /// Every node heard from, this one first.
    pub(crate) nodes: Vec<NodeEntry>,
    /// Region label → ZIP prefixes.
    pub(crate) regions: BTreeMap<String, Vec<String>>,
}

/// One node.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct NodeEntry {
    /// Node name.
    pub(crate) name: String,
    /// Region label.
    pub(crate) region: String,
    /// Base WebSocket URL clients are sent to.
    pub(crate) public_url: String,
    /// `up` (owns shards), `draining` (serving its sockets, owning nothing).
    pub(crate) state: &'static str,
    /// Whether this is the node answering.
    pub(crate) this_node: bool,
    /// Live shards the node owns (from its last heartbeat).
    pub(crate) shards_owned: u64,
    /// Live sessions on the node (from its last heartbeat).
    pub(crate) sessions: u64,
}

/// `GET /v1/admin/cluster`.
#[utoipa::path(
    get,
    path = "/v1/admin/cluster",
    tag = "admin",
    responses(
        (status = 200, description = "The nodes, their regions and the shards they own", body = ClusterView),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn cluster(State(state): State<AppState>, _admin: Admin) -> Json<ClusterView> {
    Json(cluster_view(&state).await)
}

/// The cluster as this node sees it (the API's answer and the console's page).
pub(crate) async fn cluster_view(state: &AppState) -> ClusterView {
    let nodes = state
        .presence
        .cluster_nodes()
        .await
        .into_iter()
        .map(|view| NodeEntry {
            state: if view.owner { "up" } else { "draining" },
            name: view.status.name,
            region: view.status.region,
            public_url: view.status.public_url,
            this_node: view.this_node,
            shards_owned: view.status.shards,
            sessions: view.status.sessions,
        })
        .collect();
    let mut regions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for region in state.presence.regions() {
        regions
            .entry(region.name.clone())
            .or_default()
            .extend(region.zip_prefixes.iter().cloned());
    }
    ClusterView {
        node: state.presence.node_name().to_owned(),
        clustered: state.config.cluster.is_some(),
        nodes,
        regions,
    }
}

/// `POST /v1/admin/drain`: starts the same drain-and-stop as SIGTERM; answers
/// 202. Audited first (once draining starts the node stops taking requests),
/// but a store that cannot take the entry does not stop a drain: ops drain
/// nodes during store trouble too, and the log says so.
#[utoipa::path(
    post,
    path = "/v1/admin/drain",
    tag = "admin",
    responses(
        (status = 202, description = "The node drains (hands its shards and clients to the others) and stops"),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn drain(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
) -> StatusCode {
    tracing::info!("drain requested through the admin API");
    let audited = state
        .audit
        .record(
            client,
            AuditAction::NodeDrained,
            None,
            format!("node {}", state.presence.node_name()),
        )
        .await;
    if let Err(error) = audited {
        tracing::warn!(%error, "drain not written to the audit log");
    }
    state.stop_requested.cancel();
    StatusCode::ACCEPTED
}
