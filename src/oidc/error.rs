//! Why an OIDC sign-in step was refused; each maps to one stable API code.

/// A refused sign-in step.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OidcError {
    /// No provider with this id is configured.
    #[error("no such sign-in provider")]
    UnknownProvider,
    /// The provider could not be reached, answered with a server error, or
    /// published an unusable discovery document or key set.
    #[error("the sign-in provider is unavailable, try again later")]
    ProviderUnavailable,
    /// The provider refused the server itself (for instance its client
    /// secret): a configuration fault, logged.
    #[error("the sign-in provider refused this server")]
    ProviderRefused,
    /// The state is unknown, expired, already used, or from another provider.
    #[error("unknown or expired sign-in state, start again")]
    StateInvalid,
    /// The provider refused the code (used before, expired, or not for
    /// this sign-in's PKCE verifier).
    #[error("the provider refused the authorization code, start again")]
    CodeRejected,
    /// The ID token's nonce is not the one this sign-in sent.
    #[error("the ID token was not issued for this sign-in")]
    NonceMismatch,
    /// The ID token has expired.
    #[error("the ID token has expired")]
    TokenExpired,
    /// The ID token names a key the provider does not publish.
    #[error("the ID token is signed with a key the provider does not publish")]
    UnknownSigningKey,
    /// The ID token's signature does not verify.
    #[error("the ID token's signature is not valid")]
    BadSignature,
    /// The ID token is for another client.
    #[error("the ID token is for another client")]
    WrongAudience,
    /// The ID token names another issuer.
    #[error("the ID token names another issuer")]
    WrongIssuer,
    /// The ID token is not a well-formed, supported JWT.
    #[error("the ID token is malformed: {0}")]
    MalformedToken(String),
    /// The link token is unknown, altered or expired.
    #[error("the sign-in link is not valid or has expired, sign in with the provider again")]
    LinkInvalid,
    /// Too many sign-in steps from this address.
    #[error("too many requests, retry in {retry_after_seconds} s")]
    RateLimited {
        /// Seconds until a request can succeed.
        retry_after_seconds: u64,
    },
    /// Too many sign-ins are under way on this node.
    #[error("too many sign-ins are under way, try again shortly")]
    Busy,
}

/// Why the providers could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OidcSetupError {
    /// The client secret's environment variable is unset or empty.
    #[error(
        "environment variable {variable} (identity.oidc client_secret_env of {provider}) is not set"
    )]
    MissingSecret {
        /// The provider id.
        provider: String,
        /// The variable.
        variable: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the http client of the sign-in providers: {0}")]
    Client(String),
}
