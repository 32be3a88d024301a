//! One configured provider as the server reaches it: its discovery document
//! and its key set (JWKS), fetched when first needed and cached. The key set
//! is fetched again once when a token names a key it does not hold, so a
//! provider's key rotation needs no restart. Both are kept an hour at most,
//! so a key the provider withdrew stops being accepted within the hour.

use std::sync::{Mutex, PoisonError};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;

use super::error::OidcError;
use crate::config::OidcProviderConfig;

/// How long a fetched discovery document or key set is used.
const CACHE_TTL_MS: i64 = 3_600_000;

/// The parts of a discovery document the server uses.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Metadata {
    /// Must equal the configured issuer (OpenID Connect Discovery 4.3).
    pub(super) issuer: String,
    /// Where the app sends the person.
    pub(super) authorization_endpoint: String,
    /// Where the server exchanges the code.
    pub(super) token_endpoint: String,
    /// The provider's signing keys.
    pub(super) jwks_uri: String,
}

/// A provider, its secret and what was fetched from it.
#[derive(Debug)]
pub(super) struct ProviderClient {
    /// The validated configuration.
    pub(super) config: OidcProviderConfig,
    /// The client secret read from the environment at start.
    pub(super) client_secret: String,
    /// Calls to the provider, with the provider's timeout.
    pub(super) http: reqwest::Client,
    /// The discovery document and when it was fetched.
    metadata: Mutex<Option<(Metadata, i64)>>,
    /// The last key set fetched, and when.
    keys: Mutex<Option<(JwkSet, i64)>>,
}

impl ProviderClient {
    /// A provider nothing was fetched from yet.
    pub(super) fn new(
        config: OidcProviderConfig,
        client_secret: String,
        http: reqwest::Client,
    ) -> Self {
        Self {
            config,
            client_secret,
            http,
            metadata: Mutex::new(None),
            keys: Mutex::new(None),
        }
    }

    /// The discovery document, fetched when missing or an hour old.
    pub(super) async fn metadata(&self, now_ms: i64) -> Result<Metadata, OidcError> {
        let cached = self
            .metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some((metadata, fetched_at_ms)) = cached
            && now_ms - fetched_at_ms < CACHE_TTL_MS
        {
            return Ok(metadata);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let metadata: Metadata = self.get_json(&url, "discovery document").await?;
        if metadata.issuer != self.config.issuer {
            tracing::warn!(
                provider = %self.config.id,
                published = %metadata.issuer,
                "the discovery document names another issuer"
            );
            return Err(OidcError::ProviderUnavailable);
        }
        *self.metadata.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((metadata.clone(), now_ms));
        Ok(metadata)
    }

    /// The published key `kid` names (the only key, when the token names
    /// none), fetching the key set when it is not cached, an hour old, or
    /// lacks the key.
    pub(super) async fn signing_key(
        &self,
        metadata: &Metadata,
        kid: Option<&str>,
        now_ms: i64,
    ) -> Result<Jwk, OidcError> {
        let cached = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let fresh = cached.filter(|(_, fetched_at_ms)| now_ms - fetched_at_ms < CACHE_TTL_MS);
        if let Some(found) = fresh.as_ref().and_then(|(keys, _)| find_key(keys, kid)) {
            return Ok(found);
        }
        let fetched: JwkSet = self.get_json(&metadata.jwks_uri, "key set").await?;
        let found = find_key(&fetched, kid);
        *self.keys.lock().unwrap_or_else(PoisonError::into_inner) = Some((fetched, now_ms));
        found.ok_or(OidcError::UnknownSigningKey)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &'static str,
    ) -> Result<T, OidcError> {
        let unavailable = |error: &dyn std::fmt::Display| {
            tracing::warn!(provider = %self.config.id, what, %error, "sign-in provider unavailable");
            OidcError::ProviderUnavailable
        };
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|error| unavailable(&error))?;
        if !response.status().is_success() {
            return Err(unavailable(&response.status()));
        }
        response.json().await.map_err(|error| unavailable(&error))
    }
}

/// The key named `kid`, or the set's only key when no kid is named.
fn find_key(keys: &JwkSet, kid: Option<&str>) -> Option<Jwk> {
    match kid {
        Some(kid) => keys.find(kid).cloned(),
        None => match keys.keys.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        },
    }
}
