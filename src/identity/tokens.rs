//! Opaque bearer tokens: 256 random bits, base64url, with a prefix that tells a
//! person which kind they hold. Only their SHA-256 is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

use super::keys;
use crate::store::{SecretHash, TokenKind};

/// Prefix of access tokens.
const ACCESS_PREFIX: &str = "hba_";
/// Prefix of refresh tokens.
const REFRESH_PREFIX: &str = "hbr_";
/// Longest text accepted as a token before hashing (prefix + 43 base64 chars).
pub(crate) const MAX_TOKEN_CHARS: usize = 64;

/// A fresh random token of `kind`.
pub(crate) fn generate(kind: TokenKind) -> String {
    let secret: [u8; 32] = rand::rng().random();
    let prefix = match kind {
        TokenKind::Access => ACCESS_PREFIX,
        TokenKind::Refresh => REFRESH_PREFIX,
    };
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(secret))
}

/// The store key of a token a client offered, or `None` when the text is too
/// long to be one this server minted. Checked before hashing, so an oversized
/// token costs nothing and never reaches the store.
pub(crate) fn offered_token_hash(token: &str) -> Option<SecretHash> {
    if token.len() > MAX_TOKEN_CHARS {
        return None;
    }
    Some(keys::token_hash(token))
}

/// A fresh 6-digit one-time code, uniformly drawn.
pub(crate) fn generate_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// True for exactly six ASCII digits.
pub(crate) fn is_code_shaped(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_prefixed() {
        let first = generate(TokenKind::Access);
        let second = generate(TokenKind::Access);
        assert!(first.starts_with("hba_"));
        assert!(generate(TokenKind::Refresh).starts_with("hbr_"));
        assert_ne!(first, second);
        assert_eq!(first.len(), 4 + 43);
        assert!(first.len() <= MAX_TOKEN_CHARS);
    }

    #[test]
    fn only_token_sized_text_has_a_store_key() {
        let token = generate(TokenKind::Access);
        assert!(offered_token_hash(&token).is_some());
        assert!(offered_token_hash(&"a".repeat(MAX_TOKEN_CHARS)).is_some());
        assert!(offered_token_hash(&"a".repeat(MAX_TOKEN_CHARS + 1)).is_none());
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            assert!(is_code_shaped(&generate_code()));
        }
        assert!(!is_code_shaped("12345"));
        assert!(!is_code_shaped("12345a"));
    }
}
