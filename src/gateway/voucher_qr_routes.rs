//! A voucher's token as a QR code for the till: `GET /v1/me/vouchers/{id}/qr.svg`
//! and `/qr.png`, for its holder only (404 `voucher_not_found` for anyone
//! else), 409 `voucher_not_usable` once it is cancelled or expired. The route
//! group sets `Cache-Control: no-store`: the image is as good as the token.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::bearer::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::voucher_routes::voucher_id;
use crate::rewards::{VoucherError, VoucherQr};

/// The QR code as SVG.
#[utoipa::path(
    get,
    path = "/v1/me/vouchers/{id}/qr.svg",
    tag = "rewards",
    params(("id" = uuid::Uuid, Path, description = "The voucher")),
    responses(
        (status = 200, description = "The voucher's signed token as a QR code", body = String, content_type = "image/svg+xml"),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 404, description = "`voucher_not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn svg(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let qr = voucher_qr(&state, caller.account_id, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], qr.svg()).into_response())
}

/// The QR code as PNG.
#[utoipa::path(
    get,
    path = "/v1/me/vouchers/{id}/qr.png",
    tag = "rewards",
    params(("id" = uuid::Uuid, Path, description = "The voucher")),
    responses(
        (status = 200, description = "The voucher's signed token as a QR code", body = Vec<u8>, content_type = "image/png"),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 404, description = "`voucher_not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn png(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let qr = voucher_qr(&state, caller.account_id, &id).await?;
    let image = qr.png().map_err(|error| ApiError::internal(&error))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], image).into_response())
}

/// The QR code of the caller's usable voucher `id`.
async fn voucher_qr(
    state: &AppState,
    account_id: crate::domain::AccountId,
    id: &str,
) -> Result<VoucherQr, ApiError> {
    let voucher = state
        .redemptions
        .voucher(account_id, voucher_id(id)?)
        .await?;
    if !voucher.is_usable_at(state.clock.now_ms()) {
        return Err(VoucherError::NotUsable.into());
    }
    let token = state.voucher_signer.sign(&voucher);
    VoucherQr::of(&token).map_err(|error| ApiError::internal(&error))
}
