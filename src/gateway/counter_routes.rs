//! The issuer's counter: `POST /v1/retailer/vouchers/verify` and
//! `POST /v1/retailer/vouchers/redeem` with `{"token"}`, authenticated by an
//! issuer API key (`Authorization: Bearer hbk_...`) of a retailer or a
//! municipality. The token's signature and expiry are checked first; then the
//! stored voucher decides (the key's issuer's, issued, unexpired). Verify
//! changes nothing and always answers 200 with a `status`; redeem answers 200
//! `redeemed` exactly once per voucher, and a clear error otherwise.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::bearer_token;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use crate::domain::catalog::OfferKind;
use crate::domain::voucher::{Voucher, VoucherStatus};
use crate::rewards::signing::Verification;
use crate::rewards::{CounterAnswer, CounterVerdict};
use crate::store::IssuerKey;

/// The issuer behind the request's API key.
#[derive(Debug, Clone)]
pub(crate) struct Counter(IssuerKey);

impl FromRequestParts<AppState> for Counter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = bearer_token(&parts.headers)?;
        match state.catalog.issuer_key_for(secret).await? {
            Some(key) => Ok(Counter(key)),
            None => Err(ApiError::unauthorized(
                "invalid_api_key",
                "send a retailer or municipality API key that is not revoked as \
                 Authorization: Bearer hbk_...",
            )),
        }
    }
}

/// Body of both endpoints.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenBody {
    /// The voucher token, as read from the person's QR code.
    token: String,
}

/// What the counter is shown of a voucher: no personal data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CounterVoucher {
    /// The voucher id.
    voucher_id: Uuid,
    /// The offer or scheme.
    offer_id: Uuid,
    /// `offer` or `scheme`.
    kind: OfferKind,
    /// The offer's title when issued.
    title: String,
    /// End of usability, exclusive (Unix ms).
    expires_at_ms: i64,
    /// Where it stands now.
    status: VoucherStatus,
}

impl From<Voucher> for CounterVoucher {
    fn from(voucher: Voucher) -> Self {
        Self {
            voucher_id: voucher.voucher_id,
            offer_id: voucher.offer_id,
            kind: voucher.kind,
            title: voucher.title,
            expires_at_ms: voucher.expires_at_ms,
            status: voucher.status,
        }
    }
}

/// The answer of both endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CounterBody {
    /// `valid`, `redeemed`, `already_redeemed`, `cancelled`, `expired`,
    /// `not_yours` or `bad_signature`.
    status: &'static str,
    /// The voucher, when it is this issuer's.
    #[serde(skip_serializing_if = "Option::is_none")]
    voucher: Option<CounterVoucher>,
}

/// What the token says, before the store is asked.
enum TokenCheck {
    /// Signed by a published key and unexpired: this voucher.
    Voucher(Uuid),
    /// The verdict without asking the store (expired, another issuer's).
    Final(CounterVerdict),
    /// Not a voucher token signed by this service (`bad_signature`).
    BadToken,
}

/// The `status` of a token that is not this service's.
const BAD_SIGNATURE: &str = "bad_signature";

