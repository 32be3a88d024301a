//! The metrics listener's router: `GET /metrics` renders the Prometheus page and
//! does nothing else. Gauges that come from actors are refreshed by
//! `metrics_snapshot` at most once a second, so a scrape sends no actor a
//! message. Other paths get the API's JSON 404; the public router has no
//! `/metrics` at all.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use super::middleware;

/// The whole metrics listener.
pub(crate) fn router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(super::headers::nosniff())
        .with_state(handle)
}

/// Prometheus scrape: the recorder's current values, as they are.
async fn render(State(handle): State<PrometheusHandle>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}
