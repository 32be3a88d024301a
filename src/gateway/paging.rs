//! Paging of the list endpoints: `?before=<cursor>&limit=<1..100>`, answered
//! with a `next_before` cursor while more may follow. Lists ordered by time
//! use `<at_ms>_<id>` cursors.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use serde::Deserialize;
use uuid::Uuid;

use super::error::ApiError;
use crate::connections::MAX_PAGE;

/// Default page size.
const DEFAULT_PAGE: usize = 20;

/// Query of the paged endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// The previous page's `next_before`.
    before: Option<String>,
    /// Page size, 1–100.
    limit: Option<usize>,
}

/// The cursor text and the page size of a paged request.
pub(crate) fn page(
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<(Option<String>, usize), ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "limit: must be 1 to 100",
        ));
    }
    Ok((query.before, limit))
}

/// The cursor after an item of a time-ordered list.
pub(crate) fn time_cursor(at_ms: i64, id: Uuid) -> String {
    format!("{at_ms}_{id}")
}

/// The time and id of a `time_cursor`.
pub(crate) fn parse_time_cursor(text: &str) -> Result<(i64, Uuid), ApiError> {
    let invalid = || ApiError::unprocessable("invalid_field", "before: not a cursor");
    let (at_ms, id) = text.split_once('_').ok_or_else(invalid)?;
    Ok((
        at_ms.parse().map_err(|_| invalid())?,
        id.parse().map_err(|_| invalid())?,
    ))
}
