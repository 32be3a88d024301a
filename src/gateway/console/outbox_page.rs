//! `GET /admin/outbox?state=` (admin only, read-only): the webhook endpoints
//! (never their secrets) and the deliveries in one state, dead letters by
//! default, as `GET /v1/admin/outbox` and `GET /v1/admin/outbox/endpoints`
//! list them. Replays stay in the API.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::page::{ConsoleError, Section, frame, respond};
use super::session::ConsoleAdmin;
use crate::gateway::AppState;
use crate::gateway::error::ApiError;
use crate::gateway::outbox_routes::{DeliveryView, EndpointView, endpoint_admin};
use crate::outbox::delivery::DeliveryState;

/// Deliveries listed.
const LISTED: usize = 100;
/// The states, in the order of the choice.
const STATES: [&str; 4] = ["dead", "failed", "pending", "delivered"];

/// `?state=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutboxQuery {
    /// The state listed (default `dead`).
    state: Option<String>,
}

/// A Unix-ms time as UTC text.
fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|time| time.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// `GET /admin/outbox?state=`.
pub(crate) async fn page(
    State(state): State<AppState>,
    ConsoleAdmin(user): ConsoleAdmin,
    query: Result<Query<OutboxQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let Query(query) =
        query.map_err(|rejection| ConsoleError::bad_request(rejection.body_text()))?;
    let chosen = query.state.unwrap_or_else(|| "dead".to_owned());
    let wanted = DeliveryState::from_name(&chosen).ok_or_else(|| {
        ConsoleError::bad_request("state: one of dead, failed, pending, delivered")
    })?;
    let endpoints: Vec<EndpointView> = endpoint_admin(&state)
        .list()
        .await
        .map_err(ApiError::from)?
        .iter()
        .map(|record| EndpointView::new(record, None))
        .collect();
    let deliveries: Vec<DeliveryView> = state
        .store
        .outbox_deliveries(wanted, state.clock.now_ms(), LISTED)
        .await?
        .iter()
        .map(DeliveryView::from)
        .collect();
    let body = html! {
        h2 { "Endpoints" }
        div.scroll {
            table #endpoints {
                thead { tr { th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "State" } } }
                tbody {
                    @for endpoint in &endpoints {
                        tr {
                            td { (endpoint.url) }
                            td { (endpoint.event_types.join(", ")) }
                            td {
                                @if endpoint.enabled { "enabled" } @else {
                                    "disabled" @if let Some(reason) = &endpoint.disabled_reason { ": " (reason) }
                                }
                            }
                        }
                    }
                    @if endpoints.is_empty() { tr { td colspan="3" { "No endpoints: add them with POST /v1/admin/outbox/endpoints." } } }
                }
            }
        }
        h2 { "Deliveries" }
        form.fields method="get" action="/admin/outbox" {
            div {
                label for="state" { "State" }
                select #state name="state" {
                    @for name in STATES { option value=(name) selected[name == chosen] { (name) } }
                }
            }
            button type="submit" { "Show" }
        }
        div.scroll {
            table #deliveries {
                caption { "The latest " (LISTED) " " (chosen) " deliveries at most" }
                thead {
                    tr {
                        th scope="col" { "Event" } th.num scope="col" { "Attempts" } th scope="col" { "Created" }
                        th scope="col" { "Next attempt or settled" } th scope="col" { "Last error" }
                    }
                }
                tbody {
                    @for delivery in &deliveries {
                        tr {
                            td { (delivery.event_type) }
                            td.num { (delivery.attempts) }
                            td { (time(Some(delivery.created_at_ms))) }
                            td { (time(delivery.next_attempt_at_ms.or(delivery.settled_at_ms))) }
                            td { (delivery.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                    @if deliveries.is_empty() { tr { td colspan="5" { "None." } } }
                }
            }
        }
        p.note { "Replay dead letters with POST /v1/admin/outbox/replay-dead (admin token)." }
    };
    Ok(respond(
        StatusCode::OK,
        frame("Outbox", Section::Outbox, Some(&user), body),
    ))
}
