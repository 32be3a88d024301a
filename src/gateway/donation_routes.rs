//! Donating points to a charity: `POST /v1/rewards/donations` (with a required
//! `Idempotency-Key`). A pledge is answered 201; a refusal with its code (404
//! for an unknown charity, 409 otherwise, as redemptions answer theirs).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Caller;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use super::voucher_routes::idempotency_key;
use crate::domain::donation::DonationRefusal;
use crate::rewards::{DonateRequest, DonationAnswer};
use crate::store::Donation;

/// Body of `POST /v1/rewards/donations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DonateBody {
    /// The charity points go to.
    charity_id: Uuid,
    /// Points to give.
    points: u32,
}

/// A completed donation as its giver sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DonationBody {
    /// The donation (and pledge) id.
    donation_id: Uuid,
    /// The charity.
    charity_id: Uuid,
    /// Points given.
    points: u32,
    /// The rate it was pledged at, as text (`"0.01"`).
    #[schema(value_type = String)]
    dollars_per_point: Decimal,
    /// Dollars pledged, as text, every digit kept.
    #[schema(value_type = String)]
    dollars: Decimal,
    /// The UTC month whose statement lists it (`YYYY-MM`).
    month: String,
    /// When it was made (Unix ms).
    donated_at_ms: i64,
}

/// Donates points to a charity: 201 with the pledge, or the refusal's code;
/// a replay of the key answers the same.
#[utoipa::path(
    post,
    path = "/v1/rewards/donations",
    tag = "rewards",
    params(("Idempotency-Key" = String, Header, description = "A key of the client's choosing, 1–64 bytes: a retry with the same key answers the same and moves no points twice")),
    request_body = DonateBody,
    responses(
        (status = 201, description = "Points donated; the pledge", body = DonationBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`; `idempotency_key_required` or `invalid_idempotency_key`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 409, description = "a refusal: `insufficient_points`, `charity_not_found`, `charity_not_available`; or `idempotency_key_reused`, `donation_in_progress`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn donate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DonateBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let request = DonateRequest {
        charity_id: body.charity_id,
        points: body.points,
    };
    let answer = state
        .donations
        .donate(caller.account_id, key, request)
        .await?;
    match answer {
        DonationAnswer::Pledged(donation) => {
            Ok((StatusCode::CREATED, Json(DonationBody::from(*donation))).into_response())
        }
        DonationAnswer::Refused(refusal) => {
            let status = match refusal {
                DonationRefusal::CharityNotFound => StatusCode::NOT_FOUND,
                DonationRefusal::InsufficientPoints | DonationRefusal::CharityNotAvailable => {
                    StatusCode::CONFLICT
                }
            };
            Err(ApiError::new(status, refusal.code(), refusal.message()))
        }
    }
}

impl From<Donation> for DonationBody {
    fn from(donation: Donation) -> Self {
        let pledge = donation.pledge();
        Self {
            donation_id: donation.donation_id,
            charity_id: donation.charity_id,
            points: donation.points,
            dollars_per_point: donation.dollars_per_point,
            dollars: pledge.dollars,
            month: pledge.month.to_string(),
            donated_at_ms: donation.requested_at_ms,
        }
    }
}
