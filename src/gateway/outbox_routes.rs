//! The outbox's admin API, behind the admin token: deliveries by state
//! (`GET /v1/admin/outbox?state=`), replaying one (`POST
//! /v1/admin/outbox/{id}/replay`) or the dead letters (`POST
//! /v1/admin/outbox/replay-dead`, or those of one endpoint: `POST
//! /v1/admin/outbox/endpoints/{id}/replay-dead`), and endpoints: create (the secret is in
//! that answer only), list, rotate the secret, enable, disable, and set or
//! lift the rate limit (`PATCH /v1/admin/outbox/endpoints/{id}`).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Admin;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use crate::audit::AuditAction;
use crate::outbox::admin::{EndpointAdmin, EndpointError, NewEndpoint};
use crate::outbox::delivery::{DeliveryState, OutboxDelivery};
use crate::outbox::endpoint::EndpointRecord;
use crate::outbox::lease::{self, ReplayOutcome};

/// Most deliveries one listing or bulk replay covers.
const MAX_LIMIT: usize = 500;

/// `?state=pending|failed|dead|delivered&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// The state listed.
    state: String,
    /// How many, at most [`MAX_LIMIT`] (100 when absent).
    limit: Option<usize>,
}

/// A delivery as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeliveryView {
    /// The message id (the `webhook-id`).
    pub(crate) id: Uuid,
    /// The event type.
    pub(crate) event_type: &'static str,
    /// Where it stands.
    pub(crate) state: &'static str,
    /// Attempts made.
    pub(crate) attempts: u32,
    /// When the fact happened (Unix ms).
    pub(crate) created_at_ms: i64,
    /// When it may be sent next (Unix ms), while open.
    pub(crate) next_attempt_at_ms: Option<i64>,
    /// When it was delivered or dead-lettered (Unix ms).
    pub(crate) settled_at_ms: Option<i64>,
    /// Why the last attempt failed.
    pub(crate) last_error: Option<String>,
}

impl From<&OutboxDelivery> for DeliveryView {
    fn from(delivery: &OutboxDelivery) -> Self {
        Self {
            id: delivery.message.message_id,
            event_type: delivery.message.event_type.as_str(),
            state: delivery.state.as_str(),
            attempts: delivery.attempts,
            created_at_ms: delivery.message.created_at_ms,
            next_attempt_at_ms: delivery
                .state
                .is_open()
                .then_some(delivery.next_attempt_at_ms),
            settled_at_ms: delivery.settled_at_ms,
            last_error: delivery.last_error.clone(),
        }
    }
}

/// A listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeliveryList {
    /// The deliveries, newest state change first.
    deliveries: Vec<DeliveryView>,
}

/// `GET /v1/admin/outbox?state=`.
#[utoipa::path(
    get,
    path = "/v1/admin/outbox",
    tag = "admin",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryList),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeliveryList>, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let wanted = DeliveryState::from_name(&query.state).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_state",
            "state is one of pending, failed, dead, delivered",
        )
    })?;
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let deliveries = state
        .store
        .outbox_deliveries(wanted, state.clock.now_ms(), limit)
        .await?;
    Ok(Json(DeliveryList {
        deliveries: deliveries.iter().map(DeliveryView::from).collect(),
    }))
}

/// `POST /v1/admin/outbox/{id}/replay`: a settled delivery is sent again
/// from the first attempt.
#[utoipa::path(
    post,
    path = "/v1/admin/outbox/{id}/replay",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The delivery")),
    responses(
        (status = 202, description = "The delivery is due again", body = DeliveryView),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`not_found` (also for an id that is not a UUID)", body = ErrorBody),
        (status = 409, description = "`delivery_open`: not dead, nothing to replay", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn replay(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let Path(id) = id.map_err(|_invalid| ApiError::not_found())?;
    match lease::replay(&*state.store, id, state.clock.now_ms()).await? {
        ReplayOutcome::Replayed(delivery) => {
            state
                .audit
                .record(
                    client,
                    AuditAction::OutboxReplayed,
                    None,
                    format!("delivery {id}"),
                )
                .await?;
            Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(&*delivery))))
        }
        ReplayOutcome::NotFound => Err(ApiError::not_found()),
        ReplayOutcome::StillOpen => Err(ApiError::new(
            StatusCode::CONFLICT,
            "delivery_open",
            "the delivery is still pending; it is sent when due",
        )),
    }
}

/// How many a bulk replay covered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReplayCount {
    /// Dead letters made due again.
    replayed: usize,
}

/// `POST /v1/admin/outbox/replay-dead`: every dead letter (up to
/// [`MAX_LIMIT`] per call) is sent again.
#[utoipa::path(
    post,
    path = "/v1/admin/outbox/replay-dead",
    tag = "admin",
    responses(
        (status = 202, description = "Every dead delivery is due again", body = ReplayCount),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn replay_dead(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
) -> Result<(StatusCode, Json<ReplayCount>), ApiError> {
    let replayed = lease::replay_dead(&*state.store, state.clock.now_ms(), MAX_LIMIT).await?;
    state
        .audit
        .record(
            client,
            AuditAction::OutboxReplayed,
            None,
            format!("{replayed} dead letters"),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayCount { replayed })))
}

