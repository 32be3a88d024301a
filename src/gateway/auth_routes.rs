//! `/v1/auth/*`: request and verify one-time codes, refresh, logout.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::bearer::Caller;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use crate::identity::SignedIn;

/// Body of `POST /v1/auth/otp/request`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeRequest {
    /// The phone, in E.164 or the server's national format.
    phone: String,
}

/// Body of `POST /v1/auth/otp/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeVerification {
    /// The phone the code was sent to.
    phone: String,
    /// The six-digit code.
    code: String,
}

/// Body of `POST /v1/auth/refresh`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// The refresh token of the latest pair.
    refresh_token: String,
}

/// Sends a code; 202 once it is handed to the SMS adapter.
pub(crate) async fn request_code(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.identity.request_code(&body.phone, client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "expires_in": state.config.identity.otp_ttl_seconds })),
    ))
}

/// Verifies a code and signs in.
pub(crate) async fn verify_code(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<CodeVerification>,
) -> Result<Json<SignedIn>, ApiError> {
    let signed_in = state
        .identity
        .verify_code(&body.phone, &body.code, client)
        .await?;
    crate::metrics::sign_in_completed(signed_in.role);
    Ok(Json(signed_in))
}

/// Rotates the token pair.
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<SignedIn>, ApiError> {
    Ok(Json(state.identity.refresh(&body.refresh_token).await?))
}

/// Revokes every sign-in of the caller's account.
pub(crate) async fn logout_everywhere(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let revoked = state.identity.logout_everywhere(&caller).await?;
    state.presence.sign_out(caller.account_id);
    Ok(Json(json!({ "revoked_sign_ins": revoked })))
}

/// Revokes the caller's sign-in.
pub(crate) async fn logout(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<StatusCode, ApiError> {
    state.identity.logout(&caller).await?;
    // One device per account: its live socket is closed and an open window ends.
    state.presence.sign_out(caller.account_id);
    Ok(StatusCode::NO_CONTENT)
}
