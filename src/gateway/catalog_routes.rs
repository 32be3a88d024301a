//! `/v1/admin/catalog/*` (admin token): create, read, replace and list
//! retailers, municipalities, offers and schemes, and charities. One set of
//! handlers, generic over the kind of [`CatalogEntry`]; nothing is deleted, an
//! entry is suspended by replacing it with `"status": "suspended"`. Creations
//! and replacements are written to the audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Admin;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use crate::audit::AuditAction;
use crate::rewards::{CatalogEntry, CatalogError, DEFAULT_PAGE, MAX_PAGE};

/// Query of the paged listings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// The previous page's `next_cursor`.
    pub(crate) cursor: Option<String>,
    /// Page size, 1 to [`MAX_PAGE`].
    pub(crate) limit: Option<usize>,
}

/// A page of an admin listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ListBody<Entry> {
    /// The entries.
    items: Vec<Entry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `POST /v1/admin/catalog/<entries>`: 201 with the created entry.
pub(crate) async fn create<Entry: CatalogEntry>(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    ApiJson(draft): ApiJson<Entry::Draft>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    let entry = state.catalog.create::<Entry>(draft).await?;
    let detail = format!("{} {}", Entry::WHAT, entry.id());
    state
        .audit
        .record(client, AuditAction::CatalogEntryCreated, None, detail)
        .await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// `GET /v1/admin/catalog/<entries>/{id}`.
pub(crate) async fn get<Entry: CatalogEntry>(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Entry>, ApiError> {
    let id = entry_id::<Entry>(&id)?;
    Ok(Json(state.catalog.get::<Entry>(id).await?))
}

/// `PUT /v1/admin/catalog/<entries>/{id}`: replaces the whole entry.
pub(crate) async fn replace<Entry: CatalogEntry>(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<Entry::Draft>,
) -> Result<Json<Entry>, ApiError> {
    let id = entry_id::<Entry>(&id)?;
    let entry = state.catalog.replace::<Entry>(id, draft).await?;
    let detail = format!("{} {id}", Entry::WHAT);
    state
        .audit
        .record(client, AuditAction::CatalogEntryReplaced, None, detail)
        .await?;
    Ok(Json(entry))
}

/// `GET /v1/admin/catalog/<entries>?cursor=&limit=`.
pub(crate) async fn list<Entry: CatalogEntry>(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListBody<Entry>>, ApiError> {
    let (cursor, limit) = page_query(query)?;
    let page = state
        .catalog
        .list::<Entry>(cursor.as_deref(), limit)
        .await?;
    Ok(Json(ListBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// The cursor and page size of a listing query.
pub(crate) fn page_query(
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(Option<String>, usize), ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    Ok((query.cursor, page_size(query.limit)?))
}

/// The page size asked for: [`DEFAULT_PAGE`] when absent, else 1 to [`MAX_PAGE`].
pub(crate) fn page_size(limit: Option<usize>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("limit: must be 1 to {MAX_PAGE}"),
        )
        .with_details(serde_json::json!({ "field": "limit" })));
    }
    Ok(limit)
}

/// The id in the path; text that is no id names no entry (404).
pub(crate) fn entry_id<Entry: CatalogEntry>(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        CatalogError::NotFound {
            code: Entry::NOT_FOUND_CODE,
            what: Entry::WHAT,
        }
        .into()
    })
}
