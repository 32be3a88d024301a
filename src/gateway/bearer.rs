//! Bearer-token extractors: `Caller` (a signed-in person) and `Admin`. Tokens are
//! read only from the `Authorization: Bearer` header, never from the URL.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;
use crate::identity::Authenticated;

/// The person behind the request's access token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller(pub(crate) Authenticated);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?;
        let caller = state.identity.authenticate(token).await?;
        Ok(Caller(caller))
    }
}

/// An optional bearer: no `Authorization` header is `None`; a header with a
/// token that is not valid is refused as for [`Caller`].
impl axum::extract::OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        <Self as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

/// A request carrying the admin token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?;
        if state.admin_token.matches(token) {
            Ok(Admin)
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "this endpoint needs the admin token",
            ))
        }
    }
}

/// A request carrying the admin token or the read-only analyst key: what
/// reading reports needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportReader;

impl FromRequestParts<AppState> for ReportReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?;
        let analyst = state
            .analyst_token
            .as_ref()
            .is_some_and(|analyst| analyst.matches(token));
        if analyst || state.admin_token.matches(token) {
            Ok(ReportReader)
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "this endpoint needs the admin token or the analyst key",
            ))
        }
    }
}

/// The admin token, kept only as its hash.
#[derive(Clone)]
pub(crate) struct AdminToken {
    /// SHA-256 of the token.
    hash: Arc<[u8; 32]>,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// Remembers the hash of `token`.
    pub(crate) fn new(token: &str) -> Self {
        Self {
            hash: Arc::new(Sha256::digest(token.trim().as_bytes()).into()),
        }
    }

    /// Constant-time check of an offered token.
    pub(crate) fn matches(&self, offered: &str) -> bool {
        let offered: [u8; 32] = Sha256::digest(offered.as_bytes()).into();
        offered
            .iter()
            .zip(self.hash.iter())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "send the access token as Authorization: Bearer <token>",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "malformed authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "malformed authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "the authorization scheme must be Bearer",
        ));
    }
    Ok(token.trim())
}
