//! `/v1/auth/*`: request and verify one-time codes (completing a first
//! sign-in with a provider), refresh, logout.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::bearer::Caller;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use crate::identity::{IdentityError, SignedIn};

/// Body of `POST /v1/auth/otp/request`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeRequest {
    /// The phone, in E.164 or the server's national format.
    phone: String,
}

/// Body of `POST /v1/auth/otp/verify`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// The refresh token of the latest pair.
    refresh_token: String,
}

/// Answer of `POST /v1/auth/otp/request`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CodeSent {
    /// Seconds the code is valid.
    expires_in: u64,
}

/// Answer of `POST /v1/auth/logout_all`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SignedOutEverywhere {
    /// How many sign-ins were revoked.
    revoked_sign_ins: u64,
}

/// Sends a code; 202 once it is handed to the SMS adapter.
#[utoipa::path(
    post,
    path = "/v1/auth/otp/request",
    tag = "sign-in",
    request_body = CodeRequest,
    responses(
        (status = 202, description = "A six-digit code was texted", body = CodeSent),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`; `invalid_phone` or `phone_region_not_allowed`", body = ErrorBody),
        (status = 429, description = "`rate_limited` or `sms_budget_exhausted` (see `Retry-After`)", body = ErrorBody),
        (status = 503, description = "`sms_unavailable` or `store_unavailable`", body = ErrorBody)
    )
)]
pub(crate) async fn request_code(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    state.identity.request_code(&body.phone, client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            expires_in: state.config.identity.otp_ttl_seconds,
        }),
    ))
}

/// Verifies a code and signs in.
#[utoipa::path(
    post,
    path = "/v1/auth/otp/verify",
    tag = "sign-in",
    request_body = CodeVerification,
    responses(
        (status = 200, description = "Signed in: a token pair", body = SignedIn),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`; `invalid_phone` or `invalid_code_format`", body = ErrorBody),
        (status = 401, description = "`invalid_code` (wrong, expired, or none outstanding) or `code_attempts_exhausted`", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 409, description = "`conflict`: a racing sign-in; retry", body = ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    )
)]
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
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "sign-in",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the old refresh token is spent", body = SignedIn),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 401, description = "`invalid_token`, or `refresh_token_reused` (the whole sign-in is revoked)", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    )
)]
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
#[utoipa::path(
    post,
    path = "/v1/auth/logout_all",
    tag = "sign-in",
    responses(
        (status = 200, description = "Every sign-in of the account is revoked", body = SignedOutEverywhere),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn logout_everywhere(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<SignedOutEverywhere>, ApiError> {
    let revoked = state.identity.logout_everywhere(&caller).await?;
    state.presence.revoke(caller.account_id, None);
    // No sign-in is left to receive pushes.
    super::device_routes::remove_signed_in_devices(&*state.store, caller.account_id, None).await?;
    Ok(Json(SignedOutEverywhere {
        revoked_sign_ins: u64::from(revoked),
    }))
}

/// Revokes the caller's sign-in.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "sign-in",
    responses(
        (status = 204, description = "Every token of this sign-in is revoked; its socket closes"),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
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