/// `POST /v1/retailer/vouchers/verify`: where the voucher stands; changes
/// nothing.
#[utoipa::path(
    post,
    path = "/v1/retailer/vouchers/verify",
    tag = "counter",
    request_body = TokenBody,
    responses(
        (status = 200, description = "What the voucher is and whether it can be redeemed here", body = CounterBody),
        (status = 401, description = "`missing_token` or `invalid_api_key`", body = ErrorBody),
        (status = 403, description = "`voucher_not_yours`: another issuer's voucher", body = ErrorBody),
        (status = 422, description = "`invalid_voucher_token` (malformed or `bad_signature`); `missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("issuer_key" = []))
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Counter(key): Counter,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Json<CounterBody>, ApiError> {
    let voucher_id = match check_token(&state, &body.token, &key) {
        TokenCheck::Voucher(voucher_id) => voucher_id,
        TokenCheck::Final(verdict) => {
            return Ok(Json(CounterBody {
                status: verdict.as_str(),
                voucher: None,
            }));
        }
        TokenCheck::BadToken => {
            return Ok(Json(CounterBody {
                status: BAD_SIGNATURE,
                voucher: None,
            }));
        }
    };
    let answer = state.redemptions.check_at_counter(&key, voucher_id).await?;
    Ok(Json(body_of(answer)))
}

/// `POST /v1/retailer/vouchers/redeem`: single use; 200 `redeemed` once.
#[utoipa::path(
    post,
    path = "/v1/retailer/vouchers/redeem",
    tag = "counter",
    request_body = TokenBody,
    responses(
        (status = 200, description = "Redeemed (a repeat by the same till answers the same)", body = CounterBody),
        (status = 401, description = "`missing_token` or `invalid_api_key`", body = ErrorBody),
        (status = 403, description = "`voucher_not_yours`: another issuer's voucher", body = ErrorBody),
        (status = 409, description = "`voucher_already_redeemed`, `voucher_expired` or `voucher_cancelled`", body = ErrorBody),
        (status = 422, description = "`invalid_voucher_token` (malformed or `bad_signature`); `missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("issuer_key" = []))
)]
pub(crate) async fn redeem(
    State(state): State<AppState>,
    Counter(key): Counter,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Json<CounterBody>, ApiError> {
    let voucher_id = match check_token(&state, &body.token, &key) {
        TokenCheck::Voucher(voucher_id) => voucher_id,
        TokenCheck::Final(verdict) => return Err(refusal(verdict)),
        TokenCheck::BadToken => return Err(bad_token()),
    };
    let answer = state
        .redemptions
        .redeem_at_counter(&key, voucher_id)
        .await?;
    if answer.verdict != CounterVerdict::Redeemed {
        return Err(refusal(answer.verdict));
    }
    Ok(Json(body_of(answer)))
}

/// Checks the token's signature and expiry, and that it names the key's
/// issuer.
fn check_token(state: &AppState, token: &str, key: &IssuerKey) -> TokenCheck {
    let now_ms = state.clock.now_ms();
    match state.voucher_signer.verify(token, now_ms) {
        Verification::Valid(claims) => {
            if claims.issuer_id != key.issuer_id || claims.kind != key.kind {
                TokenCheck::Final(CounterVerdict::NotYours)
            } else {
                TokenCheck::Voucher(claims.voucher_id)
            }
        }
        Verification::Expired(claims)
            if claims.issuer_id == key.issuer_id && claims.kind == key.kind =>
        {
            TokenCheck::Final(CounterVerdict::Expired)
        }
        Verification::Expired(_) => TokenCheck::Final(CounterVerdict::NotYours),
        Verification::UnknownKey | Verification::BadSignature | Verification::Malformed => {
            TokenCheck::BadToken
        }
    }
}

/// The 200 body of a service answer.
fn body_of(answer: CounterAnswer) -> CounterBody {
    CounterBody {
        status: answer.verdict.as_str(),
        voucher: answer.voucher.map(CounterVoucher::from),
    }
}

/// The error of a redeem that did not redeem, by the voucher's status.
fn refusal(verdict: CounterVerdict) -> ApiError {
    let (status, code, message) = match verdict {
        CounterVerdict::AlreadyRedeemed => (
            StatusCode::CONFLICT,
            "voucher_already_redeemed",
            "this voucher was redeemed before",
        ),
        CounterVerdict::Cancelled => (
            StatusCode::CONFLICT,
            "voucher_cancelled",
            "its holder cancelled this voucher",
        ),
        CounterVerdict::Expired => (
            StatusCode::CONFLICT,
            "voucher_expired",
            "this voucher has expired",
        ),
        CounterVerdict::NotYours | CounterVerdict::Valid | CounterVerdict::Redeemed => (
            StatusCode::FORBIDDEN,
            "voucher_not_yours",
            "this voucher was issued for another retailer or municipality",
        ),
    };
    ApiError::new(status, code, message)
}

/// The error of a token that is not a voucher signed by this service.
fn bad_token() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_voucher_token",
        "the token is not a voucher signed by this service",
    )
}
