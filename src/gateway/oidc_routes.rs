//! `/v1/auth/oidc/*`: sign-in with an OpenID Connect provider for mobile
//! apps (RFC 8252). The server keeps state, nonce and PKCE verifier; the app
//! opens the authorization URL in the system browser, receives the code at
//! its redirect URI and posts it with the state to the callback.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::bearer::Caller;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use crate::oidc::{ProviderListing, Started};

/// Body of `POST /v1/auth/oidc/{provider}/callback`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Callback {
    /// The state `start` returned, as the redirect brought it back.
    state: String,
    /// The authorization code from the redirect.
    code: String,
}

/// Answer of `GET /v1/auth/oidc/providers`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProvidersBody {
    /// In the configured order.
    providers: Vec<ProviderListing>,
}

/// Answer of a callback that linked the identity to the signed-in caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LinkedBody {
    /// Always `linked`.
    status: &'static str,
    /// The provider.
    provider: String,
}

/// Answer of a first sign-in with a provider: the phone must be verified.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PhoneVerificationRequired {
    /// Always `phone_verification_required`.
    status: &'static str,
    /// Sealed; send it to `POST /v1/auth/otp/verify` with the phone's code.
    link_token: String,
    /// Seconds the link token is accepted.
    expires_in: u64,
}

/// The configured providers, for the app's sign-in buttons.
#[utoipa::path(
    get,
    path = "/v1/auth/oidc/providers",
    tag = "sign-in",
    responses(
        (status = 200, description = "The configured providers", body = ProvidersBody)
    )
)]
pub(crate) async fn providers(State(state): State<AppState>) -> Json<ProvidersBody> {
    Json(ProvidersBody {
        providers: state.oidc.listing(),
    })
}

/// Starts a sign-in: the authorization URL to open and its state.
#[utoipa::path(
    get,
    path = "/v1/auth/oidc/{provider}/start",
    tag = "sign-in",
    params(("provider" = String, Path, description = "A provider id from the listing")),
    responses(
        (status = 200, description = "Open the authorization URL in the system browser", body = Started),
        (status = 404, description = "`oidc_provider_unknown`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`)", body = ErrorBody),
        (status = 503, description = "`oidc_provider_unavailable` or `oidc_busy`", body = ErrorBody)
    )
)]
pub(crate) async fn start(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Path(provider): Path<String>,
) -> Result<Json<Started>, ApiError> {
    Ok(Json(state.oidc.start(&provider, client).await?))
}

/// Completes a sign-in. Signed in (a bearer token): links the identity to
/// the caller's account. Otherwise: signs in to the account the identity is
/// linked to, or answers 202 with a link token that `POST
/// /v1/auth/otp/verify` takes with the phone's code.
#[utoipa::path(
    post,
    path = "/v1/auth/oidc/{provider}/callback",
    tag = "sign-in",
    params(("provider" = String, Path, description = "The provider of `start`")),
    request_body = Callback,
    responses(
        (status = 200, description = "Signed in (a token pair), or, with a bearer token, the identity linked to the caller (`LinkedBody`)", body = crate::identity::SignedIn),
        (status = 202, description = "First sign-in with this identity: verify a phone with the link token", body = PhoneVerificationRequired),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 401, description = "`oidc_state_invalid`, `oidc_code_rejected`, `oidc_link_invalid`, `oidc_nonce_mismatch` or an `oidc_token_*` code", body = ErrorBody),
        (status = 404, description = "`oidc_provider_unknown`", body = ErrorBody),
        (status = 409, description = "`oidc_identity_linked_elsewhere`", body = ErrorBody),
        (status = 502, description = "`oidc_provider_refused`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`)", body = ErrorBody),
        (status = 503, description = "`oidc_provider_unavailable` or `oidc_busy`", body = ErrorBody)
    )
)]
pub(crate) async fn callback(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Path(provider): Path<String>,
    caller: Option<Caller>,
    ApiJson(body): ApiJson<Callback>,
) -> Result<Response, ApiError> {
    let verified = state
        .oidc
        .complete(&provider, &body.state, &body.code, client)
        .await?;
    if let Some(Caller(caller)) = caller {
        let link = state.oidc.pending_link(&verified);
        state
            .identity
            .link_identity(caller.account_id, &link)
            .await?;
        return Ok(Json(LinkedBody {
            status: "linked",
            provider,
        })
        .into_response());
    }
    let link = state.oidc.pending_link(&verified);
    if let Some(signed_in) = state
        .identity
        .sign_in_identity(&link, verified.previous_key.as_ref())
        .await?
    {
        crate::metrics::sign_in_completed(signed_in.role);
        return Ok(Json(signed_in).into_response());
    }
    let (link_token, expires_in) = state.oidc.link_token(&verified)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PhoneVerificationRequired {
            status: "phone_verification_required",
            link_token,
            expires_in,
        }),
    )
        .into_response())
}
