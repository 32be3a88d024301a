//! `/v1/admin/rewards/statements`: the pledge statement of a UTC month (JSON,
//! or CSV with `format=csv`) and marking it settled, behind the admin token.
//! Settling is audited, and settling again answers the first settlement.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::bearer::Admin;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::audit::{AuditAction, AuditLog};
use crate::domain::donation::Month;

/// Query of `GET /v1/admin/rewards/statements`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatementQuery {
    /// The UTC month, `YYYY-MM`.
    month: String,
    /// `json` (the default) or `csv`.
    format: Option<StatementFormatQuery>,
}

/// How the statement is answered.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StatementFormatQuery {
    /// `application/json`.
    Json,
    /// `text/csv`, a header row and one row per charity.
    Csv,
}

/// Answer of `POST /v1/admin/rewards/statements/{month}/settle`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SettlementBody {
    /// The month, `YYYY-MM`.
    month: String,
    /// When it was first marked settled (Unix ms).
    settled_at_ms: i64,
    /// Who marked it, as the audit log names actors.
    settled_by: String,
    /// Whether this call marked it (false: it was settled before).
    newly_settled: bool,
}

/// The statement of a month.
#[utoipa::path(
    get,
    path = "/v1/admin/rewards/statements",
    tag = "admin",
    params(StatementQuery),
    responses(
        (status = 200, description = "A month's statement per retailer, municipality and charity (JSON or CSV)", body = Object),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 422, description = "`invalid_field`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn statement(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<StatementQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let month = month_of(&query.month)?;
    let statement = state.statements.statement(month).await?;
    Ok(match query.format.unwrap_or(StatementFormatQuery::Json) {
        StatementFormatQuery::Json => Json(statement).into_response(),
        StatementFormatQuery::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"pledges-{month}.csv\""),
                ),
            ],
            statement.to_csv(),
        )
            .into_response(),
    })
}

/// Marks a month's statement settled (once; again answers the first).
#[utoipa::path(
    post,
    path = "/v1/admin/rewards/statements/{month}/settle",
    tag = "admin",
    params(("month" = String, Path, description = "`YYYY-MM`, a month that has ended")),
    responses(
        (status = 201, description = "Settled (200 when it already was)", body = SettlementBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 422, description = "`invalid_month` or `month_not_over`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn settle(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    Path(month): Path<String>,
) -> Result<(StatusCode, Json<SettlementBody>), ApiError> {
    let month = month_of(&month)?;
    let settled = state
        .statements
        .settle(month, AuditLog::actor(client), state.clock.now_ms())
        .await?;
    if settled.newly {
        state
            .audit
            .record(
                client,
                AuditAction::StatementSettled,
                None,
                format!("pledge statement {month} settled"),
            )
            .await?;
    }
    let status = if settled.newly {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(SettlementBody {
            month: settled.settlement.month.to_string(),
            settled_at_ms: settled.settlement.settled_at_ms,
            settled_by: settled.settlement.settled_by,
            newly_settled: settled.newly,
        }),
    ))
}

/// A month from the request, written `YYYY-MM`.
fn month_of(text: &str) -> Result<Month, ApiError> {
    Month::parse(text).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_month",
            "month: must be written YYYY-MM, e.g. 2026-12",
        )
    })
}
