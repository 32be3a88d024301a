//! Ops endpoints: `/healthz` (the process answers), `/readyz` (the store answers
//! and the node is not draining) and `/metrics` (Prometheus text).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::AppState;

/// Liveness: the process serves requests.
pub(crate) async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the store answers and the node is not draining (a draining node
/// sends its clients elsewhere, so load balancers should too).
pub(crate) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.presence.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining", "store": state.store.backend_name() })),
        );
    }
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "store": state.store.backend_name() })),
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "store": "unreachable" })),
            )
        }
    }
}

/// Prometheus scrape.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::metrics::refresh_process_gauges();
    let presence = state.presence.stats().await;
    crate::metrics::presence_placed(presence.officers_available, presence.citizens_located);
    crate::metrics::connection_requests_pending(presence.pending_requests);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
