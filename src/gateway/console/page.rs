//! The console's page frame (head, skip link, navigation, sign-out form),
//! its HTML answers with their security headers, and its errors rendered as
//! pages. Every page is built with `maud`, which escapes all text it is given.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};

use super::session::{ConsoleRole, ConsoleUser};
use crate::gateway::error::ApiError;

/// The console's stylesheet, served at `/admin/console.css`.
pub(crate) const STYLESHEET: &str = include_str!("console.css");

/// No scripts, no frames, styles and images from the node only, forms posted
/// to the node only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// `/admin`.
    Dashboard,
    /// `/admin/reports`.
    Reports,
    /// `/admin/import`.
    Import,
    /// `/admin/catalog/*`.
    Catalog,
    /// `/admin/cluster`.
    Cluster,
    /// `/admin/outbox`.
    Outbox,
    /// The login page and errors.
    None,
}

/// Navigation entries: path, label, section, whether the analyst sees it.
const NAVIGATION: [(&str, &str, Section, bool); 6] = [
    ("/admin", "Dashboard", Section::Dashboard, true),
    ("/admin/reports", "Reports", Section::Reports, true),
    ("/admin/import", "Import", Section::Import, false),
    (
        "/admin/catalog/retailers",
        "Catalog",
        Section::Catalog,
        false,
    ),
    ("/admin/cluster", "Cluster", Section::Cluster, false),
    ("/admin/outbox", "Outbox", Section::Outbox, false),
];

/// A whole page: `user` is absent on the login page.
pub(crate) fn frame(
    title: &str,
    section: Section,
    user: Option<&ConsoleUser>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Hey Blue! console" }
                link rel="stylesheet" href="/admin/console.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Hey Blue! console" }
                    @if let Some(user) = user {
                        nav aria-label="Console" {
                            ul {
                                @for (path, label, entry, analyst) in NAVIGATION {
                                    @if analyst || user.role == ConsoleRole::Admin {
                                        li {
                                            @if entry == section {
                                                a href=(path) aria-current="page" { (label) }
                                            } @else {
                                                a href=(path) { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        form.signout method="post" action="/admin/logout" {
                            input type="hidden" name="csrf" value=(user.csrf);
                            span.role { "Signed in as " (user.role.as_str()) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page as an HTML answer with the console's headers.
pub(crate) fn respond(status: StatusCode, page: Markup) -> Response {
    with_headers(
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            page.into_string(),
        )
            .into_response(),
    )
}

/// Adds the console's headers to an answer.
pub(crate) fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Why a console request was not answered with its page.
#[derive(Debug)]
pub(crate) enum ConsoleError {
    /// No live session: go to the login page.
    SignIn,
    /// A refusal or failure shown as a page.
    Page {
        /// The status.
        status: StatusCode,
        /// What the user reads.
        message: String,
        /// Seconds for `Retry-After`.
        retry_after_seconds: Option<u64>,
    },
}

impl ConsoleError {
    /// 403 with this explanation.
    pub(crate) fn forbidden(message: &str) -> Self {
        ConsoleError::Page {
            status: StatusCode::FORBIDDEN,
            message: message.to_owned(),
            retry_after_seconds: None,
        }
    }

    /// 400 with this explanation.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ConsoleError::Page {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            retry_after_seconds: None,
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        ConsoleError::Page {
            status: error.status(),
            message: error.message().to_owned(),
            retry_after_seconds: error.retry_after_seconds(),
        }
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn => with_headers(Redirect::to("/admin/login").into_response()),
            ConsoleError::Page {
                status,
                message,
                retry_after_seconds,
            } => {
                let page = frame(
                    status.canonical_reason().unwrap_or("Error"),
                    Section::None,
                    None,
                    html! {
                        p.error role="alert" { (message) }
                        p { a href="/admin" { "Back to the dashboard" } }
                    },
                );
                let mut response = respond(status, page);
                if let Some(seconds) = retry_after_seconds {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
        }
    }
}

/// A number with thousands separators (`12,345`).
pub(crate) fn grouped(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut text = String::new();
    for (position, digit) in digits.chars().enumerate() {
        if position > 0 && (digits.len() - position).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    if value < 0 {
        text.insert(0, '-');
    }
    text
}

/// A published number as shown: the value, or "withheld".
pub(crate) fn published(value: Option<i64>) -> String {
    value.map_or_else(|| "withheld".to_owned(), grouped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(-1_234_567), "-1,234,567");
        assert_eq!(published(None), "withheld");
    }

    #[test]
    fn text_is_escaped_in_pages() {
        let page = frame(
            "<script>alert(1)</script>",
            Section::None,
            None,
            html! { p { "\"&'" } },
        )
        .into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("&quot;&amp;"));
    }
}
