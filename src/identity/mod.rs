//! Sign-in by phone: one-time codes, account creation (officer only when the phone
//! is on the roster), opaque access and refresh tokens with rotation and reuse
//! detection, logout, and bearer-token authentication; provider identities
//! (OpenID Connect) linked to accounts and signed in with.

mod account_control;
mod deletion;
mod ip_limits;
pub(crate) mod keys;
mod oidc_sign_in;
mod phone_locks;
pub(crate) mod rekey;
mod secret_file;
mod service;
pub(crate) mod sms;
mod sms_budget;
pub(crate) mod tokens;
pub(crate) mod window_limiter;

pub(crate) use account_control::{AccountSummary, RosterRemoval};
pub(crate) use ip_limits::AddressKey;
pub(crate) use secret_file::write_new as write_secret_file;
pub(crate) use service::{
    Authenticated, IdentityError, IdentityService, SignInLimit, SignedIn, phone_regions,
};
pub(crate) use sms_budget::SmsRefusal;

#[cfg(test)]
mod tests;
