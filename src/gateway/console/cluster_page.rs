//! `GET /admin/cluster` (admin only): the nodes this one hears from, what
//! each owns and serves, and the region map, from the same view as
//! `GET /v1/admin/cluster`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::page::{Section, frame, grouped, respond};
use super::session::ConsoleAdmin;
use crate::gateway::AppState;
use crate::gateway::cluster_routes::cluster_view;

/// `GET /admin/cluster`.
pub(crate) async fn page(
    State(state): State<AppState>,
    ConsoleAdmin(user): ConsoleAdmin,
) -> Response {
    let view = cluster_view(&state).await;
    let body = html! {
        p {
            "This node: " strong { (view.node) } ". "
            @if view.clustered { "It runs in a cluster." } @else { "It runs alone (no [cluster] section)." }
        }
        h2 { "Nodes" }
        div.scroll {
            table #nodes {
                thead {
                    tr {
                        th scope="col" { "Node" } th scope="col" { "Region" } th scope="col" { "State" }
                        th.num scope="col" { "Shards" } th.num scope="col" { "Sessions" } th scope="col" { "Public URL" }
                    }
                }
                tbody {
                    @for node in &view.nodes {
                        tr {
                            th scope="row" { (node.name) @if node.this_node { " (this node)" } }
                            td { (node.region) }
                            td { (node.state) }
                            td.num { (grouped(node.shards_owned as i64)) }
                            td.num { (grouped(node.sessions as i64)) }
                            td { (node.public_url) }
                        }
                    }
                }
            }
        }
        h2 { "Regions" }
        @if view.regions.is_empty() {
            p { "No [[regions]] are configured: every ZIP belongs to this node's region." }
        } @else {
            div.scroll {
                table #regions {
                    thead { tr { th scope="col" { "Region" } th scope="col" { "ZIP prefixes" } } }
                    tbody {
                        @for (region, prefixes) in &view.regions {
                            tr { th scope="row" { (region) } td { (prefixes.join(", ")) } }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        frame("Cluster", Section::Cluster, Some(&user), body),
    )
}
