//! `POST /v1/admin/accounts/{id}/points`: an admin credits or debits a
//! person's points (goodwill credits, corrections) as one `adjustment` entry
//! of the ledger. The required `Idempotency-Key` names the entry, so a retried
//! call moves the points once; every call that moved points is audited.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::AppState;
use super::bearer::Admin;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use super::voucher_routes::idempotency_key;
use crate::audit::AuditAction;
use crate::domain::AccountId;
use crate::store::{LedgerAppend, LedgerReason, NewLedgerEntry};

/// Largest change one adjustment may make, either way: a typo must not mint
/// a fortune.
const MAX_ADJUSTMENT_POINTS: i64 = 1_000_000;
/// Longest reason kept in the audit log.
const MAX_REASON_CHARS: usize = 200;

/// Body of `POST /v1/admin/accounts/{id}/points`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdjustmentBody {
    /// Points to credit (positive) or debit (negative); never 0.
    points: i64,
    /// Why, for the audit log (1 to 200 characters).
    reason: String,
}

/// Answer: the ledger entry the adjustment is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AdjustedBody {
    /// The account adjusted.
    account_id: AccountId,
    /// The ledger entry (the same for every replay of one key).
    entry_id: Uuid,
    /// The change.
    points: i64,
    /// The balance right after the entry.
    balance_after: i64,
}

/// Credits or debits points: 201 with the entry, 200 with the same entry on a
/// replay of the key; 409 `insufficient_points` for a debit beyond the
/// balance, 422 `idempotency_key_reused` when the key moved another amount.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{id}/points",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The account"), ("Idempotency-Key" = String, Header, description = "A key of the client's choosing, 1–64 bytes: a retry with the same key answers the same and moves no points twice")),
    request_body = AdjustmentBody,
    responses(
        (status = 201, description = "The ledger entry written (200 for a replayed key)", body = AdjustedBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`; `idempotency_key_required` or `invalid_idempotency_key`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 404, description = "`account_not_found`", body = ErrorBody),
        (status = 409, description = "`idempotency_key_reused` or `insufficient_points`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn adjust_points(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let account_id = super::account_admin_routes::account_in_path(id)?;
    validate(&body)?;
    if state.store.account(account_id).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "account_not_found",
            "no such account",
        ));
    }
    let entry = NewLedgerEntry {
        entry_id: adjustment_entry_id(account_id, key),
        account_id,
        at_ms: state.clock.now_ms(),
        delta: body.points,
        reason: LedgerReason::Adjustment,
        reference: None,
    };
    let (status, stored) = match state.store.append_ledger_entry(&entry).await? {
        LedgerAppend::Appended(stored) => (StatusCode::CREATED, stored),
        LedgerAppend::Duplicate(stored) => {
            if stored.delta != body.points || stored.reason != LedgerReason::Adjustment {
                return Err(ApiError::unprocessable(
                    "idempotency_key_reused",
                    "this Idempotency-Key already adjusted this account by another amount",
                ));
            }
            return Ok(answer(StatusCode::OK, account_id, &stored));
        }
        LedgerAppend::InsufficientBalance { balance } => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "insufficient_points",
                format!("the balance is {balance}, less than the debit"),
            ));
        }
    };
    state
        .audit
        .record(
            client,
            AuditAction::PointsAdjusted,
            Some(account_id),
            format!("{:+} points: {}", body.points, body.reason.trim()),
        )
        .await?;
    Ok(answer(status, account_id, &stored))
}

fn validate(body: &AdjustmentBody) -> Result<(), ApiError> {
    if body.points == 0 || body.points.abs() > MAX_ADJUSTMENT_POINTS {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "points: must be non-zero and at most 1000000 either way",
        ));
    }
    let reason = body.reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON_CHARS
        || reason.chars().any(char::is_control)
    {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "reason: 1 to 200 characters, no control characters",
        ));
    }
    Ok(())
}

/// The ledger entry id of `account_id`'s adjustment under `key`: the same key
/// names the same entry, so the store's idempotent append makes retries safe.
fn adjustment_entry_id(account_id: AccountId, key: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"heyblue points adjustment\0")
        .chain_update(account_id.0.as_bytes())
        .chain_update(key.as_bytes())
        .finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn answer(
    status: StatusCode,
    account_id: AccountId,
    stored: &crate::store::LedgerEntry,
) -> Response {
    let body = AdjustedBody {
        account_id,
        entry_id: stored.entry_id,
        points: stored.delta,
        balance_after: stored.balance_after,
    };
    (status, Json(body)).into_response()
}
