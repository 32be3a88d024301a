//! The admin console at `/admin`: server-rendered pages (HTML, one
//! stylesheet, SVG charts drawn on the server, no scripts) behind a login with
//! the admin token or the analyst key: the dashboard, the reports with CSV
//! download, the import form, the catalog lists, the cluster view and the
//! outbox (read-only). The
//! analyst sees the dashboard and the reports only. See docs/admin-console.md.

mod catalog_page;
mod charts;
mod cluster_page;
mod dashboard;
mod import_page;
mod login;
mod outbox_page;
mod page;
mod report_pages;
mod session;

pub(crate) use session::ConsoleSessions;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::AppState;
use super::headers;

/// `GET /admin/console.css`.
async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        page::STYLESHEET,
    )
        .into_response()
}

/// `GET /admin/`: the dashboard's one address is `/admin`.
async fn to_dashboard() -> Redirect {
    Redirect::permanent("/admin")
}

/// The console's routes; forms are bounded by `max_body_bytes`, the import
/// upload by `admin.max_import_bytes` as it streams to disk.
pub(crate) fn router(max_body_bytes: usize) -> Router<AppState> {
    let pages = Router::new()
        .route("/admin", get(dashboard::dashboard))
        .route("/admin/", get(to_dashboard))
        .route("/admin/login", get(login::show).post(login::sign_in))
        .route("/admin/logout", axum::routing::post(login::sign_out))
        .route("/admin/reports", get(report_pages::page))
        .route("/admin/reports.csv", get(report_pages::csv))
        .route("/admin/catalog/{collection}", get(catalog_page::page))
        .route("/admin/cluster", get(cluster_page::page))
        .route("/admin/outbox", get(outbox_page::page))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(headers::no_store());
    let upload = Router::new()
        .route(
            "/admin/import",
            get(import_page::show).post(import_page::upload),
        )
        .layer(DefaultBodyLimit::disable())
        .layer(headers::no_store());
    Router::new()
        .merge(pages)
        .merge(upload)
        .route("/admin/console.css", get(stylesheet))
}
