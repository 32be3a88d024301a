//! Standard Webhooks signing: an endpoint's secret is `whsec_` and the
//! base64 of at least 24 random bytes; a message is signed as
//! `v1,` + base64(HMAC-SHA256(secret, "{webhook-id}.{webhook-timestamp}.{body}")),
//! and while a secret is being rotated both the new and the old signature
//! are sent, separated by a space, so receivers accept either.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of a secret's text form.
pub(crate) const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a generated secret (the spec asks for 24 to 64).
pub(crate) const SECRET_BYTES: usize = 32;

/// Fewest bytes a secret may have.
pub(crate) const MIN_SECRET_BYTES: usize = 24;

/// An endpoint's signing key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SigningSecret(..)")
    }
}

/// Why a secret's text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SecretError {
    /// It does not start with `whsec_`.
    #[error("a signing secret starts with whsec_")]
    MissingPrefix,
    /// What follows the prefix is not base64.
    #[error("a signing secret is base64 after its prefix")]
    NotBase64,
    /// It holds fewer than [`MIN_SECRET_BYTES`] bytes.
    #[error("a signing secret holds at least 24 bytes")]
    TooShort,
}

impl SigningSecret {
    /// A new secret of [`SECRET_BYTES`] random bytes.
    pub(crate) fn generate() -> Self {
        let mut bytes = vec![0_u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The secret of a `whsec_` text.
    pub(crate) fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_not_base64| SecretError::NotBase64)?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort);
        }
        Ok(Self(bytes))
    }

    /// The `whsec_` text, shown to the admin once.
    pub(crate) fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `v1,` signature of one message.
    pub(crate) fn sign(&self, webhook_id: &str, timestamp_seconds: i64, body: &str) -> String {
        // HMAC accepts keys of any length, so this never fails.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_never) => return String::new(),
        };
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_seconds.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header value: one signature per secret, space
/// separated (the current secret first, then one being rotated out).
pub(crate) fn signature_header(
    secrets: &[&SigningSecret],
    webhook_id: &str,
    timestamp_seconds: i64,
    body: &str,
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(webhook_id, timestamp_seconds, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_signs_as_published() {
        // The example of the Standard Webhooks specification.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_short_ones_are_refused() {
        let secret = SigningSecret::generate();
        assert!(secret.to_text().starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(&secret.to_text()), Ok(secret));
        assert_eq!(
            SigningSecret::parse("whsec_c2hvcnQ="),
            Err(SecretError::TooShort)
        );
        assert_eq!(
            SigningSecret::parse("sk_abc"),
            Err(SecretError::MissingPrefix)
        );
    }

    #[test]
    fn a_rotation_sends_both_signatures() {
        let new = SigningSecret::generate();
        let old = SigningSecret::generate();
        let header = signature_header(&[&new, &old], "msg_1", 10, "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            vec![new.sign("msg_1", 10, "{}"), old.sign("msg_1", 10, "{}")]
        );
    }
}
