//! `/v1/me/profile` and `/v1/me/events`: the caller's profile and its event log.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Deserializer, Serialize};

use super::AppState;
use super::bearer::Caller;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use crate::domain::profile::{Profile, ProfileChanges, ProfileEvent};
use crate::profiles::MAX_EVENTS_PAGE;

/// Default page size of `/v1/me/events`.
const DEFAULT_EVENTS_PAGE: usize = 20;

/// Body of `PATCH /v1/me/profile`; absent fields are unchanged, `avatar_url: null` clears.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfilePatch {
    /// New display name, 1–40 characters.
    #[serde(default)]
    display_name: Option<String>,
    /// New bio, at most 280 characters.
    #[serde(default)]
    bio: Option<String>,
    /// New https avatar URL, or null to clear.
    #[serde(default, deserialize_with = "present_or_null")]
    avatar_url: Option<Option<String>>,
    /// Opt in or out of sharing connections to social media.
    #[serde(default)]
    share_to_social: Option<bool>,
    /// Allow or refuse being named in social posts.
    #[serde(default)]
    share_name: Option<bool>,
}

/// Tells an absent field (`None`) from an explicit null (`Some(None)`).
fn present_or_null<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// A profile as clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProfileBody {
    account_id: String,
    display_name: String,
    bio: String,
    avatar_url: Option<String>,
    share_to_social: bool,
    share_name: bool,
    role: &'static str,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl From<Profile> for ProfileBody {
    fn from(profile: Profile) -> Self {
        Self {
            account_id: profile.account_id.to_string(),
            display_name: profile.display_name,
            bio: profile.bio,
            avatar_url: profile.avatar_url,
            share_to_social: profile.share_to_social,
            share_name: profile.share_name,
            role: profile.role.as_str(),
            created_at_ms: profile.created_at_ms,
            updated_at_ms: profile.updated_at_ms,
        }
    }
}

/// Query of `GET /v1/me/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// Return events older than this sequence number (the previous page's `next_before`).
    before: Option<u64>,
    /// Page size, 1–100.
    limit: Option<usize>,
}

/// A page of events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EventsPage {
    /// Newest first.
    events: Vec<ProfileEvent>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<u64>,
}

/// The caller's profile.
#[utoipa::path(
    get,
    path = "/v1/me/profile",
    tag = "me",
    responses(
        (status = 200, description = "The caller's profile", body = ProfileBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn get_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ProfileBody>, ApiError> {
    let profile = state.identity.profiles().get(caller.account_id).await?;
    Ok(Json(profile.into()))
}

/// Edits the caller's profile.
#[utoipa::path(
    patch,
    path = "/v1/me/profile",
    tag = "me",
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The profile after the change", body = ProfileBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn patch_profile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<ProfileBody>, ApiError> {
    let changes = ProfileChanges {
        display_name: patch.display_name,
        bio: patch.bio,
        avatar_url: patch.avatar_url,
        share_to_social: patch.share_to_social,
        share_name: patch.share_name,
    }
    .validated()
    .map_err(|error| ApiError::unprocessable("invalid_field", error.to_string()))?;
    let profile = state
        .identity
        .profiles()
        .update(caller.account_id, changes)
        .await?;
    Ok(Json(profile.into()))
}

/// A page of the caller's profile events, newest first.
#[utoipa::path(
    get,
    path = "/v1/me/events",
    tag = "me",
    params(EventsQuery),
    responses(
        (status = 200, description = "Events, newest first", body = EventsPage),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 422, description = "`invalid_field`: `limit` outside 1–100", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn list_events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventsPage>, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_EVENTS_PAGE);
    if !(1..=MAX_EVENTS_PAGE).contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "limit: must be 1 to 100",
        ));
    }
    let events = state
        .identity
        .profiles()
        .events(caller.account_id, query.before, limit)
        .await?;
    let next_before = if events.len() == limit {
        events.last().map(|event| event.seq).filter(|seq| *seq > 1)
    } else {
        None
    };
    Ok(Json(EventsPage {
        events,
        next_before,
    }))
}
