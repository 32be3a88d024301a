//! Sign-in with OpenID Connect providers for mobile apps (RFC 8252): the
//! server starts each sign-in (state, nonce and PKCE verifier kept here,
//! bounded and short-lived), exchanges the code the app brings back, and
//! validates the ID token against the provider's published keys. What an
//! identity then reaches is the identity service's business.

mod discovery;
mod error;
mod id_token;
mod link_token;
mod pending;
mod service;

pub(crate) use error::OidcError;
pub(crate) use link_token::PendingLink;
pub(crate) use service::{OidcService, ProviderListing, Started};
