//! Redeeming points and the caller's vouchers: `POST /v1/rewards/redemptions`
//! (with a required `Idempotency-Key`), `GET /v1/me/vouchers` (paged, newest
//! first), `GET /v1/me/vouchers/{id}` and `POST /v1/me/vouchers/{id}/cancel`.
//! A usable voucher's answer carries its signed `token`, signed when it is
//! read with the key active then.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Caller;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use super::paging::{PageQuery, page, parse_time_cursor, time_cursor};
use crate::domain::catalog::{OfferKind, is_zip};
use crate::domain::voucher::{Voucher, VoucherStatus, is_idempotency_key};
use crate::rewards::{RedeemRequest, RedemptionAnswer, VoucherError};
use crate::store::VoucherCursor;

/// The header naming a redemption's idempotency key.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Body of `POST /v1/rewards/redemptions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedeemBody {
    /// The offer or scheme to redeem.
    offer_id: Uuid,
    /// The 5-digit ZIP the person chose in the app; the offer must be
    /// offered there.
    zip: String,
}

/// A voucher as its holder sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct VoucherBody {
    /// The voucher id.
    voucher_id: Uuid,
    /// The offer or scheme it was issued for.
    offer_id: Uuid,
    /// `offer` or `scheme`.
    kind: OfferKind,
    /// The retailer or municipality that honours it.
    issuer_id: Uuid,
    /// The offer's title when issued.
    title: String,
    /// Points paid.
    points: u32,
    /// Issue time (Unix ms).
    issued_at_ms: i64,
    /// End of usability, exclusive (Unix ms).
    expires_at_ms: i64,
    /// `issued`, `cancelled`, `redeemed` or `expired`.
    status: VoucherStatus,
    /// When the status last changed (Unix ms), once it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    status_changed_at_ms: Option<i64>,
    /// The PASETO v4.public token a retailer verifies; only while the voucher
    /// is issued and unexpired.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

/// `GET /v1/me/vouchers`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct VouchersBody {
    /// Newest first.
    vouchers: Vec<VoucherBody>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<String>,
}

/// Redeems points for a voucher: 201 with the voucher, or 409 with the
/// refusal's code; a replay of the key answers the same.
#[utoipa::path(
    post,
    path = "/v1/rewards/redemptions",
    tag = "rewards",
    params(("Idempotency-Key" = String, Header, description = "A key of the client's choosing, 1–64 bytes: a retry with the same key answers the same and moves no points twice")),
    request_body = RedeemBody,
    responses(
        (status = 201, description = "A voucher was issued and the points spent", body = VoucherBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`; `idempotency_key_required` or `invalid_idempotency_key`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 409, description = "a refusal: `insufficient_points`, `out_of_stock`, `offer_not_available`, `not_in_your_area`, `redemption_limit_reached`; or `idempotency_key_reused`, `redemption_in_progress`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn redeem(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RedeemBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    if !is_zip(&body.zip) {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "zip: must be a 5-digit ZIP",
        ));
    }
    let request = RedeemRequest {
        offer_id: body.offer_id,
        zip: body.zip,
    };
    let answer = state
        .redemptions
        .redeem(caller.account_id, key, &request)
        .await?;
    match answer {
        RedemptionAnswer::Issued(voucher) => {
            Ok((StatusCode::CREATED, Json(VoucherBody::new(&state, voucher))).into_response())
        }
        RedemptionAnswer::Refused(refusal) => Err(ApiError::new(
            StatusCode::CONFLICT,
            refusal.code(),
            refusal.message(),
        )),
    }
}

/// A page of the caller's vouchers.
#[utoipa::path(
    get,
    path = "/v1/me/vouchers",
    tag = "rewards",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's vouchers", body = VouchersBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VouchersBody>, ApiError> {
    let (before, limit) = page(query)?;
    let cursor = before
        .map(|text| {
            parse_time_cursor(&text).map(|(issued_at_ms, voucher_id)| VoucherCursor {
                issued_at_ms,
                voucher_id,
            })
        })
        .transpose()?;
    let vouchers = state
        .redemptions
        .vouchers(caller.account_id, cursor, limit)
        .await?;
    let next_before = (vouchers.len() == limit)
        .then(|| vouchers.last())
        .flatten()
        .map(|last| time_cursor(last.issued_at_ms, last.voucher_id));
    Ok(Json(VouchersBody {
        vouchers: vouchers
            .into_iter()
            .map(|voucher| VoucherBody::new(&state, voucher))
            .collect(),
        next_before,
    }))
}

/// One of the caller's vouchers.
#[utoipa::path(
    get,
    path = "/v1/me/vouchers/{id}",
    tag = "rewards",
    params(("id" = uuid::Uuid, Path, description = "The voucher")),
    responses(
        (status = 200, description = "The voucher", body = VoucherBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 404, description = "`voucher_not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<VoucherBody>, ApiError> {
    let voucher_id = voucher_id(&id)?;
    let voucher = state
        .redemptions
        .voucher(caller.account_id, voucher_id)
        .await?;
    Ok(Json(VoucherBody::new(&state, voucher)))
}

/// Cancels one of the caller's vouchers and refunds its points.
#[utoipa::path(
    post,
    path = "/v1/me/vouchers/{id}/cancel",
    tag = "rewards",
    params(("id" = uuid::Uuid, Path, description = "The voucher")),
    responses(
        (status = 200, description = "Cancelled and the points refunded", body = VoucherBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 404, description = "`voucher_not_found`", body = ErrorBody),
        (status = 409, description = "`voucher_not_cancellable`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<VoucherBody>, ApiError> {
    let voucher_id = voucher_id(&id)?;
    let voucher = state
        .redemptions
        .cancel(caller.account_id, voucher_id)
        .await?;
    Ok(Json(VoucherBody::new(&state, voucher)))
}

/// The `Idempotency-Key` of a request: required, 1–64 visible ASCII.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Err(ApiError::bad_request(
            "idempotency_key_required",
            "send an Idempotency-Key header (1 to 64 visible ASCII characters)",
        ));
    };
    value
        .to_str()
        .ok()
        .filter(|key| is_idempotency_key(key))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "the Idempotency-Key must be 1 to 64 visible ASCII characters",
            )
        })
}

/// A voucher id from the path; anything else names no voucher.
pub(super) fn voucher_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse()
        .map_err(|_| ApiError::from(VoucherError::NotFound))
}

impl VoucherBody {
    /// The holder's view of `voucher`, with its token when it is usable now.
    pub(super) fn new(state: &AppState, voucher: Voucher) -> Self {
        let token = voucher
            .is_usable_at(state.clock.now_ms())
            .then(|| state.voucher_signer.sign(&voucher));
        Self {
            voucher_id: voucher.voucher_id,
            offer_id: voucher.offer_id,
            kind: voucher.kind,
            issuer_id: voucher.issuer_id,
            title: voucher.title,
            points: voucher.points,
            issued_at_ms: voucher.issued_at_ms,
            expires_at_ms: voucher.expires_at_ms,
            status: voucher.status,
            status_changed_at_ms: voucher.status_changed_at_ms,
            token,
        }
    }
}
