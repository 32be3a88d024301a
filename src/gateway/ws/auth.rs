//! The token check a socket needs after `hello`, behind a trait so the socket loop's
//! tests substitute a fake instead of a store-backed [`IdentityService`]. The
//! header path of the upgrade calls the service directly (its errors become HTTP
//! answers); both classify failures with [`classify`].

use async_trait::async_trait;

use crate::identity::{Authenticated, IdentityError, IdentityService};

/// Why a token did not authenticate a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// Unknown, expired, revoked or malformed: close 4001 (HTTP 401 on the upgrade).
    Rejected,
    /// The token could not be checked (store down or contended): close 1001 (HTTP
    /// 503 on the upgrade), the client retries with backoff.
    Unavailable,
}

/// Checks access tokens for the socket loop.
#[async_trait]
pub(crate) trait TokenAuthenticator: Send + Sync + std::fmt::Debug {
    /// The account behind `token`. The token is never logged.
    async fn check_token(&self, token: &str) -> Result<Authenticated, AuthFailure>;
}

#[async_trait]
impl TokenAuthenticator for IdentityService {
    async fn check_token(&self, token: &str) -> Result<Authenticated, AuthFailure> {
        self.authenticate(token).await.map_err(|error| {
            let failure = classify(&error);
            if failure == AuthFailure::Unavailable {
                tracing::warn!(%error, "socket token check failed");
            }
            failure
        })
    }
}

/// What an identity error means for a socket.
pub(crate) fn classify(error: &IdentityError) -> AuthFailure {
    match error {
        IdentityError::Store(_) | IdentityError::Contended | IdentityError::SmsUnavailable => {
            AuthFailure::Unavailable
        }
        IdentityError::InvalidToken
        | IdentityError::RefreshTokenReused { .. }
        | IdentityError::InvalidPhone(_)
        | IdentityError::PhoneRegionNotAllowed
        | IdentityError::SmsBudgetExhausted { .. }
        | IdentityError::MalformedCode
        | IdentityError::RateLimited { .. }
        | IdentityError::NoCodeOutstanding
        | IdentityError::CodeExpired
        | IdentityError::WrongCode { .. }
        | IdentityError::CodeAttemptsExhausted
        | IdentityError::AccountDisabled
        | IdentityError::AccountNotFound
        | IdentityError::NotOnRoster
        | IdentityError::IdentityLinkedElsewhere => AuthFailure::Rejected,
    }
}
