//! Ops endpoints of the public listener: `/healthz` (the process answers),
//! `/readyz` (the store answers and the node is not draining) and
//! `/v1/version` (what binary runs here), `/v1/asyncapi.json` and
//! `/v1/openapi.json` (the contract documents). `/metrics` has a
//! listener of its own (`metrics_endpoint`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::AppState;

/// What runs here: version, git revision, build date.
#[utoipa::path(
    get,
    path = "/v1/version",
    tag = "ops",
    responses(
        (status = 200, description = "What binary runs here", body = crate::version::VersionInfo)
    )
)]
pub(crate) async fn version() -> impl IntoResponse {
    Json(crate::version::info())
}

/// The WebSocket protocol as an AsyncAPI 3.0 document.
#[utoipa::path(
    get,
    path = "/v1/asyncapi.json",
    tag = "ops",
    responses(
        (status = 200, description = "The WebSocket protocol as an AsyncAPI 3.0 document", body = Object)
    )
)]
pub(crate) async fn asyncapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::contract::ASYNCAPI_JSON.as_str(),
    )
}

/// The HTTP API as an OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "ops",
    responses(
        (status = 200, description = "This document", body = Object)
    )
)]
pub(crate) async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::contract::OPENAPI_JSON.as_str(),
    )
}

/// Answer of `/healthz` and `/readyz`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// `ok` (alive), `ready`, `draining` or `not_ready`.
    status: &'static str,
    /// The store backend (`embedded` or `scylla`), or `unreachable`; readiness only.
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<&'static str>,
}

/// Liveness: the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses(
        (status = 200, description = "The process serves requests", body = Health)
    )
)]
pub(crate) async fn healthz() -> impl IntoResponse {
    Json(Health {
        status: "ok",
        store: None,
    })
}

/// Readiness: the store answers and the node is not draining (a draining node
/// sends its clients elsewhere, so load balancers should too).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "The store answers and the node is not draining", body = Health),
        (status = 503, description = "Draining or the store is unreachable", body = Health)
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.presence.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "draining",
                store: Some(state.store.backend_name()),
            }),
        );
    }
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ready",
                store: Some(state.store.backend_name()),
            }),
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "not_ready",
                    store: Some("unreachable"),
                }),
            )
        }
    }
}
