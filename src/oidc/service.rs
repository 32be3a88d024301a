//! The OIDC sign-in flow of every configured provider: `start` makes the
//! authorization URL and keeps the state, nonce and PKCE verifier; `complete`
//! takes the state back once, exchanges the code at the token endpoint and
//! validates the ID token. Both count against a per-address limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::discovery::{Metadata, ProviderClient};
use super::error::{OidcError, OidcSetupError};
use super::id_token;
use super::link_token::{LINK_TTL_MS, PendingLink};
use super::pending::{PendingRequest, PendingRequests, random_token, s256_challenge};
use crate::clock::Clock;
use crate::config::{EnvironmentVariables, IdentityConfig};
use crate::identity::AddressKey;
use crate::identity::keys::ServerKeys;
use crate::identity::window_limiter::WindowLimiter;
use crate::store::IdentityKey;

/// How long a started sign-in waits for its callback.
pub(crate) const START_TTL_MS: i64 = 10 * 60 * 1000;
/// Started sign-ins held on one node at most.
const MAX_PENDING: usize = 10_000;
/// Client addresses the per-address limit remembers.
const MAX_ADDRESSES: usize = 100_000;

/// What `start` hands the app.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Started {
    /// Open this in the system browser (RFC 8252 section 6).
    pub(crate) authorization_url: String,
    /// Comes back on the redirect; the app posts it with the code.
    pub(crate) state: String,
    /// Seconds the state is accepted.
    pub(crate) expires_in: u64,
}

/// A validated provider identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedIdentity {
    /// The provider it came through.
    pub(crate) provider_id: String,
    /// Issuer and subject, hashed.
    pub(crate) key: IdentityKey,
    /// Issuer and subject hashed under the previous master key, while a
    /// rotation runs: where a link made before it is found.
    pub(crate) previous_key: Option<IdentityKey>,
    /// The email, when given and not marked unverified.
    pub(crate) email: Option<String>,
    /// The name, when given.
    pub(crate) name: Option<String>,
}

/// A configured provider's public face, for the app's sign-in buttons.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ProviderListing {
    /// The id in the URLs.
    pub(crate) id: String,
    /// The button's text.
    pub(crate) label: String,
}

/// The token endpoint's answer, as far as it is read.
#[derive(Debug, Deserialize)]
struct TokenResponse {
    /// The ID token (the access token is not used).
    id_token: Option<String>,
}

/// The token endpoint's error answer (RFC 6749 section 5.2).
#[derive(Debug, Deserialize)]
struct TokenError {
    /// The error code.
    error: String,
}

/// Every configured provider and the sign-ins under way.
#[derive(Debug)]
pub(crate) struct OidcService {
    /// Providers by id.
    providers: HashMap<String, ProviderClient>,
    /// Configured order, for the listing.
    order: Vec<String>,
    /// Started sign-ins.
    pending: PendingRequests,
    /// Steps per client address.
    limiter: WindowLimiter<AddressKey>,
    /// Identity hashing and link tokens.
    keys: Arc<ServerKeys>,
    /// Time source.
    clock: Clock,
}

