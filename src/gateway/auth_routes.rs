//! `/v1/auth/*`: request and verify one-time codes (completing a first
//! sign-in with a provider), refresh, logout.

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
use crate::identity::{IdentityError, SignedIn};

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
    /// The link token of a first sign-in with a provider: the provider
    /// identity is linked to the phone's account.
    #[serde(default)]
    oidc_link_token: Option<String>,
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
    // Read before the code is spent: a stale link must not cost the code.
    let link = body
        .oidc_link_token
        .as_deref()
        .map(|token| state.oidc.open_link_token(token))
        .transpose()?;
    let signed_in = state
        .identity
        .verify_code(&body.phone, &body.code, client, link.as_ref())
        .await?;
    crate::metrics::sign_in_completed(signed_in.role);
    Ok(Json(signed_in))
}

/// Rotates the token pair. A reused refresh token revokes its sign-in, and the
/// socket open with it closes wherever it is.
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<SignedIn>, ApiError> {
    match state.identity.refresh(&body.refresh_token).await {
        Ok(signed_in) => Ok(Json(signed_in)),
        Err(error) => {
            if let IdentityError::RefreshTokenReused {
                account_id,
                sign_in,
            } = &error
            {
                state.presence.revoke(*account_id, Some(*sign_in));
            }
            Err(error.into())
        }
    }
}

/// Revokes every sign-in of the caller's account.
pub(crate) async fn logout_everywhere(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let revoked = state.identity.logout_everywhere(&caller).await?;
    state.presence.revoke(caller.account_id, None);
    // No sign-in is left to receive pushes.
    super::device_routes::remove_signed_in_devices(&*state.store, caller.account_id, None).await?;
    Ok(Json(json!({ "revoked_sign_ins": revoked })))
}

/// Revokes the caller's sign-in.
pub(crate) async fn logout(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<StatusCode, ApiError> {
    state.identity.logout(&caller).await?;
    // The phone of this sign-in gets no more pushes.
    super::device_routes::remove_signed_in_devices(
        &*state.store,
        caller.account_id,
        Some(caller.family_id),
    )
    .await?;
    // The socket open with this sign-in closes (wherever it is) and an open
    // window ends.
    state
        .presence
        .revoke(caller.account_id, Some(caller.family_id));
    Ok(StatusCode::NO_CONTENT)
}