/// `POST /v1/admin/outbox/endpoints/{id}/replay-dead`: the dead letters
/// (up to [`MAX_LIMIT`], newest first) this endpoint did not take, sent
/// again to the endpoints each has not reached. 404 for an unknown endpoint.
#[utoipa::path(
    post,
    path = "/v1/admin/outbox/endpoints/{id}/replay-dead",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The endpoint")),
    responses(
        (status = 202, description = "The endpoint's dead deliveries are due again", body = ReplayCount),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`not_found` (also for an id that is not a UUID)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn replay_dead_for_endpoint(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<(StatusCode, Json<ReplayCount>), ApiError> {
    let Path(id) = id.map_err(|_invalid| ApiError::not_found())?;
    let endpoint = state
        .store
        .outbox_endpoints()
        .await?
        .into_iter()
        .find(|record| record.id == id)
        .ok_or_else(ApiError::not_found)?;
    let replayed =
        lease::replay_dead_for_endpoint(&*state.store, &endpoint, state.clock.now_ms(), MAX_LIMIT)
            .await?;
    state
        .audit
        .record(
            client,
            AuditAction::OutboxReplayed,
            None,
            format!("{replayed} dead letters of endpoint {id}"),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayCount { replayed })))
}

/// `POST /v1/admin/outbox/endpoints` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    /// `https://...` (or `http://` to loopback).
    url: String,
    /// Event type names (`connection.completed`, ...).
    event_types: Vec<String>,
    /// Whether it starts enabled (true when absent).
    enabled: Option<bool>,
    /// At most this many messages a second from each sending node (none
    /// when absent).
    rate_limit_per_second: Option<u32>,
}

/// `PATCH /v1/admin/outbox/endpoints/{id}` body: the rate limit, `null` to
/// lift it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchBody {
    /// The new limit; `null` lifts it.
    rate_limit_per_second: Option<u32>,
}

/// An endpoint as the admin API shows it: never its secrets, except the
/// `secret` of the answer that made it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EndpointView {
    /// Its id.
    pub(crate) id: Uuid,
    /// Its URL.
    pub(crate) url: String,
    /// Event types it receives.
    pub(crate) event_types: Vec<&'static str>,
    /// Whether it receives messages.
    pub(crate) enabled: bool,
    /// Why the server disabled it.
    pub(crate) disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs (Unix ms).
    pub(crate) previous_secret_until_ms: Option<i64>,
    /// Since when every attempt to it has failed (Unix ms), if it is failing.
    pub(crate) failing_since_ms: Option<i64>,
    /// At most this many messages a second from each sending node.
    pub(crate) rate_limit_per_second: Option<u32>,
    /// The signing secret, in the answer that created or rotated it only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secret: Option<String>,
}

impl EndpointView {
    pub(crate) fn new(record: &EndpointRecord, secret: Option<String>) -> Self {
        Self {
            id: record.id,
            url: record.url.clone(),
            event_types: record
                .event_types
                .iter()
                .map(|event_type| event_type.as_str())
                .collect(),
            enabled: record.enabled,
            disabled_reason: record.disabled_reason.clone(),
            previous_secret_until_ms: record
                .sealed_previous_secret
                .as_ref()
                .map(|(_, until_ms)| *until_ms),
            failing_since_ms: record.failing_since_ms,
            rate_limit_per_second: record.rate_limit_per_second,
            secret,
        }
    }
}

/// Endpoint administration for this request.
pub(crate) fn endpoint_admin(state: &AppState) -> EndpointAdmin {
    EndpointAdmin::new(
        state.store.clone(),
        std::sync::Arc::clone(state.identity.keys()),
        state.config.outbox.allow_private_destinations,
    )
}

