//! `/v1/auth/oidc/*`: sign-in with an OpenID Connect provider for mobile
//! apps (RFC 8252). The server keeps state, nonce and PKCE verifier; the app
//! opens the authorization URL in the system browser, receives the code at
//! its redirect URI and posts it with the state to the callback.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::bearer::Caller;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use crate::oidc::Started;

/// Body of `POST /v1/auth/oidc/{provider}/callback`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Callback {
    /// The state `start` returned, as the redirect brought it back.
    state: String,
    /// The authorization code from the redirect.
    code: String,
}

/// The configured providers, for the app's sign-in buttons.
pub(crate) async fn providers(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "providers": state.oidc.listing() }))
}

/// Starts a sign-in: the authorization URL to open and its state.
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
        return Ok(Json(json!({ "status": "linked", "provider": provider })).into_response());
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
        Json(json!({
            "status": "phone_verification_required",
            "link_token": link_token,
            "expires_in": expires_in,
        })),
    )
        .into_response())
}
