//! Ops endpoints of the public listener: `/healthz` (the process answers),
//! `/readyz` (the store answers and the node is not draining) and
//! `/v1/version` (what binary runs here), `/v1/asyncapi.json` (the WebSocket
//! protocol's contract). `/metrics` has a
//! listener of its own (`metrics_endpoint`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use super::AppState;

/// What runs here: version, git revision, build date.
pub(crate) async fn version() -> impl IntoResponse {
    Json(crate::version::info())
}

/// The WebSocket protocol as an AsyncAPI 3.0 document.
pub(crate) async fn asyncapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::contract::ASYNCAPI_JSON.as_str(),
    )
}

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
