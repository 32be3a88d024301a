//! Validation of an ID token (OpenID Connect Core 3.1.3.7): signature by a
//! key the provider publishes, issuer, audience, expiry with a small leeway
//! for clock skew, and the nonce this sign-in sent.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;

use super::error::OidcError;

/// Seconds of clock difference tolerated on `exp` and `nbf`.
pub(super) const LEEWAY_SECONDS: u64 = 60;

/// Signature algorithms accepted: the asymmetric ones, never `none` or the
/// HMAC ones (whose key would be the client secret).
const ACCEPTED_ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The claims the server reads.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct IdTokenClaims {
    /// The person at the provider.
    pub(super) sub: String,
    /// Echo of the sign-in's nonce.
    #[serde(default)]
    nonce: Option<String>,
    /// The party the token was issued to, when the audience lists several.
    #[serde(default)]
    azp: Option<String>,
    /// The person's email, when the `email` scope was granted.
    #[serde(default)]
    pub(super) email: Option<String>,
    /// Whether the provider verified that email.
    #[serde(default)]
    pub(super) email_verified: Option<bool>,
    /// The person's name, when the `profile` scope was granted.
    #[serde(default)]
    pub(super) name: Option<String>,
}

/// The header of a token, read before the key is chosen.
pub(super) fn header(token: &str) -> Result<Header, OidcError> {
    jsonwebtoken::decode_header(token).map_err(|error| OidcError::MalformedToken(error.to_string()))
}

/// Checks `token` (whose header is `header`) against `key` and what this
/// sign-in expects.
pub(super) fn validate(
    token: &str,
    header: &Header,
    key: &Jwk,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<IdTokenClaims, OidcError> {
    if !ACCEPTED_ALGORITHMS.contains(&header.alg) {
        return Err(OidcError::MalformedToken(format!(
            "signature algorithm {:?} is not accepted",
            header.alg
        )));
    }
    let decoding_key = DecodingKey::from_jwk(key)
        .map_err(|error| OidcError::MalformedToken(format!("unusable key: {error}")))?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<IdTokenClaims>(token, &decoding_key, &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::ExpiredSignature => OidcError::TokenExpired,
            ErrorKind::InvalidSignature => OidcError::BadSignature,
            ErrorKind::InvalidAudience => OidcError::WrongAudience,
            ErrorKind::InvalidIssuer => OidcError::WrongIssuer,
            _ => OidcError::MalformedToken(error.to_string()),
        })?
        .claims;
    if claims
        .azp
        .as_deref()
        .is_some_and(|authorized| authorized != client_id)
    {
        return Err(OidcError::WrongAudience);
    }
    let nonce_matches = claims
        .nonce
        .as_deref()
        .is_some_and(|echoed| constant_time_equal(echoed.as_bytes(), nonce.as_bytes()));
    if !nonce_matches {
        return Err(OidcError::NonceMismatch);
    }
    Ok(claims)
}

fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0_u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}
