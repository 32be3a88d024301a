//! The one error type of the HTTP API. Every error body is
//! `{"error":{"code","message"}}` with a stable `code`; causes go to the log, not
//! to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::connections::ConnectionError;
use crate::identity::IdentityError;
use crate::oidc::OidcError;
use crate::profiles::ProfileError;
use crate::rewards::{CatalogError, DonationError, StatementError, VoucherError};
use crate::store::StoreError;

/// An HTTP error answer.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    /// HTTP status.
    status: StatusCode,
    /// Stable machine-readable code.
    code: &'static str,
    /// Human-readable explanation.
    message: String,
    /// Seconds for a `Retry-After` header (429, some 503).
    retry_after_seconds: Option<u64>,
    /// Extra JSON merged into the `error` object (e.g. an import report).
    details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_seconds: None,
            details: None,
        }
    }

    /// Its status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// Its explanation.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// Its `Retry-After`, when it has one.
    pub(crate) fn retry_after_seconds(&self) -> Option<u64> {
        self.retry_after_seconds
    }

    /// 400: the body is not what the endpoint reads.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: the request is well-formed but a value is not acceptable.
    pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 401: no valid credentials.
    pub(crate) fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 404: nothing at this route.
    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    /// 500: a failure on our side; the cause is logged here.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    /// Adds a `Retry-After` header.
    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// Adds fields to the `error` object.
    pub(crate) fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The stable code (tests and metrics read it).
    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(serde_json::Value::Object(extra)), Some(object)) =
            (self.details, error.as_object_mut())
        {
            object.extend(extra);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => {
                tracing::warn!(%error, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "storage is unavailable, try again shortly",
                )
                .retry_after(5)
            }
            StoreError::StorageFailed(_) => {
                tracing::error!(%error, "the data directory's disk failed; nothing was written");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "storage is unavailable, try again shortly",
                )
                .retry_after(5)
            }
            StoreError::InUse { .. } | StoreError::Corrupt(_) | StoreError::Backend(_) => {
                Self::internal(&error)
            }
        }
    }
}

impl From<ProfileError> for ApiError {
    fn from(error: ProfileError) -> Self {
        match error {
            ProfileError::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "profile_not_found",
                "this account has no profile",
            ),
            ProfileError::Contended => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the profile is being changed concurrently, try again",
            ),
            ProfileError::Store(store) => store.into(),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        let message = error.to_string();
        match error {
            CatalogError::Invalid(field_error) => Self::unprocessable("invalid_field", message)
                .with_details(json!({ "field": field_error.field })),
            CatalogError::NotFound { code, .. } => Self::new(StatusCode::NOT_FOUND, code, message),
            CatalogError::IssuerNotFound { .. } => Self::unprocessable("issuer_not_found", message)
                .with_details(json!({ "field": "issuer_id" })),
            CatalogError::IssuerSuspended { .. } => {
                Self::unprocessable("issuer_suspended", message)
                    .with_details(json!({ "field": "issuer_id" }))
            }
            CatalogError::Contended => Self::new(StatusCode::CONFLICT, "conflict", message),
            CatalogError::Store(store) => store.into(),
        }
    }
}

impl From<DonationError> for ApiError {
    fn from(error: DonationError) -> Self {
        let message = error.to_string();
        match error {
            DonationError::PointsOutOfRange => Self::unprocessable("invalid_field", message),
            DonationError::IdempotencyKeyReused => {
                Self::unprocessable("idempotency_key_reused", message)
            }
            DonationError::InProgress => {
                Self::new(StatusCode::CONFLICT, "donation_in_progress", message).retry_after(1)
            }
            DonationError::Store(store) => store.into(),
        }
    }
}

impl From<StatementError> for ApiError {
    fn from(error: StatementError) -> Self {
        let message = error.to_string();
        match error {
            StatementError::MonthNotOver => {
                Self::new(StatusCode::CONFLICT, "month_not_over", message)
            }
            StatementError::Store(store) => store.into(),
        }
    }
}

impl From<VoucherError> for ApiError {
    fn from(error: VoucherError) -> Self {
        let message = error.to_string();
        match error {
            VoucherError::IdempotencyKeyReused => {
                Self::unprocessable("idempotency_key_reused", message)
            }
            VoucherError::InProgress => {
                Self::new(StatusCode::CONFLICT, "redemption_in_progress", message).retry_after(1)
            }
            VoucherError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, "voucher_not_found", message)
            }
            VoucherError::NotCancellable => {
                Self::new(StatusCode::CONFLICT, "voucher_not_cancellable", message)
            }
            VoucherError::NotUsable => {
                Self::new(StatusCode::CONFLICT, "voucher_not_usable", message)
            }
            VoucherError::Store(store) => store.into(),
        }
    }
}

