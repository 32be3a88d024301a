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

/// Body of `DELETE /v1/me`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeletionRequest {
    /// A fresh one-time code sent to the account's phone.
    code: String,
}

/// Deletes the caller's account; 204 once it is done.
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
