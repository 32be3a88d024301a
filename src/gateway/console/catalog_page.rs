//! `GET /admin/catalog/{collection}` (admin only): the retailers,
//! municipalities, offers and schemes, and charities, a page at a time, each
//! entry's plain fields as columns (read through the catalog service, as the
//! admin API lists them).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::page::{ConsoleError, Section, frame, respond};
use super::session::ConsoleAdmin;
use crate::domain::catalog::{Charity, Municipality, Retailer, RewardOffer};
use crate::gateway::AppState;
use crate::gateway::catalog_routes::{PageQuery, page_query};
use crate::rewards::CatalogEntry;

/// Collections: path name, title.
const COLLECTIONS: [(&str, &str); 4] = [
    ("retailers", "Retailers"),
    ("municipalities", "Municipalities"),
    ("offers", "Offers and schemes"),
    ("charities", "Charities"),
];
/// Columns shown at most.
const MAX_COLUMNS: usize = 8;

/// One page of a collection as JSON objects, and the next page's cursor.
async fn entries<Entry: CatalogEntry>(
    state: &AppState,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Value>, Option<String>), ConsoleError> {
    let page = state
        .catalog
        .list::<Entry>(cursor, limit)
        .await
        .map_err(crate::gateway::error::ApiError::from)?;
    let items = page
        .items
        .iter()
        .map(|entry| serde_json::to_value(entry).unwrap_or(Value::Null))
        .collect();
    Ok((items, page.next_cursor))
}

/// Columns shown first when an entry has them.
const FIRST_COLUMNS: [&str; 3] = ["name", "status", "title"];

/// A cell's text: times (`*_at_ms`) as UTC, scalars as written, lists and
/// objects summarised.
fn cell(column: &str, value: &Value) -> String {
    if column.ends_with("_at_ms")
        && let Some(time) = value
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
    {
        return time.format("%Y-%m-%d %H:%M UTC").to_string();
    }
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::Array(items) => format!("{} item(s)", items.len()),
        Value::Object(fields) => format!("{} field(s)", fields.len()),
    }
}

/// The entries as a table whose columns are the first entry's fields.
fn table(title: &str, items: &[Value]) -> Markup {
    let keys: Vec<&String> = items
        .first()
        .and_then(Value::as_object)
        .map(|fields| fields.keys().collect())
        .unwrap_or_default();
    let mut columns: Vec<String> = FIRST_COLUMNS
        .iter()
        .filter(|first| keys.iter().any(|key| key == first))
        .map(|first| (*first).to_owned())
        .collect();
    columns.extend(
        keys.iter()
            .filter(|key| !FIRST_COLUMNS.contains(&key.as_str()))
            .map(|key| (*key).clone()),
    );
    columns.truncate(MAX_COLUMNS);
    html! {
        div.scroll {
            table #catalog {
                caption { (title) }
                thead { tr { @for column in &columns { th scope="col" { (column) } } } }
                tbody {
                    @for item in items {
                        tr { @for column in &columns { td { (cell(column, item.get(column).unwrap_or(&Value::Null))) } } }
                    }
                    @if items.is_empty() { tr { td { "None yet: add them with an import or the catalog API." } } }
                }
            }
        }
    }
}

/// `GET /admin/catalog/{collection}?cursor=&limit=`.
pub(crate) async fn page(
    State(state): State<AppState>,
    ConsoleAdmin(user): ConsoleAdmin,
    Path(collection): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let (after, limit) = page_query(query)?;
    let cursor = after.as_deref();
    let (items, next) = match collection.as_str() {
        "retailers" => entries::<Retailer>(&state, cursor, limit).await?,
        "municipalities" => entries::<Municipality>(&state, cursor, limit).await?,
        "offers" => entries::<RewardOffer>(&state, cursor, limit).await?,
        "charities" => entries::<Charity>(&state, cursor, limit).await?,
        _ => {
            return Err(ConsoleError::Page {
                status: StatusCode::NOT_FOUND,
                message: "No such catalog list.".to_owned(),
                retry_after_seconds: None,
            });
        }
    };
    let title = COLLECTIONS
        .iter()
        .find(|(name, _)| *name == collection)
        .map_or("Catalog", |(_, title)| *title);
    Ok(respond(
        StatusCode::OK,
        frame(
            "Catalog",
            Section::Catalog,
            Some(&user),
            body(&collection, title, &items, next),
        ),
    ))
}

/// The list tabs, the table and the next-page button.
fn body(collection: &str, title: &str, items: &[Value], next: Option<String>) -> Markup {
    html! {
        nav aria-label="Catalog lists" {
            ul.tabs {
                @for (name, label) in COLLECTIONS {
                    li {
                        @if name == collection {
                            a href=(format!("/admin/catalog/{name}")) aria-current="page" { (label) }
                        } @else {
                            a href=(format!("/admin/catalog/{name}")) { (label) }
                        }
                    }
                }
            }
        }
        (table(title, items))
        @if let Some(next) = next {
            form method="get" action=(format!("/admin/catalog/{collection}")) {
                input type="hidden" name="cursor" value=(next);
                button type="submit" { "Next page" }
            }
        }
    }
}
