//! `DELETE /v1/me`: the caller deletes their account. The body carries a
//! one-time code the caller requested for their own phone just before
//! (`POST /v1/auth/otp/request`), so a stolen token alone cannot delete an
//! account. On success every sign-in is revoked and every open socket closes.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::bearer::Caller;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;

/// Body of `DELETE /v1/me`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeletionRequest {
    /// A fresh one-time code sent to the account's phone.
    code: String,
}

/// Deletes the caller's account; 204 once it is done.
#[utoipa::path(
    delete,
    path = "/v1/me",
    tag = "me",
    request_body = DeletionRequest,
    responses(
        (status = 204, description = "The account is deleted; every sign-in revoked and socket closed"),
        (status = 401, description = "`missing_token`, `invalid_token` or `invalid_code`", body = ErrorBody),
        (status = 422, description = "`invalid_code_format`; `missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn delete_me(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<DeletionRequest>,
) -> Result<StatusCode, ApiError> {
    let deleted = state
        .identity
        .delete_account(caller.account_id, &body.code, client)
        .await;
    if deleted.is_ok() {
        state.presence.revoke(caller.account_id, None);
    }
    deleted?;
    Ok(StatusCode::NO_CONTENT)
}