impl OidcService {
    /// The providers of `config`, their secrets read from `environment`.
    pub(crate) fn from_config(
        config: &IdentityConfig,
        environment: &EnvironmentVariables,
        keys: Arc<ServerKeys>,
        clock: Clock,
    ) -> Result<Self, OidcSetupError> {
        let mut providers = HashMap::new();
        let mut order = Vec::new();
        for provider in &config.oidc {
            let secret = environment
                .get(&provider.client_secret_env)
                .filter(|secret| !secret.is_empty())
                .ok_or_else(|| OidcSetupError::MissingSecret {
                    provider: provider.id.clone(),
                    variable: provider.client_secret_env.clone(),
                })?;
            // The code is exchanged where discovery said: never a redirect
            // elsewhere, which could carry the client secret off.
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(provider.timeout_seconds))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|error| OidcSetupError::Client(error.to_string()))?;
            order.push(provider.id.clone());
            providers.insert(
                provider.id.clone(),
                ProviderClient::new(provider.clone(), secret.to_owned(), http),
            );
        }
        Ok(Self {
            providers,
            order,
            pending: PendingRequests::new(MAX_PENDING),
            limiter: WindowLimiter::new(config.oidc_max_per_ip_per_hour, MAX_ADDRESSES),
            keys,
            clock,
        })
    }

    /// The configured providers, in configured order.
    pub(crate) fn listing(&self) -> Vec<ProviderListing> {
        self.order
            .iter()
            .filter_map(|id| self.providers.get(id))
            .map(|provider| ProviderListing {
                id: provider.config.id.clone(),
                label: provider.config.label.clone(),
            })
            .collect()
    }

    /// Starts a sign-in with `provider_id` for the app at `client`.
    pub(crate) async fn start(
        &self,
        provider_id: &str,
        client: IpAddr,
    ) -> Result<Started, OidcError> {
        let provider = self.provider(provider_id)?;
        let now_ms = self.clock.now_ms();
        self.count(client, now_ms)?;
        let metadata = provider.metadata(now_ms).await?;
        let state = random_token();
        let request = PendingRequest {
            provider_id: provider_id.to_owned(),
            nonce: random_token(),
            verifier: random_token(),
            expires_at_ms: now_ms + START_TTL_MS,
        };
        let authorization_url = authorization_url(provider, &metadata, &state, &request)?;
        if !self.pending.insert(state.clone(), request, now_ms) {
            return Err(OidcError::Busy);
        }
        Ok(Started {
            authorization_url,
            state,
            expires_in: (START_TTL_MS / 1000) as u64,
        })
    }

    /// Completes a sign-in: the state is used up whatever happens next.
    pub(crate) async fn complete(
        &self,
        provider_id: &str,
        state: &str,
        code: &str,
        client: IpAddr,
    ) -> Result<VerifiedIdentity, OidcError> {
        let provider = self.provider(provider_id)?;
        let now_ms = self.clock.now_ms();
        self.count(client, now_ms)?;
        let request = self
            .pending
            .take(state, now_ms)
            .filter(|request| request.provider_id == provider_id)
            .ok_or(OidcError::StateInvalid)?;
        let metadata = provider.metadata(now_ms).await?;
        let id_token = exchange_code(provider, &metadata, code, &request.verifier).await?;
        let header = id_token::header(&id_token)?;
        let key = provider
            .signing_key(&metadata, header.kid.as_deref(), now_ms)
            .await?;
        let claims = id_token::validate(
            &id_token,
            &header,
            &key,
            &provider.config.issuer,
            &provider.config.client_id,
            &request.nonce,
        )?;
        Ok(VerifiedIdentity {
            provider_id: provider_id.to_owned(),
            key: self.keys.identity_key(&provider.config.issuer, &claims.sub),
            previous_key: self
                .keys
                .previous_identity_key(&provider.config.issuer, &claims.sub),
            // An address the provider says it did not verify is not kept.
            email: claims
                .email
                .filter(|_| claims.email_verified != Some(false)),
            name: claims.name.filter(|name| !name.trim().is_empty()),
        })
    }

    /// The identity as a link waiting for an account.
    pub(crate) fn pending_link(&self, identity: &VerifiedIdentity) -> PendingLink {
        PendingLink {
            key: identity.key,
            provider_id: identity.provider_id.clone(),
            email: identity.email.clone(),
            name: identity.name.clone(),
            expires_at_ms: self.clock.now_ms() + LINK_TTL_MS,
        }
    }

    /// A link token for an identity no account holds yet, and its lifetime
    /// in seconds.
    pub(crate) fn link_token(
        &self,
        identity: &VerifiedIdentity,
    ) -> Result<(String, u64), OidcError> {
        let link = self.pending_link(identity);
        Ok((link.seal(&self.keys)?, (LINK_TTL_MS / 1000) as u64))
    }

    /// Reads a link token this server made.
    pub(crate) fn open_link_token(&self, token: &str) -> Result<PendingLink, OidcError> {
        PendingLink::open(token, &self.keys, self.clock.now_ms())
    }

    fn provider(&self, provider_id: &str) -> Result<&ProviderClient, OidcError> {
        self.providers
            .get(provider_id)
            .ok_or(OidcError::UnknownProvider)
    }

    fn count(&self, client: IpAddr, now_ms: i64) -> Result<(), OidcError> {
        self.limiter
            .try_count(AddressKey::from(client), now_ms)
            .map_err(|retry_after_seconds| OidcError::RateLimited {
                retry_after_seconds,
            })
    }
}

/// The authorization request (RFC 6749 4.1.1 with PKCE and a nonce).
fn authorization_url(
    provider: &ProviderClient,
    metadata: &Metadata,
    state: &str,
    request: &PendingRequest,
) -> Result<String, OidcError> {
    let mut url = reqwest::Url::parse(&metadata.authorization_endpoint).map_err(|error| {
        tracing::warn!(provider = %provider.config.id, %error, "unusable authorization endpoint");
        OidcError::ProviderUnavailable
    })?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.config.client_id)
        .append_pair("redirect_uri", &provider.config.redirect_uri)
        .append_pair("scope", &provider.config.scopes.join(" "))
        .append_pair("state", state)
        .append_pair("nonce", &request.nonce)
        .append_pair("code_challenge", &s256_challenge(&request.verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(url.into())
}

/// Trades the code for tokens at the token endpoint; returns the ID token.
async fn exchange_code(
    provider: &ProviderClient,
    metadata: &Metadata,
    code: &str,
    verifier: &str,
) -> Result<String, OidcError> {
    let unavailable = |error: &dyn std::fmt::Display| {
        tracing::warn!(provider = %provider.config.id, %error, "code exchange failed");
        OidcError::ProviderUnavailable
    };
    let response = provider
        .http
        .post(&metadata.token_endpoint)
        .basic_auth(
            form_encode(&provider.config.client_id),
            Some(form_encode(&provider.client_secret)),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", provider.config.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .map_err(|error| unavailable(&error))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(unavailable(&status));
    }
    if !status.is_success() {
        let error = response
            .json::<TokenError>()
            .await
            .map(|body| body.error)
            .unwrap_or_else(|_| status.to_string());
        return Err(match error.as_str() {
            "invalid_grant" => OidcError::CodeRejected,
            _ => {
                tracing::error!(provider = %provider.config.id, %error, "the token endpoint refused this server");
                OidcError::ProviderRefused
            }
        });
    }
    let body: TokenResponse = response.json().await.map_err(|error| unavailable(&error))?;
    body.id_token
        .ok_or_else(|| OidcError::MalformedToken("the token response has no id_token".to_owned()))
}

/// Client credentials in HTTP Basic are form-encoded first (RFC 6749 2.3.1).
fn form_encode(value: &str) -> String {
    reqwest::Url::parse_with_params("x:", [("v", value)])
        .ok()
        .and_then(|url| {
            url.query()
                .map(|query| query.trim_start_matches("v=").to_owned())
        })
        .unwrap_or_else(|| value.to_owned())
}
