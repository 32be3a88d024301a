//! `GET /v1/admin/reports/{metric}`: a report of the aggregates behind the
//! admin token or the read-only analyst key, as JSON, or as CSV with `Accept: text/csv` or a `.csv`
//! suffix on the metric. Every count goes through disclosure control
//! (docs/reports.md).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::bearer::ReportReader;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::domain::connection::utc_day;
use crate::reports::{AreaBy, GroupBy, MAX_SPAN_DAYS, ReportRequest, parse_day, report};
use crate::store::report_records::{ReportMetric, ReportRole};

/// Top areas listed when the query does not say.
const DEFAULT_TOP: usize = 10;
/// The most top areas a query may ask for.
const MAX_TOP: usize = 100;
/// Days covered when the query names no start.
const DEFAULT_SPAN_DAYS: i64 = 30;

/// Query of `GET /v1/admin/reports/{metric}`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// First UTC day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub(crate) from: Option<String>,
    /// Last UTC day, `YYYY-MM-DD` (default: today).
    pub(crate) to: Option<String>,
    /// `day` (default), `week`, `month` or `hour_of_day`.
    pub(crate) group_by: Option<GroupBy>,
    /// `zip`, `zip3` (default), `region` or `nation`.
    pub(crate) area: Option<AreaBy>,
    /// `citizen`, `officer` or `all` (default).
    pub(crate) role: Option<String>,
    /// How many top areas to list (default 10, at most 100).
    pub(crate) top: Option<usize>,
}

fn day_of(text: &str, field: &str) -> Result<i64, ApiError> {
    parse_day(text).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_query",
            format!("{field} must be a UTC day written YYYY-MM-DD"),
        )
    })
}

/// Whether the client asked for CSV.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"))
}

/// The report `query` asks for of `metric`, validated (shared with the
/// console's report pages).
pub(crate) fn request_of(
    state: &AppState,
    metric: ReportMetric,
    query: &ReportQuery,
) -> Result<ReportRequest, ApiError> {
    let to_day = match &query.to {
        Some(text) => day_of(text, "to")?,
        None => utc_day(state.clock.now_ms()),
    };
    let from_day = match &query.from {
        Some(text) => day_of(text, "from")?,
        None => to_day - (DEFAULT_SPAN_DAYS - 1),
    };
    if from_day > to_day || to_day - from_day >= MAX_SPAN_DAYS {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("from must be on or before to, at most {MAX_SPAN_DAYS} days apart"),
        ));
    }
    let role = match query.role.as_deref() {
        None => ReportRole::All,
        Some(name) => ReportRole::parse(name).ok_or_else(|| {
            ApiError::bad_request("invalid_query", "role must be citizen, officer or all")
        })?,
    };
    Ok(ReportRequest {
        metric,
        from_day,
        to_day,
        group_by: query.group_by.unwrap_or(GroupBy::Day),
        area_by: query.area.unwrap_or(AreaBy::Zip3),
        role,
        top: query.top.unwrap_or(DEFAULT_TOP).min(MAX_TOP),
    })
}

/// The report of one metric.
#[utoipa::path(
    get,
    path = "/v1/admin/reports/{metric}",
    tag = "reports",
    params(("metric" = String, Path, description = "`connections`, `participants`, `points_credited`, … (docs/reports.md); `.csv` appended asks for CSV"), ReportQuery),
    responses(
        (status = 200, description = "The report, with suppressed cells as null and flagged (JSON, or CSV with `Accept: text/csv`)", body = Object),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 404, description = "`unknown_metric`", body = ErrorBody),
        (status = 422, description = "`invalid_field`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []), ("analyst_token" = []))
)]
pub(crate) async fn report_of(
    State(state): State<AppState>,
    _reader: ReportReader,
    headers: HeaderMap,
    Path(metric): Path<String>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let (name, csv) = match metric.strip_suffix(".csv") {
        Some(name) => (name, true),
        None => (metric.as_str(), wants_csv(&headers)),
    };
    let metric = ReportMetric::parse(name).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_metric",
            "no such report metric",
        )
    })?;
    let request = request_of(&state, metric, &query)?;
    let published = report(
        state.store.as_ref(),
        &request,
        &state.config.regions,
        state.config.admin.min_report_cell_count,
    )
    .await?;
    Ok(if csv {
        csv_response(&published)
    } else {
        Json(published).into_response()
    })
}

/// A report as a CSV download named after its metric and span.
pub(crate) fn csv_response(published: &crate::reports::Report) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-{}-{}.csv\"",
                    published.metric.as_str(),
                    published.from,
                    published.to
                ),
            ),
        ],
        published.to_csv(),
    )
        .into_response()
}
