//! Middleware and fallbacks: one span per request (method and matched route only —
//! query strings may hold locations and are never logged), request metrics by
//! route, a time limit, a panic guard, and JSON 404/405 answers. Methods and
//! routes are named from closed sets (a standard method or `other`, a route
//! template or `unmatched`), so no request can add a label value.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Span;

use super::error::ApiError;

/// Route label of requests that matched no route (bounded label values).
const UNMATCHED_ROUTE: &str = "unmatched";
/// Method label of requests with a method outside [`STANDARD_METHODS`].
const OTHER_METHOD: &str = "other";
/// The methods of RFC 9110 (and PATCH), the only ones named in labels and spans.
const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// Answer for unknown routes.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Answer for a known route with the wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept this method",
    )
}

/// The span of one request.
pub(crate) fn request_span(request: &Request) -> Span {
    let route = matched_route(request);
    let method = method_label(request.method());
    tracing::info_span!("http", method, route)
}

/// Logs each response once, at debug, with its status and latency.
pub(crate) fn log_response(response: &Response, latency: Duration, _span: &Span) {
    tracing::debug!(
        status = response.status().as_u16(),
        latency_ms = latency.as_millis() as u64,
        "response"
    );
}

/// Counts requests and their latency by route, method and status.
pub(crate) async fn record_metrics(request: Request, next: Next) -> Response {
    let route = matched_route(&request).to_owned();
    let method = method_label(request.method());
    let started = tokio::time::Instant::now();
    let response = next.run(request).await;
    crate::metrics::http_request_finished(
        &route,
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Answers 503 when a request runs longer than the configured limit.
pub(crate) async fn time_limit(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long, try again",
        )
        .into_response(),
    }
}

/// Turns a handler panic into a 500 (the panic message goes to the log only).
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::internal(&format!("handler panicked: {detail}")).into_response()
}

/// The request's method if it is a standard one, `other` otherwise.
pub(crate) fn method_label(method: &Method) -> &'static str {
    STANDARD_METHODS
        .into_iter()
        .find(|standard| *standard == method.as_str())
        .unwrap_or(OTHER_METHOD)
}

fn matched_route(request: &Request) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_keep_their_name_and_others_are_other() {
        for name in STANDARD_METHODS {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(method_label(&method), name);
        }
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), OTHER_METHOD);
        let lower_case = Method::from_bytes(b"get").unwrap();
        assert_eq!(method_label(&lower_case), OTHER_METHOD);
    }
}
