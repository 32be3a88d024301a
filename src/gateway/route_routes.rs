//! `GET /v1/route`: the orchestrator. Tells an authenticated client which node's
//! WebSocket to open for its area, and the ZIP and shard that area belongs to.
//! The query holds a precise location: it is used here and never logged.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::bearer::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::geo::{self, LatLng, ShardId, Zip};

/// Query of `GET /v1/route`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteQuery {
    /// Latitude, degrees.
    lat: f64,
    /// Longitude, degrees.
    lng: f64,
    /// The client's ZIP, when it knows it; derived from the location otherwise.
    zip: Option<String>,
}

/// Where to connect.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RouteAnswer {
    /// WebSocket URL of the node that owns the area.
    ws_url: String,
    /// The area's ZIP (absent outside the US ZIP areas).
    zip: Option<String>,
    /// The shard: a 3-digit ZIP prefix, or `h3:<cell>` outside ZIP areas.
    shard: String,
    /// The owning node's name.
    node: String,
}

/// Answers which node serves the caller's area.
#[utoipa::path(
    get,
    path = "/v1/route",
    tag = "presence",
    params(RouteQuery),
    responses(
        (status = 200, description = "The node whose WebSocket to open, with the area", body = RouteAnswer),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 422, description = "`invalid_coordinates` or `unknown_zip`", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn route(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    query: Result<Query<RouteQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RouteAnswer>, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let point = LatLng::new(query.lat, query.lng).map_err(|_| {
        ApiError::unprocessable(
            "invalid_coordinates",
            "lat must be in [-90, 90] and lng in [-180, 180]",
        )
    })?;
    let (zip, shard) = match query.zip.as_deref() {
        Some(text) => {
            let zip: Zip = text
                .parse()
                .ok()
                .filter(|zip| geo::zip_centroid(*zip).is_some())
                .ok_or_else(|| ApiError::unprocessable("unknown_zip", "zip: not a known US ZIP"))?;
            (Some(zip), ShardId::for_zip(zip))
        }
        None => {
            let cell = geo::cell_at(point, state.presence.cell_resolution());
            let shard = geo::shard_for_cell(cell);
            // The ZIP of the cell centre: the one the shard was derived from.
            let zip = match shard {
                ShardId::Zip3(_) => Some(geo::nearest_zip(geo::cell_center(cell)).zip),
                ShardId::H3(_) => None,
            };
            (zip, shard)
        }
    };
    let (node, public_url) = state.presence.owner_of(shard);
    let ws_url = match public_url {
        Some(base) if node != state.presence.node_name() => format!("{base}/v1/ws"),
        _ => state.ws_url.to_string(),
    };
    Ok(Json(RouteAnswer {
        ws_url,
        zip: zip.map(|zip| zip.to_string()),
        shard: shard.to_string(),
        node,
    }))
}
