//! Sign-ins started and not yet completed: by state, each with its nonce and
//! PKCE verifier, kept in memory a few minutes and used once. Bounded: when
//! full of live entries, new starts are refused rather than old ones dropped
//! (a flood cannot end sign-ins people are in the middle of).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// One started sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PendingRequest {
    /// The provider it was started with.
    pub(super) provider_id: String,
    /// The nonce the ID token must carry.
    pub(super) nonce: String,
    /// The PKCE verifier sent with the code.
    pub(super) verifier: String,
    /// When it stops being accepted (Unix ms).
    pub(super) expires_at_ms: i64,
}

/// The started sign-ins of this node.
#[derive(Debug)]
pub(super) struct PendingRequests {
    /// Entries held at most.
    max_entries: usize,
    /// State → request.
    entries: Mutex<HashMap<String, PendingRequest>>,
}

impl PendingRequests {
    /// An empty table holding at most `max_entries`.
    pub(super) fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps `request` under `state`; false when the table is full of live
    /// entries.
    pub(super) fn insert(&self, state: String, request: PendingRequest, now_ms: i64) -> bool {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.max_entries {
            entries.retain(|_, held| held.expires_at_ms > now_ms);
        }
        if entries.len() >= self.max_entries {
            return false;
        }
        entries.insert(state, request);
        true
    }

    /// Removes and returns the live request under `state`.
    pub(super) fn take(&self, state: &str, now_ms: i64) -> Option<PendingRequest> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .remove(state)
            .filter(|request| request.expires_at_ms > now_ms)
    }
}

/// 32 random bytes, base64url: states, nonces and PKCE verifiers (43
/// characters, within RFC 7636's 43 to 128).
pub(super) fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 code challenge of a PKCE verifier (RFC 7636 section 4.2).
pub(super) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(expires_at_ms: i64) -> PendingRequest {
        PendingRequest {
            provider_id: "example".to_owned(),
            nonce: random_token(),
            verifier: random_token(),
            expires_at_ms,
        }
    }

    #[test]
    fn a_state_is_taken_once_and_not_after_it_expired() {
        let pending = PendingRequests::new(10);
        let held = request(1_000);
        assert!(pending.insert("a".to_owned(), held.clone(), 0));
        assert_eq!(pending.take("a", 10), Some(held));
        assert_eq!(pending.take("a", 10), None);
        assert!(pending.insert("b".to_owned(), request(1_000), 0));
        assert_eq!(pending.take("b", 1_000), None);
    }

    #[test]
    fn a_full_table_refuses_until_entries_expire() {
        let pending = PendingRequests::new(2);
        assert!(pending.insert("a".to_owned(), request(100), 0));
        assert!(pending.insert("b".to_owned(), request(200), 0));
        assert!(!pending.insert("c".to_owned(), request(300), 50));
        assert!(pending.insert("c".to_owned(), request(300), 150));
        assert!(pending.take("b", 150).is_some());
    }

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(random_token().len(), 43);
    }
}
