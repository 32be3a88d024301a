//! Response headers set by layers, whatever the handler answered:
//! `X-Content-Type-Options: nosniff` on every response (browsers never guess a
//! type, so a JSON or text body cannot be run as a script or page), and
//! `Cache-Control: no-store` on the routes that carry tokens or personal data
//! (sign-in, `me/*`, admin), so no shared cache or browser history keeps them.

use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// Adds `X-Content-Type-Options: nosniff` (replacing any other value).
pub(crate) fn nosniff() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    )
}

/// Adds `Cache-Control: no-store` (replacing any other value).
pub(crate) fn no_store() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}
