//! Ops endpoints of the public listener: `/healthz` (the process answers) and
//! `/readyz` (the store answers and the node is not draining). `/metrics` has a
//! listener of its own (`metrics_endpoint`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
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
