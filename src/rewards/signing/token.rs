//! Voucher tokens: PASETO v4.public (Ed25519) over a compact JSON payload of
//! what a retailer needs to honour a voucher — its id, the offer, the issuer
//! and its kind, the expiry — and no personal data; the signing key's
//! PASERK id is the footer's `kid`. Ids are the 16 UUID bytes in base64url
//! (22 characters instead of 36) and claim names are one letter, so the token
//! fits a small QR code; `exp` stays the registered PASETO claim (RFC 3339,
//! whole seconds) so generic PASETO libraries check it too.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat};
use pasetors::Public;
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::key_set::{KeySet, VoucherKey};
use crate::domain::catalog::OfferKind;
use crate::domain::voucher::Voucher;

/// Longest token text verified, in bytes, after trimming: a voucher token is
/// about 300 characters, and anything far longer is refused before it is
/// decoded, so a presented token costs bounded work whatever its size.
pub(crate) const MAX_TOKEN_BYTES: usize = 1_024;

/// What a voucher token asserts, as read back from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VoucherClaims {
    /// The voucher (and redemption) id.
    pub(crate) voucher_id: Uuid,
    /// The offer or scheme it was issued for.
    pub(crate) offer_id: Uuid,
    /// The retailer or municipality that honours it.
    pub(crate) issuer_id: Uuid,
    /// Whether the issuer is a retailer (`offer`) or a municipality (`scheme`).
    pub(crate) kind: OfferKind,
    /// End of usability (Unix ms, whole seconds: the voucher's own expiry
    /// rounded down, so a token never outlives its voucher).
    pub(crate) expires_at_ms: i64,
    /// The key that signed it.
    pub(crate) kid: String,
}

/// What checking a token found. Only `Valid` may be honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verification {
    /// Signed by a published key and not expired.
    Valid(VoucherClaims),
    /// Signed by a published key, but expired.
    Expired(VoucherClaims),
    /// The footer names a key this server does not hold (never had it, or it
    /// was retired longer than the longest voucher lifetime ago).
    UnknownKey,
    /// The signature does not match: altered, or signed by someone else.
    BadSignature,
    /// Not a v4.public voucher token of this server's form.
    Malformed,
}

/// The signed payload: one-letter names keep the token short.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    /// Voucher id, base64url of the 16 UUID bytes.
    v: String,
    /// Offer id, same encoding.
    o: String,
    /// Issuer id, same encoding.
    i: String,
    /// `o` (offer: a retailer) or `s` (scheme: a municipality).
    k: String,
    /// Expiry, RFC 3339 UTC.
    exp: String,
}

/// The footer: which key signed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Footer {
    /// The PASERK `k4.pid` of the signing key.
    kid: String,
}

/// The token of `voucher`, signed with the set's active key. Ed25519 is
/// deterministic: the same voucher and key always give the same token.
pub(crate) fn sign(keys: &KeySet, voucher: &Voucher) -> String {
    sign_with(keys.active(), voucher)
}

/// The token of `voucher` signed with `key`.
fn sign_with(key: &VoucherKey, voucher: &Voucher) -> String {
    let payload = Payload {
        v: compact_id(voucher.voucher_id),
        o: compact_id(voucher.offer_id),
        i: compact_id(voucher.issuer_id),
        k: kind_letter(voucher.kind).to_owned(),
        exp: rfc3339_seconds(voucher.expires_at_ms),
    };
    let footer = Footer {
        kid: key.kid.clone(),
    };
    // Serialising plain strings cannot fail, nor signing a non-empty payload
    // with a key that was validated when it was loaded.
    let message = serde_json::to_vec(&payload).unwrap_or_default();
    let footer = serde_json::to_vec(&footer).unwrap_or_default();
    PublicToken::sign(&key.secret, &message, Some(&footer), None).unwrap_or_default()
}

/// Checks `token` (surrounding whitespace ignored) against the keys that can
/// still verify at `now_ms`.
pub(crate) fn verify(keys: &KeySet, token: &str, now_ms: i64) -> Verification {
    let trimmed = token.trim();
    if trimmed.len() > MAX_TOKEN_BYTES {
        return Verification::Malformed;
    }
    let Ok(untrusted) = UntrustedToken::<Public, V4>::try_from(trimmed) else {
        return Verification::Malformed;
    };
    let Ok(footer) = serde_json::from_slice::<Footer>(untrusted.untrusted_footer()) else {
        return Verification::Malformed;
    };
    let Some(key) = keys.verifying(&footer.kid, now_ms) else {
        return Verification::UnknownKey;
    };
    let Ok(trusted) = PublicToken::verify(&key.public, &untrusted, None, None) else {
        return Verification::BadSignature;
    };
    let Some(claims) = read_claims(trusted.payload(), footer.kid) else {
        return Verification::Malformed;
    };
    if now_ms >= claims.expires_at_ms {
        Verification::Expired(claims)
    } else {
        Verification::Valid(claims)
    }
}

/// The claims of a verified payload, if it has this server's form.
fn read_claims(payload: &str, kid: String) -> Option<VoucherClaims> {
    let payload: Payload = serde_json::from_str(payload).ok()?;
    let kind = match payload.k.as_str() {
        "o" => OfferKind::Offer,
        "s" => OfferKind::Scheme,
        _ => return None,
    };
    Some(VoucherClaims {
        voucher_id: read_compact_id(&payload.v)?,
        offer_id: read_compact_id(&payload.o)?,
        issuer_id: read_compact_id(&payload.i)?,
        kind,
        expires_at_ms: DateTime::parse_from_rfc3339(&payload.exp)
            .ok()?
            .timestamp_millis(),
        kid,
    })
}

/// The one-letter code of a kind in the payload.
fn kind_letter(kind: OfferKind) -> &'static str {
    match kind {
        OfferKind::Offer => "o",
        OfferKind::Scheme => "s",
    }
}

/// A UUID as base64url of its 16 bytes (22 characters).
fn compact_id(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn read_compact_id(text: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// Unix ms as RFC 3339 UTC in whole seconds, rounded down
/// (`2026-12-05T12:00:00Z`).
fn rfc3339_seconds(at_ms: i64) -> String {
    DateTime::from_timestamp(at_ms.div_euclid(1_000), 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}
