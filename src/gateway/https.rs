//! What TLS adds to the API: the `Strict-Transport-Security` header on every
//! answer, and the plain HTTP listener that only redirects to HTTPS.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

/// `router` telling browsers to use HTTPS only for `max_age_seconds` (no
/// header when 0).
pub(crate) fn with_hsts(router: Router, max_age_seconds: u64) -> Router {
    if max_age_seconds == 0 {
        return router;
    }
    let value = HeaderValue::from_str(&format!("max-age={max_age_seconds}"))
        .unwrap_or_else(|_| HeaderValue::from_static("max-age=31536000"));
    router.layer(SetResponseHeaderLayer::if_not_present(
        header::STRICT_TRANSPORT_SECURITY,
        value,
    ))
}

/// Where redirected requests go: a fixed authority (the public URL's), or
/// the request's own host on the HTTPS port.
#[derive(Debug, Clone)]
pub(crate) enum RedirectTarget {
    /// `host[:port]` from `public_url`.
    Authority(String),
    /// The request's `Host` (without its port), then this port unless 443.
    HostOnPort(u16),
}

/// Answers every request with 308 to the same path and query over HTTPS; a
/// request without a usable `Host` (when one is needed) gets 400.
pub(crate) fn redirect_router(target: RedirectTarget) -> Router {
    Router::new().fallback(move |request: Request| {
        let target = target.clone();
        async move { redirect(&target, &request) }
    })
}

fn redirect(target: &RedirectTarget, request: &Request) -> Response {
    let authority = match target {
        RedirectTarget::Authority(authority) => authority.clone(),
        RedirectTarget::HostOnPort(port) => {
            let Some(host) = request_host(request) else {
                return (StatusCode::BAD_REQUEST, "a Host header is needed\n").into_response();
            };
            if *port == 443 {
                host
            } else {
                format!("{host}:{port}")
            }
        }
    };
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    match HeaderValue::from_str(&format!("https://{authority}{path}")) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "unusable Host header\n").into_response(),
    }
}

/// The request's `Host` without its port, if it is a plain host name or
/// address (letters, digits, dots, hyphens, or a bracketed IPv6 address).
fn request_host(request: &Request) -> Option<String> {
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let without_port = if host.starts_with('[') {
        host.split_inclusive(']').next()?
    } else {
        host.split(':').next()?
    };
    let plain = !without_port.is_empty()
        && without_port.len() <= 253
        && without_port
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".-[]:".contains(&byte));
    plain.then(|| without_port.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn answer(
        router: Router,
        host: Option<&str>,
        path: &str,
    ) -> (StatusCode, Option<String>) {
        let mut request = Request::builder().uri(path);
        if let Some(host) = host {
            request = request.header(header::HOST, host);
        }
        let response = router
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("answer");
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|value| value.to_str().expect("ascii").to_owned());
        (response.status(), location)
    }

    #[tokio::test]
    async fn plain_requests_are_sent_to_the_same_path_over_https() {
        let on_port = redirect_router(RedirectTarget::HostOnPort(8443));
        assert_eq!(
            answer(
                on_port.clone(),
                Some("api.example.org:8080"),
                "/v1/route?zip=10001"
            )
            .await,
            (
                StatusCode::PERMANENT_REDIRECT,
                Some("https://api.example.org:8443/v1/route?zip=10001".to_owned())
            )
        );
        assert_eq!(
            answer(
                redirect_router(RedirectTarget::HostOnPort(443)),
                Some("[::1]:80"),
                "/"
            )
            .await,
            (
                StatusCode::PERMANENT_REDIRECT,
                Some("https://[::1]/".to_owned())
            )
        );
        assert_eq!(
            answer(on_port.clone(), None, "/").await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            answer(on_port, Some("evil.example/../x"), "/").await.0,
            StatusCode::BAD_REQUEST
        );
        let fixed = redirect_router(RedirectTarget::Authority("presence.example.org".to_owned()));
        assert_eq!(
            answer(fixed, Some("anything"), "/healthz").await,
            (
                StatusCode::PERMANENT_REDIRECT,
                Some("https://presence.example.org/healthz".to_owned())
            )
        );
    }
}