/// `POST /v1/admin/outbox/endpoints`.
#[utoipa::path(
    post,
    path = "/v1/admin/outbox/endpoints",
    tag = "admin",
    request_body = CreateBody,
    responses(
        (status = 201, description = "The endpoint, with its signing secret (shown once)", body = EndpointView),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`; `invalid_endpoint_url`, `invalid_event_types` or `invalid_rate_limit`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn create_endpoint(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<EndpointView>), ApiError> {
    let request = NewEndpoint {
        url: body.url,
        event_types: body.event_types,
        enabled: body.enabled.unwrap_or(true),
        rate_limit_per_second: body.rate_limit_per_second,
    };
    let (record, secret) = endpoint_admin(&state)
        .create(request, state.clock.now_ms())
        .await?;
    state
        .audit
        .record(
            client,
            AuditAction::OutboxEndpointCreated,
            None,
            format!("endpoint {} {}", record.id, record.url),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EndpointView::new(&record, Some(secret))),
    ))
}

/// The endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EndpointList {
    /// Every endpoint, oldest first.
    endpoints: Vec<EndpointView>,
}

/// `GET /v1/admin/outbox/endpoints`.
#[utoipa::path(
    get,
    path = "/v1/admin/outbox/endpoints",
    tag = "admin",
    responses(
        (status = 200, description = "Every endpoint (secrets are not shown)", body = EndpointList),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn list_endpoints(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = endpoint_admin(&state).list().await?;
    Ok(Json(EndpointList {
        endpoints: endpoints
            .iter()
            .map(|record| EndpointView::new(record, None))
            .collect(),
    }))
}

/// `POST /v1/admin/outbox/endpoints/{id}/rotate`: a new secret, in this
/// answer only; the old one keeps signing for 24 hours.
#[utoipa::path(
    post,
    path = "/v1/admin/outbox/endpoints/{id}/rotate",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The endpoint")),
    responses(
        (status = 200, description = "A new signing secret (shown once); the old one signs beside it for a while", body = EndpointView),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`not_found` (also for an id that is not a UUID)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn rotate_endpoint(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<Json<EndpointView>, ApiError> {
    let Path(id) = id.map_err(|_invalid| ApiError::not_found())?;
    let admin = endpoint_admin(&state);
    let secret = admin.rotate(id, state.clock.now_ms()).await?;
    state
        .audit
        .record(
            client,
            AuditAction::OutboxEndpointRotated,
            None,
            format!("endpoint {id}"),
        )
        .await?;
    let record = admin
        .list()
        .await?
        .into_iter()
        .find(|record| record.id == id)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(EndpointView::new(&record, Some(secret))))
}

/// `PATCH /v1/admin/outbox/endpoints/{id}`: sets or lifts the rate limit.
#[utoipa::path(
    patch,
    path = "/v1/admin/outbox/endpoints/{id}",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The endpoint")),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The endpoint after the change", body = EndpointView),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`; `invalid_rate_limit`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn patch_endpoint(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<EndpointView>, ApiError> {
    let Path(id) = id.map_err(|_invalid| ApiError::not_found())?;
    let record = endpoint_admin(&state)
        .set_rate_limit(id, body.rate_limit_per_second, state.clock.now_ms())
        .await?;
    let detail = match body.rate_limit_per_second {
        Some(per_second) => format!("endpoint {id} limited to {per_second}/s"),
        None => format!("endpoint {id} limit lifted"),
    };
    state
        .audit
        .record(client, AuditAction::OutboxEndpointChanged, None, detail)
        .await?;
    Ok(Json(EndpointView::new(&record, None)))
}

/// `POST /v1/admin/outbox/endpoints/{id}/enable`.
#[utoipa::path(
    post,
    path = "/v1/admin/outbox/endpoints/{id}/enable",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The endpoint")),
    responses(
        (status = 200, description = "Enabled", body = EndpointView),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`not_found` (also for an id that is not a UUID)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn enable_endpoint(
    state: State<AppState>,
    admin: Admin,
    client: ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<Json<EndpointView>, ApiError> {
    set_enabled(state, admin, client, id, true).await
}

/// `POST /v1/admin/outbox/endpoints/{id}/disable`.
#[utoipa::path(
    post,
    path = "/v1/admin/outbox/endpoints/{id}/disable",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The endpoint")),
    responses(
        (status = 200, description = "Disabled: nothing is sent to it until enabled", body = EndpointView),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`not_found` (also for an id that is not a UUID)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn disable_endpoint(
    state: State<AppState>,
    admin: Admin,
    client: ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<Json<EndpointView>, ApiError> {
    set_enabled(state, admin, client, id, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
    enabled: bool,
) -> Result<Json<EndpointView>, ApiError> {
    let Path(id) = id.map_err(|_invalid| ApiError::not_found())?;
    let reason = (!enabled).then(|| "disabled by an admin".to_owned());
    let record = endpoint_admin(&state)
        .set_enabled(id, enabled, reason, state.clock.now_ms())
        .await?;
    let detail = if enabled { "enabled" } else { "disabled" };
    state
        .audit
        .record(
            client,
            AuditAction::OutboxEndpointChanged,
            None,
            format!("endpoint {id} {detail}"),
        )
        .await?;
    Ok(Json(EndpointView::new(&record, None)))
}

impl From<EndpointError> for ApiError {
    fn from(error: EndpointError) -> Self {
        let message = error.to_string();
        match error {
            EndpointError::Destination(_) => Self::unprocessable("invalid_endpoint_url", message),
            EndpointError::UnknownEventType(_) | EndpointError::NoEventTypes => {
                Self::unprocessable("invalid_event_types", message)
            }
            EndpointError::RateLimit => Self::unprocessable("invalid_rate_limit", message),
            EndpointError::NotFound => Self::not_found(),
            EndpointError::Store(store) => store.into(),
        }
    }
}