impl From<ConnectionError> for ApiError {
    fn from(error: ConnectionError) -> Self {
        match error {
            ConnectionError::Store(store) => store.into(),
            ConnectionError::Profile(profile) => profile.into(),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(error: IdentityError) -> Self {
        let message = error.to_string();
        match error {
            IdentityError::InvalidPhone(_) => Self::unprocessable("invalid_phone", message),
            IdentityError::MalformedCode => Self::unprocessable("invalid_code_format", message),
            IdentityError::RateLimited {
                retry_after_seconds,
            } => Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
                .retry_after(retry_after_seconds),
            IdentityError::PhoneRegionNotAllowed => {
                Self::unprocessable("phone_region_not_allowed", message)
            }
            IdentityError::SmsBudgetExhausted {
                retry_after_seconds,
            } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "sms_budget_exhausted",
                message,
            )
            .retry_after(retry_after_seconds),
            // One answer whether a code is outstanding or not: a guesser learns
            // nothing about the phone from it.
            IdentityError::NoCodeOutstanding
            | IdentityError::CodeExpired
            | IdentityError::WrongCode { .. } => Self::unauthorized(
                "invalid_code",
                "the code is wrong or no longer valid, check it or request a new one",
            ),
            IdentityError::CodeAttemptsExhausted => {
                Self::unauthorized("code_attempts_exhausted", message)
            }
            IdentityError::InvalidToken => Self::unauthorized("invalid_token", message),
            IdentityError::RefreshTokenReused { .. } => {
                Self::unauthorized("refresh_token_reused", message)
            }
            IdentityError::SmsUnavailable => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "sms_unavailable", message)
                    .retry_after(30)
            }
            IdentityError::AccountDisabled => {
                Self::new(StatusCode::FORBIDDEN, "account_disabled", message)
            }
            IdentityError::AccountNotFound => {
                Self::new(StatusCode::NOT_FOUND, "account_not_found", message)
            }
            IdentityError::NotOnRoster => {
                Self::new(StatusCode::NOT_FOUND, "not_on_roster", message)
            }
            IdentityError::IdentityLinkedElsewhere => Self::new(
                StatusCode::CONFLICT,
                "oidc_identity_linked_elsewhere",
                message,
            ),
            IdentityError::Contended => Self::new(StatusCode::CONFLICT, "conflict", message),
            IdentityError::Store(store) => store.into(),
        }
    }
}

impl From<OidcError> for ApiError {
    fn from(error: OidcError) -> Self {
        let message = error.to_string();
        match error {
            OidcError::UnknownProvider => {
                Self::new(StatusCode::NOT_FOUND, "oidc_provider_unknown", message)
            }
            OidcError::ProviderUnavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "oidc_provider_unavailable",
                message,
            )
            .retry_after(30),
            OidcError::ProviderRefused => {
                Self::new(StatusCode::BAD_GATEWAY, "oidc_provider_refused", message)
            }
            OidcError::StateInvalid => Self::bad_request("oidc_state_invalid", message),
            OidcError::CodeRejected => Self::bad_request("oidc_code_rejected", message),
            OidcError::LinkInvalid => Self::bad_request("oidc_link_invalid", message),
            OidcError::NonceMismatch => Self::unauthorized("oidc_nonce_mismatch", message),
            OidcError::TokenExpired => Self::unauthorized("oidc_token_expired", message),
            OidcError::UnknownSigningKey => Self::unauthorized("oidc_token_key_unknown", message),
            OidcError::BadSignature => Self::unauthorized("oidc_token_signature_invalid", message),
            OidcError::WrongAudience => Self::unauthorized("oidc_token_audience_invalid", message),
            OidcError::WrongIssuer => Self::unauthorized("oidc_token_issuer_invalid", message),
            OidcError::MalformedToken(_) => {
                Self::unauthorized("oidc_token_invalid", "the ID token is not valid")
            }
            OidcError::RateLimited {
                retry_after_seconds,
            } => Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
                .retry_after(retry_after_seconds),
            OidcError::Busy => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "oidc_busy", message).retry_after(10)
            }
        }
    }
}
