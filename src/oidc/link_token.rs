//! The link token: what a first sign-in with a provider hands the app while
//! the account waits for its phone. It carries the identity, name and email
//! sealed under a key derived from the master key, so nothing is stored about
//! a person who never verifies a phone, and any node of the cluster can read
//! it. It expires, and a tampered token does not open.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::error::OidcError;
use crate::identity::keys::ServerKeys;
use crate::store::IdentityKey;

/// How long an app has to verify the phone after a first sign-in.
pub(super) const LINK_TTL_MS: i64 = 30 * 60 * 1000;

/// A provider identity waiting for a verified phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingLink {
    /// The identity (issuer and subject, hashed).
    pub(crate) key: IdentityKey,
    /// The provider it came through.
    pub(crate) provider_id: String,
    /// The email the provider gave, if any.
    pub(crate) email: Option<String>,
    /// The name the provider gave, if any: the new profile's display name.
    pub(crate) name: Option<String>,
    /// When the token stops being accepted (Unix ms).
    pub(crate) expires_at_ms: i64,
}

impl PendingLink {
    /// The token the app carries to `POST /v1/auth/otp/verify`.
    pub(super) fn seal(&self, keys: &ServerKeys) -> Result<String, OidcError> {
        let contents = serde_json::to_vec(self)
            .map_err(|error| OidcError::MalformedToken(error.to_string()))?;
        Ok(URL_SAFE_NO_PAD.encode(keys.seal_link(&contents)))
    }

    /// Reads a token this server made, unless it expired by `now_ms`.
    pub(super) fn open(token: &str, keys: &ServerKeys, now_ms: i64) -> Result<Self, OidcError> {
        let sealed = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| OidcError::LinkInvalid)?;
        let contents = keys.open_link(&sealed).ok_or(OidcError::LinkInvalid)?;
        let link: Self = serde_json::from_slice(&contents).map_err(|_| OidcError::LinkInvalid)?;
        if now_ms >= link.expires_at_ms {
            return Err(OidcError::LinkInvalid);
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(expires_at_ms: i64) -> PendingLink {
        PendingLink {
            key: IdentityKey([7; 32]),
            provider_id: "example".to_owned(),
            email: Some("ada@example.org".to_owned()),
            name: Some("Ada".to_owned()),
            expires_at_ms,
        }
    }

    #[test]
    fn a_token_opens_with_its_keys_until_it_expires() {
        let keys = ServerKeys::derive(&[1; 32]);
        let token = link(1_000).seal(&keys).unwrap();
        assert!(
            !token.contains("ada"),
            "the email is not readable in the token"
        );
        assert_eq!(PendingLink::open(&token, &keys, 999).unwrap(), link(1_000));
        assert!(matches!(
            PendingLink::open(&token, &keys, 1_000),
            Err(OidcError::LinkInvalid)
        ));
        let other_keys = ServerKeys::derive(&[2; 32]);
        assert!(matches!(
            PendingLink::open(&token, &other_keys, 0),
            Err(OidcError::LinkInvalid)
        ));
        let mut tampered = token.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(PendingLink::open(&tampered, &keys, 0).is_err());
    }
}
